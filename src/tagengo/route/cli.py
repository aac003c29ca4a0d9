"""`tagengo route`: parse options, build the config, call tagengo.route.stage.route."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tagengo.io.source import FORMATS
from tagengo.route.config import RouteConfig
from tagengo.run.cli_common import PROGRESS_LINES_HELP
from tagengo.run.options import build_config, config_options


@click.command(context_settings={"max_content_width": 110})
@click.option(
    "--input",
    "input_path",
    type=click.Path(),
    required=True,
    help="The prompts: a dataset folder or a JSONL/Parquet file.",
)
@click.option(
    "--format",
    "input_format",
    type=click.Choice(FORMATS),
    default=None,
    help="Input format (detected from the rows when not given).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(),
    help="Folder for routing.json, routing.md, pilot.jsonl and manifest.json.",
)
@click.option("--config", "config_file", type=click.Path(), default=None, help="YAML file of options.")
@click.option(
    "--force",
    is_flag=True,
    help="Run again even if the output is up to date; replace another stage's folder at --out.",
)
@click.option("--progress/--no-progress", default=None, help=PROGRESS_LINES_HELP)
@click.option(
    "--model",
    "model_specs",
    multiple=True,
    metavar="SPEC",
    help="A candidate teacher (repeat for each; two or more), as for prefer: comma-separated key=value "
    "pairs, e.g. 'name=a,model=gpt-4o,input_price_per_1m=2.5,output_price_per_1m=10' or "
    "'name=b,base_url=http://127.0.0.1:8000/v1,model=qwen2.5-72b'; keys: name, temperature, max_tokens, "
    "system_prompt and any --judge-* client field without the prefix. Added to the models of a --config YAML.",
)
@config_options(RouteConfig, skip=("models",))
def command(input_path: str, input_format: str | None, out: str, config_file: str | None, force: bool,
            progress: bool | None, model_specs: tuple[str, ...], **params: Any) -> None:  # fmt: skip
    """Pick the best teacher per language: every --model answers a seeded pilot of --per-language
    prompts per language, the judge compares every pair of answers (prefer's ranking with two answers,
    shown in a seeded order), and OUT/routing.json gets language -> teacher with win rates, bootstrap
    intervals and cost per answer (OUT/routing.md shows it). `tagengo generate --routing OUT` then
    sends each language to its teacher. Every call goes through the request cache.
    """
    from tagengo.errors import ConfigError
    from tagengo.route.stage import REPORT_FILE, route_run
    from tagengo.run.panel import models_from_specs

    cfg = build_config(RouteConfig, params, config_file=config_file)
    if model_specs:
        try:
            models = models_from_specs(model_specs, cfg.models)
        except ValueError as exc:
            raise ConfigError(f"{exc}.") from exc
        cfg = RouteConfig.model_validate({**dict(cfg), "models": models})
    result = route_run(input_path, out, cfg, input_format=input_format, progress=progress, force=force)
    if result.up_to_date:  # said so already; the table is the one printed by that run
        return
    click.echo((Path(out) / REPORT_FILE).read_text(), err=True)
    n = len(result.table["languages"])
    click.echo(f"routing table for {n} language{'s' if n != 1 else ''} -> {out}/routing.json", err=True)
