"""`tagengo generate`: parse options, build the config, call tagengo.generate.stage.generate."""

from __future__ import annotations

from typing import Any

import click

from tagengo.generate.config import GenerateConfig
from tagengo.run.cli_common import executor_options, run_stage, stage_io_options, step_summary
from tagengo.run.options import build_config, config_options


@click.command(context_settings={"max_content_width": 110})
@stage_io_options(workers=False, progress_lines=True)
@executor_options
@click.option(
    "--actors",
    type=int,
    default=None,
    help="With --executor ray: Ray actors, each with its own client and --concurrency (default 1).",
)
@config_options(GenerateConfig)
def command(
    input_path: str | None,
    input_format: str | None,
    out: str,
    config_file: str | None,
    force: bool,
    progress: bool | None,
    executor: str,
    ray_address: str | None,
    actors: int | None,
    **kwargs: Any,
) -> None:
    """Generate the next assistant turn of every record with a teacher model.

    Backends: any OpenAI-compatible API (--base-url, --model, key from $OPENAI_API_KEY or
    --api-key-env), Azure OpenAI (--backend azure), or in-process llama.cpp (--backend
    llamacpp; the bundled SmolLM2-135M-Instruct unless --model-path). Every call goes
    through the request cache: a re-run, or a run after a crash, never pays twice.
    Answers that are empty, unfinished (finish_reason not 'stop') or failed for good go to
    OUT/rejected with the reason. Locally one process makes --concurrency calls; with
    --executor ray, --actors actors each make --concurrency calls.
    """
    from tagengo.errors import ConfigError, InputError
    from tagengo.generate.stage import generate
    from tagengo.llm.accounting import summary_table

    if input_path is None:
        raise InputError(
            "give the prompts to answer with --input (a dataset folder or a JSONL/Parquet file)."
        )
    if actors is not None and executor != "ray":
        raise ConfigError(
            "--actors needs --executor ray: locally one process makes the calls; raise --concurrency instead"
        )
    cfg = build_config(GenerateConfig, kwargs, config_file=config_file)
    ray_kw = (
        {"executor": executor, "ray_address": ray_address, "workers": actors or 1}
        if executor == "ray"
        else {}
    )
    result = run_stage(
        generate, input_path, out, cfg, input_format=input_format, force=force, progress=progress, **ray_kw
    )
    models = step_summary(result, "generate").get("models")
    if models and not result.up_to_date:
        from rich.console import Console

        console = Console(stderr=True)
        if not console.is_terminal:
            console = Console(stderr=True, width=160)
        console.print(summary_table(models, title="teacher calls (all chunks of this output)"))
        paid = sum(m.get("calls", 0) for m in models.values())
        if paid and cfg.backend != "llamacpp" and cfg.price_for(None) is None and not cfg.prices:
            console.print(
                "cost not counted: no price given (--input-price-per-1m / --output-price-per-1m, "
                "or prices: in a --config YAML)"
            )
