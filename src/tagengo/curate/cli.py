"""`tagengo curate`: parse options, build the config, call tagengo.curate.stage.curate."""

from __future__ import annotations

from typing import Any

import click

from tagengo.curate.config import PRESETS, CurateConfig
from tagengo.run.cli_common import executor_options, run_stage, stage_io_options
from tagengo.run.options import build_config, config_options


@click.command(context_settings={"max_content_width": 110})
@stage_io_options(
    default_input_help="Default: the bundled LMSYS-schema sample.",
    presets=tuple(PRESETS),
    progress_lines=True,
)
@executor_options
@config_options(CurateConfig)
def command(
    input_path: str | None,
    input_format: str | None,
    out: str,
    config_file: str | None,
    workers: int | None,
    force: bool,
    progress: bool | None,
    preset: str,
    executor: str,
    ray_address: str | None,
    **kwargs: Any,
) -> None:
    """Select real user prompts by language from chat logs (the Tagengo recipe).

    Steps, in order: moderation, unknown_language, anonymised, model_mentions, language_id,
    length, per_language_cap (and near-duplicates, step 8, with --dedup). Writes OUT/data,
    OUT/rejected (with step and reason), OUT/quarantine, manifest.json, funnel.md,
    languages.md and languages.png.
    """
    from tagengo.curate.stage import curate

    cfg = build_config(CurateConfig, kwargs, preset=PRESETS[preset], config_file=config_file)
    run_stage(
        curate,
        input_path,
        out,
        cfg,
        input_format=input_format,
        preset=preset,
        workers=workers,
        force=force,
        progress=progress,
        executor=executor,
        ray_address=ray_address,
    )
