"""Options every stage command shares: input, format, output, config file, preset, workers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from tagengo.run.runner import StageResult

F = TypeVar("F", bound=Callable[..., Any])


#: --progress of a stage whose long work reports itself as lines where stderr is no terminal
#: (the stages of model calls: their client's progress, tagengo.llm.progress).
PROGRESS_LINES_HELP = (
    "Show progress: a bar on a terminal, else a plain line every 15 s (TAGENGO_PROGRESS_INTERVAL) "
    "and at the end of each phase (default: on)."
)


def stage_io_options(
    *,
    default_input_help: str = "",
    presets: tuple[str, ...] = (),
    workers: bool = True,
    progress_lines: bool = False,
    input_help: str | None = None,
    input_format: bool = True,
) -> Callable[[F], F]:
    """--input/--format/--out/--config/--preset/--workers/--force/--progress for a stage command.

    ``workers=False`` leaves --workers out, for a stage that runs in one process (generate:
    its concurrency is the LLM client's, --concurrency), so no flag is accepted and ignored.
    ``progress_lines=True``: the stage reports progress as lines off a terminal (--help says so).
    ``input_help`` replaces the help of --input (reverse reads a corpus, not a dataset);
    ``input_format=False`` leaves --format out (a stage with its own reader)."""
    from tagengo.io.source import FORMATS  # here: a command without --format need not load the readers

    progress_help = PROGRESS_LINES_HELP if progress_lines else "Show a progress bar (default: on a terminal)."
    if input_help is None:
        input_help = (
            "A tagengo dataset folder, or a .jsonl/.json/.parquet file (.jsonl and .json also compressed: "
            ".gz, .bz2, .xz, .zst) or a folder of such files. " + default_input_help
        )

    def decorate(fn: F) -> F:
        opts = [
            click.option("--input", "input_path", type=click.Path(), default=None, help=input_help),
            click.option("--out", "out", type=click.Path(), required=True, help="Output dataset folder."),
            click.option(
                "--config", "config_file", type=click.Path(), default=None, help="YAML file of options."
            ),
            click.option(
                "--force",
                is_flag=True,
                help="Run again even if the output is up to date; replace another stage's folder at --out.",
            ),
            click.option("--progress/--no-progress", default=None, help=progress_help),
        ]
        if input_format:
            opts.insert(
                1,
                click.option(
                    "--format",
                    "input_format",
                    type=click.Choice(FORMATS),
                    default=None,
                    help="Input format (detected from the rows when not given).",
                ),
            )
        if workers:
            opts.insert(
                4 if input_format else 3,
                click.option(
                    "--workers",
                    type=click.IntRange(min=1),
                    default=None,
                    help="Worker processes, 1 or more (default: one per core).",
                ),
            )
        if presets:
            opts.append(
                click.option(
                    "--preset",
                    type=click.Choice(presets),
                    default=presets[0],
                    show_default=True,
                    help="Named recipe; see docs/presets.md.",
                )
            )
        for opt in reversed(opts):
            fn = opt(fn)
        return fn

    return decorate


def executor_options(fn: F) -> F:
    """--executor/--ray-address: where the streaming steps run (see tagengo.run.ray_executor)."""
    fn = click.option(
        "--ray-address",
        default=None,
        help="With --executor ray: the cluster to join ('auto', 'ray://HOST:10001'; "
        "default: start or join one on this machine).",
    )(fn)
    return click.option(
        "--executor",
        type=click.Choice(["local", "ray"]),
        default="local",
        show_default=True,
        help="Run the streaming steps in local processes, or in Ray Data actors (as many as worker "
        "processes; extra 'ray'). Outputs are identical.",
    )(fn)


def run_stage(
    run: Callable[..., StageResult], input_path: Any, out: str, cfg: Any, **options: Any
) -> StageResult:
    """``run(input_path, out, cfg, **options)`` (a stage's library function), then its end-of-run
    summary on stderr (:func:`tagengo.run.summary.print_stage_summary`: the funnel, the counts,
    what a run that kept nothing was rejected for, where the files are). A run that could read
    none of its input lines then fails (:func:`tagengo.run.summary.stop_when_nothing_was_readable`)."""
    from tagengo.run.summary import print_stage_summary, stop_when_nothing_was_readable

    result = run(input_path, out, cfg, **options)
    print_stage_summary(result)
    stop_when_nothing_was_readable(result)
    return result


def step_summary(result: StageResult, step: str) -> dict[str, Any]:
    """The ``summary`` that step ``step`` recorded in the run's manifest; {} when the step did not
    run or recorded none."""
    found = next((s for s in result.manifest.get("steps", []) if s.get("name") == step), None)
    return (found or {}).get("summary") or {}
