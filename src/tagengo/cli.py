"""The `tagengo` command: a thin, lazily loaded group over the library.

Each stage lives in its own package with a ``cli.py`` exposing a click object named
``command``; importing it only when that stage is asked for keeps ``tagengo --help`` fast
and lets a core install (no torch, no llama.cpp) run every stage that does not need them.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import threading
from collections.abc import Iterator

import click

#: name -> (module holding `command`, one-line help shown in `tagengo --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "curate": ("tagengo.curate.cli", "Select real user prompts by language from chat logs (Tagengo recipe)."),
    "dedup": ("tagengo.dedup.cli", "Remove near-duplicate prompts within each language."),
    "contamination": (
        "tagengo.contamination.cli",
        "Find training rows that overlap benchmark questions (exact, n-gram, cross-lingual embedding).",
    ),
    "generate": ("tagengo.generate.cli", "Generate responses with a teacher model (API, Azure or local)."),
    "extend": (
        "tagengo.extend.cli",
        "Grow conversations to several turns: an LLM writes follow-ups, the teacher answers them.",
    ),
    "reverse": (
        "tagengo.reverse.cli",
        "Instructions from natural text: an LLM writes the prompt a native fragment answers.",
    ),
    "translate": ("tagengo.translate.cli", "Translate a dataset into parallel sets (or an MT-Bench set)."),
    "mix": (
        "tagengo.mix.cli",
        "Compose a language mixture (monolingual, multilingual, parallel, sampled; ±English).",
    ),
    "export": ("tagengo.mix.export_cli", "Write training files for Axolotl/TRL with a dataset card."),
    "prefer": (
        "tagengo.prefer.cli",
        "Preference pairs for DPO/ORPO: several models answer, a judge ranks (shuffled labels).",
    ),
    "route": (
        "tagengo.route.cli",
        "Best teacher per language: candidates answer a pilot, a judge compares them, a routing table for generate.",
    ),
    "train": (
        "tagengo.train.cli",
        "Fine-tune a chat model: SFT on conversations (packing, loss on assistant tokens), or DPO/ORPO on preference pairs; full or LoRA.",
    ),
    "bench": ("tagengo.bench.cli", "Multilingual MT-Bench: answer, judge, show."),
    "eval": (
        "tagengo.eval.cli",
        "lm-eval tasks from local files: summarization, translation, knowledge, any task.",
    ),
    "inspect": ("tagengo.run.inspect_cli", "Show a dataset folder's funnel, counts and sample rows."),
    "report": ("tagengo.report.cli", "Write one self-contained HTML page about stage outputs."),
    "demo": (
        "tagengo.demo_cli",
        "Run every stage on the bundled sample and model (offline, about 2 minutes on 2 quiet cores).",
    ),
    "doctor": (
        "tagengo.doctor_cli",
        "Check that every bundled part (LID, tokenizer, embedder, llama.cpp) runs here.",
    ),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, _ = COMMANDS[name]
        return importlib.import_module(module).command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, text) for name, (_, text) in COMMANDS.items()])


@click.group(
    cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110}
)
@click.version_option(package_name="tagengo")
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """tagengo: multilingual instruction tuning for chat LLMs.

    Every stage reads a dataset folder (or a JSONL/Parquet file) and writes a dataset folder
    with data/, rejected/, manifest.json and funnel.md. Run `tagengo STAGE --help` for its options.
    """
    ctx.obj = {"debug": debug}


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status. ``argv`` None: ``sys.argv``, and this
    process is the `tagengo` program: it ends here (:func:`_end_program`) instead of returning."""
    args = sys.argv[1:] if argv is None else argv
    with _term_as_interrupt():
        code = _run(args)
    if argv is None:
        _end_program(code)
    return code


def _run(args: list[str]) -> int:
    from tagengo.errors import TagengoError

    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="tagengo", standalone_mode=False)
    except click.exceptions.Abort as exc:
        # click turns Ctrl-C (and our SIGTERM, a KeyboardInterrupt) into Abort (standalone_mode=False).
        return _interrupted(exc.__cause__ or exc.__context__)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except TagengoError as exc:
        if debug:
            raise
        code = getattr(exc, "exit_code", None)
        if code is not None:  # no failure: work to collect later (tagengo.llm.batch.BatchPending)
            click.echo(str(exc), err=True)
            return code
        click.secho(f"error: {exc}", fg="red", err=True)
        return 2
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    return 0


class Terminated(KeyboardInterrupt):
    """SIGTERM (Docker, Slurm, Kubernetes, `timeout` stop a job with it), raised where the
    program is, like Ctrl-C's KeyboardInterrupt: every path that lets Ctrl-C end a run cleanly
    (workers stopped, finished chunks and cached answers kept) serves it too."""


def _interrupted(exc: BaseException | None) -> int:
    """The sentence and exit status of a run stopped by a signal: 130 for SIGINT, 143 for SIGTERM
    (128 + the signal's number, what a shell reports for a process the signal killed)."""
    if isinstance(exc, Terminated):
        click.echo("Interrupted by SIGTERM; finished work is kept and a re-run resumes.", err=True)
        return 143
    click.echo("Interrupted; finished work is kept and a re-run resumes.", err=True)
    return 130


@contextlib.contextmanager
def _term_as_interrupt() -> Iterator[None]:
    """While a command runs, SIGTERM raises :class:`Terminated` in the main thread (Python's
    default is to die at once: no message, no clean stop). A second SIGTERM kills as before, for
    a supervisor that insists. Elsewhere than the main thread (a test runner's worker thread)
    signals cannot be caught, and nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    _default_term_in_forked_children()

    def stop(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise Terminated

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


_FORK_HOOK_SET = False


def _default_term_in_forked_children() -> None:
    """A forked child (the runner's process pool) gets SIGTERM's default action back at once.

    The pool stops its idle workers with SIGTERM when a stage ends. With the handler above
    inherited, a worker had to run Python code to die, and one that was blocked waiting for the
    pool's queue lock sometimes never did: the stage hung at its end (seen once in CI, in
    ``curate --workers 2``). The kernel's default action needs no Python. Registered once per
    process; it acts only while SIGTERM is a Python handler (what a test or a caller set up
    otherwise is left alone)."""
    global _FORK_HOOK_SET
    if _FORK_HOOK_SET:
        return
    _FORK_HOOK_SET = True

    def child() -> None:
        if callable(signal.getsignal(signal.SIGTERM)):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)

    os.register_at_fork(after_in_child=child)


def _end_program(code: int) -> None:
    """End the `tagengo` program now, skipping the interpreter's teardown.

    After the work is done and written, CPython's finalisation still clears every module it
    loaded (pyarrow, pydantic, aiohttp, matplotlib...) and frees their objects one by one:
    0.3-0.5 s of a 7 s ``tagengo generate`` on 2 quiet cores (benchmarks/generate_bench.py),
    paid by every command. What the interpreter would do first still happens here, in its
    order: non-daemon threads are joined (``threading._shutdown``, which also stops idle
    ``concurrent.futures`` workers), then every ``atexit`` handler runs (logging, Ray,
    multiprocessing, coverage), then stdout and stderr are flushed; only the freeing is
    skipped, by ``os._exit``. Every file tagengo writes is closed (and fsynced) before its
    stage returns. Where this CPython lacks ``threading._shutdown`` the normal exit is used.
    """
    import atexit

    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is None:
        return
    shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe (`tagengo ... | head`) has nothing left to lose.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
