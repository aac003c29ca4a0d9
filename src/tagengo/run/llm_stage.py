"""One shape for the stages of model calls: generate, reverse, translate, extend, prefer, and
bench answer and judge. What each of them used to write by hand is written once here:

* :class:`LLMStage` (a run): the clients' life (built from the stage's config and closed when
  the run ends, or handed in by the caller and left open), local vs Ray (one process locally,
  ``workers`` Ray actors with ``executor="ray"``), the clients' progress, and the runner call.
* :func:`print_llm_summary`: what such a stage prints at its end: the funnel, the calls and
  their spend.
* :func:`llm_stage_command`: the click command of such a stage with the options they share;
  the stage's function gets them checked, as one :class:`StageArgs`, and its own options by name.

A stage keeps what is its own: the steps (the requests per row, and how accepted answers
become the row), its options, what it adds to the manifest and what it prints besides.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console

from tagengo.errors import ConfigError, InputError, TagengoError
from tagengo.llm import ChatClient, LLMConfig, build_client, summary_table
from tagengo.llm.answer import CALL_FAILED
from tagengo.run.cli_common import (
    PROGRESS_LINES_HELP,
    executor_options,
    stage_io_options,
    step_summary,
)
from tagengo.run.options import accept_old_flags, build_config, config_options

if TYPE_CHECKING:
    from pydantic import BaseModel

    from tagengo.run.runner import StageResult

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


# -- a run ------------------------------------------------------------------------------------


class LLMStage(contextlib.ExitStack):
    """One run of a stage of model calls; a context manager that closes what it built.

    ``progress``: the clients' progress (None: on, a bar on a terminal and plain lines
    elsewhere, tagengo.llm.progress). ``run_kw``: the executor options a stage's library call
    takes (``executor="ray"``, ``ray_address``, ``workers``). Locally one process makes the
    calls: its clients' asyncio concurrency is what makes it fast, and one process is what makes
    ``--concurrency``, the rate limits and ``--budget`` mean what they say (``workers`` is then
    ignored). With ``executor="ray"`` the calls run in ``workers`` Ray Data actors (default 1),
    each building its own clients in its step's ``setup()`` (clients do not pickle); the
    driver's clients then only name their models for the manifest. ``console``: where every
    client built here draws (one console for several clients: rich shows a second live display
    inside the first, where two consoles would draw over each other)."""

    def __init__(
        self,
        progress: bool | None = None,
        run_kw: Mapping[str, Any] | None = None,
        *,
        console: Console | None = None,
    ) -> None:
        super().__init__()
        self.progress = True if progress is None else progress
        kw = dict(run_kw or {})
        workers = kw.pop("workers", None)
        self.on_ray = kw.get("executor") == "ray"
        self.workers = (workers or 1) if self.on_ray else 1
        self.run_kw = kw
        self.console = console

    def client(
        self, given: ChatClient | None, config: LLMConfig, *, progress: bool | None = None
    ) -> ChatClient:
        """``given`` as it is (the caller's: left open), else a client built from ``config``
        now, so that a bad config fails before any output is touched, and closed when the run
        ends. ``progress`` overrides the run's for this client."""
        if given is not None:
            return given
        shown = self.progress if progress is None else progress
        return self.own(build_client(config, progress=shown, console=self.console))

    def own(self, thing: T) -> T:
        """Close ``thing`` (a client not built by :meth:`client`, a step holding clients) when
        the run ends, the last one owned first."""
        self.callback(thing.close)  # type: ignore[attr-defined]
        return thing

    def run(self, **kw: Any) -> StageResult:
        """:func:`tagengo.run.runner.run_stage` on this run's workers and executor, with the
        runner's own bar off: the clients' bars (calls, tokens/s, spend) say more."""
        from tagengo.run.runner import run_stage

        return run_stage(workers=self.workers, progress=False, **kw, **self.run_kw)


# -- the end of a run -------------------------------------------------------------------------


def _wide_console() -> Console:
    """stderr; wide enough for a calls table where it is no terminal (logs, CI)."""
    console = Console(stderr=True)
    return console if console.is_terminal else Console(stderr=True, width=160)


def print_llm_summary(
    result: StageResult | None = None,
    *,
    calls_of: str | None = None,
    title: str = "LLM calls",
    clients: Iterable[Any] = (),
    priced_by: LLMConfig | None = None,
    console: Console | None = None,
) -> None:
    """What a stage of model calls prints at its end, on stderr.

    ``result``: the run's funnel, counts and files (tagengo.run.summary.print_stage_summary)
    and, with ``calls_of``, the calls and spend that step recorded in the manifest (every chunk
    and worker of this output) under ``title``; nothing for an output that was up to date.
    ``clients``: each client's own calls and spend (bench, whose answers and verdicts are no
    dataset folder); a client without accounting (transformers in-process) shows none.
    ``priced_by``: the config the cost comes from; when calls were paid for and it names no
    price, a line says the cost was not counted and how to give one."""
    if result is not None:
        from tagengo.run.summary import print_stage_summary

        print_stage_summary(result)
        if result.up_to_date:
            return
    models = step_summary(result, calls_of).get("models") if result is not None and calls_of else None
    if models:
        console = console or _wide_console()
        console.print(summary_table(models, title=title))
        paid = sum(m.get("calls", 0) for m in models.values())
        if paid and priced_by is not None and _unpriced(priced_by):
            console.print(
                "cost not counted: no price given (--input-price-per-1m / --output-price-per-1m, "
                "or prices: in a --config YAML)"
            )
    for client in clients:
        if hasattr(client, "print_summary"):
            client.print_summary(console)


def _unpriced(config: LLMConfig) -> bool:
    return config.backend != "llamacpp" and config.price_for(None) is None and not config.prices


# -- the command line -------------------------------------------------------------------------


#: --workers of a stage of model calls (generate's old --actors is accepted as its old name).
_WORKERS_HELP = (
    "With --executor ray: Ray actors, each with its own client making --concurrency calls "
    "(default 1). Locally one process makes the calls."
)


def progress_option(fn: F) -> F:
    """--progress/--no-progress of a command of model calls (its clients' progress)."""
    return click.option("--progress/--no-progress", default=None, help=PROGRESS_LINES_HELP)(fn)


def actor_workers(executor: str, ray_address: str | None, workers: int | None) -> dict[str, Any]:
    """The executor options (``LLMStage``'s ``run_kw``) of --executor/--ray-address/--workers;
    ``ConfigError`` for --workers or --ray-address without --executor ray: they would be
    accepted and ignored."""
    if executor != "ray":
        if workers is not None:
            raise ConfigError(
                "--workers needs --executor ray: locally one process makes the calls; raise --concurrency instead"
            )
        if ray_address is not None:
            raise ConfigError("--ray-address needs --executor ray")
        return {}
    return {"executor": "ray", "ray_address": ray_address, "workers": workers or 1}


@dataclass
class StageArgs:
    """The shared options of a stage of model calls, checked: the stage's config (from
    ``--config`` and the flags) and its library call's arguments."""

    input_path: str | None
    out: str
    config: Any
    force: bool
    progress: bool | None
    #: The executor options for the library call: {} locally.
    run_kw: dict[str, Any]
    #: Library-call arguments of the options only some stages have (``input_format``).
    extra: dict[str, Any] = field(default_factory=dict)

    def run(
        self,
        stage: Callable[..., StageResult],
        *,
        calls_of: str | None = None,
        title: str = "LLM calls",
        priced_by: LLMConfig | None = None,
    ) -> StageResult:
        """``stage(input_path, out, config, ...)`` (the stage's library function), then
        :func:`print_llm_summary` of the result (``calls_of``, ``title``, ``priced_by``)."""
        result = stage(
            self.input_path,
            self.out,
            self.config,
            force=self.force,
            progress=self.progress,
            **self.extra,
            **self.run_kw,
        )
        from tagengo.run.summary import stop_when_nothing_was_readable

        print_llm_summary(result, calls_of=calls_of, title=title, priced_by=priced_by)
        stop_when_nothing_was_readable(result)
        if not result.up_to_date:
            stop_when_no_call_succeeded(result)
        return result


class NoCallSucceeded(TagengoError):
    """A run of model calls kept nothing because every call failed (a refusal, a wrong model
    name...): the folder is complete, but exit status 0 would tell a script it worked."""

    @classmethod
    def of(cls, target: str, failed: str, error: str, then: str, where: str = "") -> NoCallSucceeded:
        """The one wording every stage uses: which calls, how many failed and how, the fix for
        the refusal ``error`` names (tagengo.llm.client.refusal_hint), and ``then``: what was
        written and how a re-run goes; ``where``: what the calls were for (a bench), first."""
        from tagengo.llm.client import refusal_hint

        head = f"{where}: " if where else ""
        return cls(f"{head}no call to {target} succeeded ({failed}). {refusal_hint(error)} {then}")


def stop_when_no_call_succeeded(result: StageResult) -> None:
    """Raise :class:`NoCallSucceeded` when the run's model calls (every step's ``models``
    summary in the manifest) got no answer at all, fresh or cached, and some failed; when only
    some failed, print how a re-run retries them (a plain one finds the output up to date). Answers the
    contract rejected do not count as failures here: they say something about the data. A run of
    any size: the abort after ``--abort-after-failures`` calls in a row never fires under 50."""
    models = [
        model
        for step in result.manifest.get("steps") or []
        for model in ((step.get("summary") or {}).get("models") or {}).values()
    ]
    failed = sum(m.get("failed") or 0 for m in models)
    if not failed:
        return
    if any(m.get("calls") or m.get("cached") for m in models):
        # A plain re-run finds this output up to date: say how the failed rows get another try.
        _wide_console().print(
            f"{failed:,} {'call' if failed == 1 else 'calls'} failed (rows in rejected/ with "
            f"'{CALL_FAILED}'); re-run with --force to try them again: answered calls come from the "
            "cache.",
            markup=False,
        )
        return
    from collections import Counter

    from tagengo.run.dataset import read_table

    reasons = Counter(
        r
        for r in read_table(result.out, "rejected", ["reason"]).column("reason").to_pylist()
        if CALL_FAILED in (r or "")
    )
    error = reasons.most_common(1)[0][0].split(CALL_FAILED, 1)[1].strip(" :") if reasons else "see rejected/"
    raise NoCallSucceeded.of(
        "the model",
        f"{failed:,} failed: {error}",
        error,
        "The folder holds every row with its reason; re-run with --force once fixed: answers already "
        "cached are reused and only the failed calls are made again.",
    )


def llm_stage_command(
    config_model: type[BaseModel],
    *,
    needs_input: str | None = None,
    input_help: str | None = None,
    input_format: bool = True,
    skip: tuple[str, ...] = (),
    old_flags: Mapping[str, str] | None = None,
) -> Callable[[Callable[..., None]], click.Command]:
    """The click command of a stage of model calls, around ``fn(args: StageArgs, **own)``.

    Its options, in this order: --input (``input_help`` replaces its text), --format (unless
    ``input_format=False``), --out, --config, --force, --progress, --executor, --ray-address,
    --workers, then the stage's own options (click options stacked under this decorator;
    ``fn`` gets them by name), then one per field of ``config_model`` (less ``skip``). Before
    ``fn`` runs: a missing --input raises ``InputError(needs_input)`` when that is given;
    --workers or --ray-address without --executor ray raise ``ConfigError``; the config is
    built (``ConfigError`` naming the flag or YAML line). The docstring of ``fn`` is --help's.
    ``old_flags``: old name -> new name of flags that are no config field (a config's own are in
    its ``RENAMED``), accepted with a note (:func:`tagengo.run.options.accept_old_flags`)."""

    def decorate(fn: Callable[..., None]) -> click.Command:
        own_params: list[click.Parameter] = list(getattr(fn, "__click_params__", []))
        own_names = [p.name for p in own_params]

        def callback(**params: Any) -> None:
            own = {name: params.pop(name) for name in own_names}
            if needs_input is not None and params.get("input_path") is None:
                raise InputError(needs_input)
            run_kw = actor_workers(params.pop("executor"), params.pop("ray_address"), params.pop("workers"))
            config = build_config(config_model, params, config_file=params.pop("config_file"))
            args = StageArgs(
                input_path=params.pop("input_path"),
                out=params.pop("out"),
                config=config,
                force=params.pop("force"),
                progress=params.pop("progress"),
                run_kw=run_kw,
                extra={"input_format": params.pop("input_format")} if input_format else {},
            )
            fn(args, **own)

        callback.__name__, callback.__doc__ = fn.__name__, fn.__doc__
        # Bottom up, as decorators apply: the config's options, the stage's own, then the shared.
        wrapped: Any = config_options(config_model, skip=skip)(callback)
        wrapped.__dict__.setdefault("__click_params__", []).extend(own_params)
        wrapped = click.option("--workers", type=click.IntRange(min=1), default=None, help=_WORKERS_HELP)(
            wrapped
        )
        wrapped = executor_options(wrapped)
        wrapped = stage_io_options(
            workers=False, progress_lines=True, input_help=input_help, input_format=input_format
        )(wrapped)
        command = click.command(context_settings={"max_content_width": 110})(wrapped)
        return accept_old_flags(command, old_flags or {})

    return decorate
