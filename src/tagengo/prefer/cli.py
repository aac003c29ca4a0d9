"""`tagengo prefer`: parse options, build the config, call tagengo.prefer.stage.prefer."""

from __future__ import annotations

from typing import Any

import click

from tagengo.prefer.config import PreferConfig
from tagengo.run.cli_common import actor_workers, executor_options, ray_workers_option, stage_io_options
from tagengo.run.options import build_config, config_options


@click.command(context_settings={"max_content_width": 110})
@stage_io_options(workers=False, progress_lines=True)
@executor_options
@ray_workers_option
@click.option(
    "--model",
    "model_specs",
    multiple=True,
    metavar="SPEC",
    help="An answering model (repeat for each; two or more): comma-separated key=value pairs, e.g. "
    "'name=qwen,base_url=http://127.0.0.1:8000/v1,model=qwen2.5-7b' or 'name=small,backend=llamacpp,"
    "model_path=m.gguf,temperature=0.7'; keys: name, temperature, max_tokens, system_prompt and any "
    "--judge-* client field without the prefix. 'llamacpp' alone: the bundled SmolLM2. "
    "Added to the models of a --config YAML.",
)
@config_options(PreferConfig, skip=("models",))
def command(
    input_path: str | None,
    input_format: str | None,
    out: str,
    config_file: str | None,
    force: bool,
    progress: bool | None,
    executor: str,
    ray_address: str | None,
    workers: int | None,
    model_specs: tuple[str, ...],
    **kwargs: Any,
) -> None:
    """Preference pairs (prompt, chosen, rejected) for DPO/ORPO from several models' answers.

    Samples --per-language prompts per language (seeded), has every --model answer them, puts
    answers confidently in another language than the prompt last (lid.176), shows the others to
    the judge under letters shuffled per prompt (seeded) and asks for brief reasons and a
    ranking line such as 'Ranking: C>A=B>D' (re-asked up to --reask times when unreadable, then
    the prompt is rejected with the reason). Writes OUT/data (one row per prompt, ranking in
    meta.preference), OUT/rejected with reasons, and OUT/pairs/conversational.jsonl and
    standard.jsonl in TRL's preference formats (`tagengo train --method dpo|orpo` reads them).
    Locally one process makes the calls (--concurrency per model); with --executor ray, --workers
    actors each make --concurrency calls per model.
    """
    from tagengo.errors import ConfigError, InputError
    from tagengo.prefer.config import models_from_specs
    from tagengo.prefer.stage import prefer
    from tagengo.report.summary import print_stage_summary

    if input_path is None:
        raise InputError("give the prompts with --input (a dataset folder or a JSONL/Parquet file).")
    run_kw = actor_workers(executor, ray_address, workers)
    cfg = build_config(PreferConfig, kwargs, config_file=config_file)
    if model_specs:
        try:
            models = models_from_specs(model_specs, cfg.models)
        except ValueError as exc:
            raise ConfigError(f"{exc}.") from exc
        cfg = PreferConfig.model_validate({**dict(cfg), "models": models})
    from tagengo.report.wording import plural

    result = prefer(input_path, out, cfg, input_format=input_format, force=force, progress=progress, **run_kw)
    print_stage_summary(result)
    counts = result.manifest.get("pairs")
    if counts:
        click.echo(
            f"{plural(counts['pairs'], 'pair')} from {plural(counts['prompts'], 'prompt')} -> "
            f"{result.out / 'pairs' / 'conversational.jsonl'} (standard format: {counts['standard']:,})",
            err=True,
        )
