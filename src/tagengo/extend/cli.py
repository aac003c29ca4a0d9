"""`tagengo extend`: parse options, build the config, call tagengo.extend.stage.extend."""

from __future__ import annotations

from typing import Any

import click

from tagengo.extend.config import ExtendConfig
from tagengo.run.cli_common import (
    actor_workers,
    executor_options,
    ray_workers_option,
    run_stage,
    stage_io_options,
    step_summary,
)
from tagengo.run.options import build_config, config_options


@click.command(context_settings={"max_content_width": 110})
@stage_io_options(workers=False, progress_lines=True)
@executor_options
@ray_workers_option
@config_options(ExtendConfig)
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
    **kwargs: Any,
) -> None:
    """Grow single-turn conversations into multi-turn ones, in their own language.

    For each conversation with fewer than --turns user turns, the writer (the teacher unless
    --writer-model/--writer-base-url ... say otherwise) plays the user and writes a follow-up of a
    kind drawn per conversation and turn (clarify, go deeper, change constraints, ask for an
    example, disagree); the teacher answers it; repeat until --turns. A conversation ending with
    a user turn has it answered first. Every new turn is checked with language ID against the
    conversation's language (an unlabelled conversation gets lid.176's label, or is rejected when
    lid.176 is not sure); a conversation whose follow-up or answer drifts into another language,
    whose follow-up echoes an earlier user turn or leaks the writer's prompt, whose answer repeats
    the one before, or whose new turn comes back empty or cut (finish_reason length) goes to
    OUT/rejected with the reason and turn. Backends as for `tagengo generate`; every call goes
    through the request cache, so a re-run or a resumed run never pays twice. Locally one process
    makes --concurrency calls; with --executor ray, --workers actors each make --concurrency calls.
    See docs/extend.md.
    """
    from rich.console import Console

    from tagengo.errors import InputError
    from tagengo.extend.stage import extend
    from tagengo.llm.accounting import summary_table

    if input_path is None:
        raise InputError(
            "give the conversations to extend with --input (a dataset folder or a JSONL/Parquet file)."
        )
    run_kw = actor_workers(executor, ray_address, workers)
    cfg = build_config(ExtendConfig, kwargs, config_file=config_file)
    result = run_stage(
        extend, input_path, out, cfg, input_format=input_format, force=force, progress=progress, **run_kw
    )
    models = step_summary(result, "extend").get("models")
    if models and not result.up_to_date:
        console = Console(stderr=True)
        if not console.is_terminal:
            console = Console(stderr=True, width=160)
        console.print(summary_table(models, title="teacher and writer calls (all chunks of this output)"))
