"""`tagengo bench answer | judge | show` (and `init`): parse options, build configs, call the library.

BENCH arguments are bench folders in FastChat layout (holding question.jsonl) or data folders
whose sub-folders are benches (``data/mt_bench``, ``data/de_mt_bench`` ...).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from tagengo.bench.config import NO_JUDGE, AnswerConfig, JudgeConfig, ShowConfig, check_api_key
from tagengo.errors import ConfigError
from tagengo.run.llm_stage import LLMStage, print_llm_summary, progress_option
from tagengo.run.options import build_config, config_options

_CTX = {"max_content_width": 110}


def _language_option(fn: Any) -> Any:
    return click.option(
        "--language",
        default=None,
        help="Language of the benches (code or English name) when their folder names do not say it "
        "(de_mt_bench, mt_bench_DE, japanese_mt_bench do); otherwise language ID over the questions decides.",
    )(fn)


def _config_file_option(fn: Any) -> Any:
    return click.option(
        "--config", "config_file", type=click.Path(), default=None, help="YAML file of options."
    )(fn)


def _bundled_sets() -> Path:
    from tagengo.bench.prompts import default_prompts_path

    return default_prompts_path().parent


@click.group(context_settings=_CTX)
def command() -> None:
    """Multilingual MT-Bench (MT-Bench-X): answer, judge, show.

    Reads and writes FastChat's llm_judge files (question.jsonl, model_answer/, reference_answer/,
    model_judgment/), so FastChat's own tools read what tagengo writes, and the other way round.
    """


@command.command("init", context_settings=_CTX)
@click.argument("dest", type=click.Path(file_okay=False))
@click.option(
    "--languages",
    default=None,
    help="Comma-separated codes to copy (default: all of en, de, fr, es, ja, zh).",
)
def init_cmd(dest: str, languages: str | None) -> None:
    """Copy tagengo's own small question set (8 categories, 2 turns, 6 languages) into DEST.

    MT-Bench's own questions are not shipped: point the other commands at your copy of
    FastChat's data folder (or MT-Bench-X's) instead.
    """
    from tagengo.lang.bench_names import language_from_bench_name

    want = {c.strip() for c in languages.split(",")} if languages else None
    src = _bundled_sets()
    copied = []
    for d in sorted(p for p in src.iterdir() if (p / "question.jsonl").exists()):
        if want is not None and language_from_bench_name(d.name) not in want:
            continue
        target = Path(dest) / d.name
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(d / "question.jsonl", target / "question.jsonl")
        copied.append(target)
    if not copied:
        raise click.UsageError(f"no bundled set matches --languages {languages}")
    click.echo(f"copied {len(copied)} question sets to {dest}: " + ", ".join(p.name for p in copied))


def _llm_command(name: str, config_model: Any) -> Callable[[Any], Any]:
    """`bench NAME BENCHES...` of model calls: --language, --config, --progress and one option
    per field of ``config_model``."""

    def decorate(fn: Any) -> Any:
        fn = config_options(config_model)(fn)
        for opt in (progress_option, _config_file_option, _language_option):
            fn = opt(fn)
        fn = click.argument("benches", nargs=-1, required=True, type=click.Path(exists=True))(fn)
        return command.command(name, context_settings=_CTX)(fn)

    return decorate


def _over_benches(
    benches: tuple[str, ...],
    language: str | None,
    progress: bool | None,
    client_of: Callable[[LLMStage], Any],
    each: Callable[..., Any],
) -> None:
    """``each(bench, client, console=...)`` for every bench of BENCHES, with the client
    ``client_of`` builds in the run (closed at its end); then the client's calls and spend."""
    from rich.console import Console

    from tagengo.io.bench_layout import open_benches

    console = Console(stderr=True)
    opened = open_benches([Path(b) for b in benches], language)
    with LLMStage(progress, console=console) as llm:
        client = client_of(llm)
        for bench in opened:
            each(bench, client, console=console)
    print_llm_summary(clients=[client], console=console)


@_llm_command("answer", AnswerConfig)
def answer_cmd(
    benches: tuple[str, ...],
    language: str | None,
    config_file: str | None,
    progress: bool | None,
    **kwargs: Any,
) -> None:
    """Answer every question of BENCHES (two turns; turn 2 sees turn 1), writing
    BENCH/model_answer/<model-id>.jsonl in FastChat's format.

    Temperatures by category as in MT-Bench (writing, roleplay 0.7; extraction, math, coding,
    reasoning 0; stem, humanities 0.1); at most 1,024 new tokens per turn. --redo and --runs draw
    new, independent samples (a sample index in every request key); each run writes a manifest
    to BENCH/tagengo/. The default model is
    the bundled SmolLM2-135M through in-process llama.cpp; any OpenAI-compatible server or Azure
    works through --llm-backend/--llm-model/--llm-base-url, a local transformers folder through
    --local-model.
    """
    from tagengo.bench.answer import answer_bench

    cfg = build_config(AnswerConfig, kwargs, config_file=config_file)
    if cfg.local_model is None:
        check_api_key(cfg.llm, "llm")

    def client_of(llm: LLMStage) -> Any:
        if cfg.local_model is not None:
            from tagengo.llm.backends.hf_local import TransformersChatClient

            return llm.own(TransformersChatClient(cfg.local_model, progress=llm.progress))
        return llm.client(None, cfg.llm)

    _over_benches(
        benches,
        language,
        progress,
        client_of,
        lambda bench, client, **kw: answer_bench(bench, cfg, client, **kw),
    )


@_llm_command("judge", JudgeConfig)
def judge_cmd(
    benches: tuple[str, ...],
    language: str | None,
    config_file: str | None,
    progress: bool | None,
    **kwargs: Any,
) -> None:
    """Judge the answers in BENCHES with an LLM judge, writing FastChat judgment files
    (BENCH/model_judgment/<judge>_single.jsonl or _pair.jsonl).

    Single mode grades turn 1 and turn 2 (with the conversation) from 1 to 10, with reference
    answers for math, reasoning and coding. Pairwise modes judge every game in both orders.
    Verdicts are read exactly as FastChat reads them unless --judge-policy robust (re-ask
    unreadable or out-of-range verdicts); --gate skips the judge for answers in the wrong
    language. A re-run keeps a verdict only when its stored request key matches the request it
    would send now, and replays finished calls from the cache. Each run writes a manifest to
    BENCH/tagengo/.

    A judge must be named: --judge-model (an API or --judge-base-url server), or --judge-backend
    llamacpp for the bundled 135M model, which only checks the plumbing. tagengo's prompts add a
    language sentence worded strict (default) or consider (--language-wording); FastChat's,
    MT-Bench-X's or the Tagengo fork's prompts (--prompts FILE) are sent as written.
    """
    from tagengo.bench.judge import judge_bench, stop_when_no_verdict_read

    cfg = build_config(JudgeConfig, kwargs, config_file=config_file)
    if not cfg.judge_named:
        raise ConfigError(NO_JUDGE)
    check_api_key(cfg.judge, "judge")
    _over_benches(
        benches,
        language,
        progress,
        lambda llm: llm.client(None, cfg.judge),
        lambda bench, client, **kw: stop_when_no_verdict_read(bench, judge_bench(bench, cfg, client, **kw)),
    )


@command.command("show", context_settings=_CTX)
@click.argument("benches", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--out", type=click.Path(file_okay=False), required=True, help="Folder for tables and pictures."
)
@_language_option
@_config_file_option
@config_options(ShowConfig)
def show_cmd(
    benches: tuple[str, ...], out: str, language: str | None, config_file: str | None, **kwargs: Any
) -> None:
    """Scores of BENCHES: models x languages (Markdown and CSV, like Tagengo's Table 2), per
    category and turn, radar charts per language and a heatmap; medians and 95% bootstrap
    intervals over judge runs; pairwise win rates; agreement with human ratings (--human).

    Where pair judgments against one baseline exist (bench judge --mode pairwise-baseline), also
    arena.md/.csv: each model's win rate against the baseline with its 95% bootstrap interval and
    the length-controlled win rate, as Arena-Hard-Auto reports them (docs/bench.md).

    Averages are computed exactly as FastChat's show_result: -1 rows dropped, both turns pooled.
    Files with two verdicts for one match are refused (--duplicates); provenance.json names the
    files, judge prompts and judge policies behind the numbers.
    """
    from rich.console import Console

    from tagengo.bench.show import show
    from tagengo.io.bench_layout import open_benches

    cfg = build_config(ShowConfig, kwargs, config_file=config_file)
    console = Console()
    opened = open_benches([Path(b) for b in benches], language)
    result = show(opened, cfg, Path(out), console=console)
    console.print(f"wrote {len(result.files)} files to {out}: " + ", ".join(p.name for p in result.files))
