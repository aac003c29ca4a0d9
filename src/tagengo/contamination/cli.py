"""`tagengo contamination`: parse options, build the config, call tagengo.contamination.stage."""

from __future__ import annotations

from typing import Any

import click

from tagengo.contamination.config import PRESETS, ContaminationConfig
from tagengo.errors import InputError
from tagengo.run.cli_common import run_stage, stage_io_options, step_summary
from tagengo.run.options import build_config, config_options


@click.command(context_settings={"max_content_width": 110})
@stage_io_options(presets=tuple(PRESETS))
@click.option(
    "--bench",
    "bench_paths",
    multiple=True,
    type=click.Path(),
    help="A benchmark folder in FastChat layout (question.jsonl with turns), or a folder holding such "
    "folders (e.g. the data folder `tagengo bench init` writes). Repeat for several.",
)
@config_options(ContaminationConfig, skip=("benches", "bench_fingerprint"))
def command(
    input_path: str | None,
    input_format: str | None,
    out: str,
    config_file: str | None,
    workers: int | None,
    force: bool,
    progress: bool | None,
    preset: str,
    bench_paths: tuple[str, ...],
    **kwargs: Any,
) -> None:
    """Find training rows that overlap benchmark questions (exact, normalised, character n-grams,
    cross-lingual embeddings) and report them per benchmark and language.

    Writes OUT as a dataset folder (every row, matched rows marked in meta; with --drop the
    matches go to OUT/rejected with the check, benchmark, question and similarity) and
    OUT/report/contamination.json, contamination.md and contamination_similarity.png.
    See docs/contamination.md.
    """
    if not input_path:
        raise InputError("tagengo contamination needs --input (a dataset folder or a .jsonl/.parquet file).")
    if bench_paths:
        kwargs["cfg__benches"] = list(bench_paths)
    cfg = build_config(ContaminationConfig, kwargs, preset=PRESETS[preset], config_file=config_file)
    from tagengo.contamination.stage import contamination

    result = run_stage(
        contamination,
        input_path,
        out,
        cfg,
        input_format=input_format,
        preset=preset,
        workers=workers,
        force=force,
        progress=progress,
    )
    for name, b in step_summary(result, "contamination").get("benches", {}).items():
        counts = " · ".join(f"{k} {v}" for k, v in b["matched_rows"].items())
        click.echo(f"  {name} ({b['language'] or '?'}): {counts}")
    click.echo(f"→ {result.out}/report/contamination.md")
