"""`tagengo dedup` as a library call: one NearDuplicateFilter over a dataset, written as a dataset folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tagengo.dedup.config import PRESETS, DedupConfig
from tagengo.dedup.step import NearDuplicateFilter
from tagengo.io.source import open_source
from tagengo.run.options import config_from_preset, describe_preset
from tagengo.run.runner import StageResult, run_stage

REPORT_DIR = "report"


def preset_config(name: str = "default", **overrides: Any) -> DedupConfig:
    """The config of preset ``name`` with ``overrides`` merged in; ``ConfigError`` for an unknown name."""
    return config_from_preset(DedupConfig, PRESETS, name, **overrides)


def dedup(
    input_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: DedupConfig | None = None,
    *,
    input_format: str | None = None,
    preset: str | None = None,
    workers: int | None = None,
    force: bool = False,
    progress: bool | None = None,
    **run_kw: Any,
) -> StageResult:
    """Remove near-duplicate prompts within each language of ``input_path``; write ``out``.

    With ``config.report`` the nearest-neighbour histograms go to ``out/report/``.
    """
    cfg = config or preset_config(preset or "default")
    source = open_source(input_path, input_format)
    step = NearDuplicateFilter(cfg, progress=progress, report_dir=Path(out) / REPORT_DIR)
    return run_stage(
        stage="dedup",
        config=cfg,
        source=source,
        steps=[step],
        out=out,
        workers=workers,
        force=force,
        progress=progress,
        extra_manifest=describe_preset(cfg, PRESETS, preset),
        **run_kw,
    )
