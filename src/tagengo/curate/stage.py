"""`tagengo curate` as a library call: build the steps from a CurateConfig and run them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tagengo.curate.config import PRESETS, CurateConfig
from tagengo.curate.filters import (
    AnonymisedFilter,
    FirstPrompt,
    LanguageIDFilter,
    LengthFilter,
    ModelMentionFilter,
    ModerationFilter,
    UnknownLanguageFilter,
)
from tagengo.io.source import open_source
from tagengo.run.options import config_from_preset, describe_preset
from tagengo.run.runner import StageResult, run_stage
from tagengo.run.sampling import PerLanguageCap
from tagengo.run.steps import Step
from tagengo.run.warm import wait_for_warm_up, warm_imports_in_background

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def bundled_sample() -> Path:
    """The LMSYS-schema sample shipped with tagengo (written by the project, not copied)."""
    return DATA_DIR / "sample" / "lmsys_sample.jsonl"


def preset_config(name: str = "default", **overrides: Any) -> CurateConfig:
    """The config of preset ``name`` with ``overrides`` merged in; ``ConfigError`` for an unknown name."""
    return config_from_preset(CurateConfig, PRESETS, name, **overrides)


def build_steps(cfg: CurateConfig, out: str | os.PathLike[str] | None = None) -> list[Step]:
    """The curation chain, in the paper's order. A disabled step is left out entirely.
    ``out`` is where the dedup step writes its report, when asked for one."""
    steps: list[Step] = []
    if cfg.keep == "first_prompt":
        steps.append(FirstPrompt())
    if cfg.moderation.enabled:
        steps.append(ModerationFilter(cfg.moderation))
        if cfg.moderation.endpoint:
            from tagengo.curate.moderation_api import ModerationEndpointFilter

            steps.append(ModerationEndpointFilter(cfg.moderation))
    if cfg.unknown_language.enabled:
        steps.append(UnknownLanguageFilter(cfg.unknown_language))
    if cfg.anonymised.enabled:
        steps.append(AnonymisedFilter(cfg.anonymised))
    if cfg.model_mentions.enabled:
        steps.append(ModelMentionFilter(cfg.model_mentions))
    if cfg.langid.enabled:
        steps.append(LanguageIDFilter(cfg.langid))
    if cfg.length.enabled:
        steps.append(LengthFilter(cfg.length))
    if cfg.cap.enabled:
        steps.append(PerLanguageCap(cfg.cap))
    if cfg.dedup.enabled:
        from tagengo.dedup.config import DedupConfig
        from tagengo.dedup.stage import REPORT_DIR
        from tagengo.dedup.step import NearDuplicateFilter

        dedup_cfg = DedupConfig.model_validate(cfg.dedup.model_dump(exclude={"enabled"}))
        report_dir = Path(out) / REPORT_DIR if out is not None else None
        steps.append(NearDuplicateFilter(dedup_cfg, progress=False, report_dir=report_dir))
    return steps


def curate(
    input_path: str | os.PathLike[str] | None,
    out: str | os.PathLike[str],
    config: CurateConfig | None = None,
    *,
    input_format: str | None = None,
    preset: str | None = None,
    workers: int | None = None,
    force: bool = False,
    progress: bool | None = None,
    **run_kw: Any,
) -> StageResult:
    """Curate prompts from chat logs into a dataset folder. ``input_path=None`` uses the bundled sample.

    ``preset`` names the recipe ``config`` was built from (without ``config``: the recipe to
    run, default ``default``). The manifest records it with every setting that differs; when
    neither names one, it records the preset ``config`` equals (or is closest to)."""
    cfg = config or preset_config(preset or "default")
    source = open_source(input_path or bundled_sample(), input_format)
    source.on_first_chunk = warm_reports
    steps = build_steps(cfg, out)
    try:
        return run_stage(
            stage="curate",
            config=cfg,
            source=source,
            steps=steps,
            out=out,
            workers=workers,
            force=force,
            progress=progress,
            extra_manifest=describe_preset(cfg, PRESETS, preset),
            **run_kw,
        )
    finally:
        # No warm-up thread outlives the call: a caller that forks next (a test, a pipeline
        # running the next stage in workers) must not fork while it imports.
        wait_for_warm_up()
        for step in steps:  # a step holding connections (the moderation endpoint's client)
            close = getattr(step, "close", None)
            if callable(close):
                close()


def warm_reports() -> None:
    """Import, in a background thread, what the end of the run needs (pandas, matplotlib) and
    draw a throwaway language chart, while the workers filter (tagengo.run.warm): the stage
    reports came after the parallel part, 1-2 s of one core that a user waited for. Started
    when the first chunk is handed out (``Source.on_first_chunk``), i.e. after the pool has
    forked its workers: a fork while a thread imports can leave the child stuck on an import
    lock."""
    warm_imports_in_background()
