"""`tagengo reverse`: parse options, build the config, call tagengo.reverse.stage.reverse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tagengo.reverse.config import ReverseConfig
from tagengo.run.cli_common import PROGRESS_LINES_HELP, actor_workers, executor_options, ray_workers_option
from tagengo.run.options import build_config, config_options


@click.command(context_settings={"max_content_width": 110})
@click.option(
    "--input",
    "input_path",
    type=click.Path(),
    default=None,
    help="Monolingual corpus: a .txt/.md file (fragments split on blank lines), .jsonl or .parquet with a "
    "'text' field, or a folder of them. Default: the bundled corpus of --language (de, es, fr, it, ja).",
)
@click.option("--out", "out", type=click.Path(), required=True, help="Output dataset folder.")
@click.option("--config", "config_file", type=click.Path(), default=None, help="YAML file of options.")
@click.option(
    "--force",
    is_flag=True,
    help="Run again even if the output is up to date; replace another stage's folder at --out.",
)
@click.option("--progress/--no-progress", default=None, help=PROGRESS_LINES_HELP)
@executor_options
@ray_workers_option
@config_options(ReverseConfig)
def command(
    input_path: str | None,
    out: str,
    config_file: str | None,
    force: bool,
    progress: bool | None,
    executor: str,
    ray_address: str | None,
    workers: int | None,
    **kwargs: Any,
) -> None:
    """Make instruction/response pairs from natural text written in --language.

    Each fragment of the corpus becomes the assistant's reply; the model writes the user
    instruction it answers (task type drawn, seeded, from a pool of ten), a judge scores the
    pair 1-5 and pairs below --min-score (λ) are dropped. roundtrip mode (default) goes through
    English and translates the instruction back; direct mode writes it in --language. Rejected
    fragments and pairs go to OUT/rejected with the reason; OUT/lambda.md and lambda.png show
    the pairs kept for λ = 1..5. Backends as for `tagengo generate`; every call is cached.
    Locally one process makes --concurrency calls; with --executor ray, --workers actors each
    make --concurrency calls. See docs/reverse.md.
    """
    from rich.console import Console

    from tagengo.report.summary import print_stage_summary
    from tagengo.reverse.stage import reverse

    run_kw = actor_workers(executor, ray_address, workers)
    cfg = build_config(ReverseConfig, kwargs, config_file=config_file)
    result = reverse(input_path, out, cfg, force=force, progress=progress, **run_kw)
    print_stage_summary(result)
    lam = Path(out) / "lambda.md"
    if lam.exists():
        Console(stderr=True).print(lam.read_text())
