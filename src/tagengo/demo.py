"""`tagengo demo`: the whole flow on the embedded defaults, offline, in about two minutes on 2 quiet cores.

    bundled LMSYS-schema sample
      -> curate (steps 1-8, near-duplicates with the bundled multilingual e5 model)
      -> mix (a few prompts per language, so the bundled model answers them quickly)
      -> generate (SmolLM2-135M-Instruct in-process through llama.cpp, temperature 0)
      -> export (ShareGPT JSONL for Axolotl, with a dataset card)
      -> bench: answer our mini MT-Bench-X in three languages, judge, show the scores
      -> report: one HTML page over every stage's output (report.html)

The bundled 135M model is there so that every stage runs for real with no key and no network;
it is not a good teacher or judge: its answers and grades show the flow, not quality. Give
``base_url``/``model`` (and ``judge_model``) to run the same flow with a real teacher and judge
behind any OpenAI-compatible server.

Before anything loads llama.cpp in this process, ``tagengo doctor``'s llama.cpp check runs in a
child process: a build that crashes on this CPU becomes one sentence with its fix, not a bare
"Segmentation fault" halfway through.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tagengo.errors import TagengoError

BENCH_DATA = Path(__file__).resolve().parent / "data" / "bench"

#: Sent to the bundled teacher: a 135M model asked for brevity ends most answers by itself
#: within the demo's token limit, so cut-off answers are the exception, not the rule.
DEMO_SYSTEM_PROMPT = "Answer briefly, in two or three sentences, in the language of the question."


def _rejection_reasons(folder: Path) -> list[str]:
    """The reason of every row a stage rejected (its rejected/*.parquet)."""
    from tagengo.run.dataset import read_table

    return read_table(folder, "rejected", ["reason"]).column("reason").to_pylist()


def ensure_llamacpp_runs(console: Console | None = None) -> None:
    """Raise ``TagengoError`` (what failed and the fix) unless the bundled model generates in a
    child process. Called before this process loads llama.cpp, so a native crash cannot kill it."""
    from tagengo.doctor import run_check

    r = run_check("llamacpp")
    if not r.ok:
        raise TagengoError(
            f"llama.cpp cannot run the bundled model on this machine: {r.detail}. Fix: {r.fix}"
        )
    if console is not None:
        console.print(f"[green]✓[/] llama.cpp check ({r.seconds:.1f} s): {r.detail}")


@dataclass
class DemoStep:
    name: str
    path: Path
    seconds: float
    summary: str


def _timed(steps: list[DemoStep], console: Console, name: str, path: Path, fn: Callable[[], str]) -> None:
    console.rule(f"[bold]{name}")
    t0 = time.perf_counter()
    summary = fn()
    steps.append(DemoStep(name, path, time.perf_counter() - t0, summary))
    console.print(f"[green]✓[/] {name}: {summary}")


def run_demo(
    out: str | Path,
    *,
    per_language: int = 1,
    max_tokens: int = 128,
    bench_languages: tuple[str, ...] = ("en", "de", "ja"),
    questions: int = 3,
    base_url: str | None = None,
    model: str | None = None,
    api_key_env: str | None = None,
    judge_model: str | None = None,
    progress: bool = True,
    console: Console | None = None,
) -> list[DemoStep]:
    """Run every stage on the bundled sample; return what each step did.

    The teacher and judge are the bundled SmolLM2-135M in-process unless ``base_url`` and
    ``model`` name an OpenAI-compatible server (``judge_model`` defaults to ``model``; the key,
    if any, is read from the environment variable ``api_key_env``). Raises ``TagengoError``
    when llama.cpp cannot run here (checked in a child process first)."""
    from tagengo.curate.stage import curate, preset_config
    from tagengo.mix.config import MixConfig
    from tagengo.mix.stage import mix
    from tagengo.run.wording import plural, rows_in_languages

    out = Path(out)
    console = console or Console(stderr=True)
    # Options checked before minutes of curation and generation, not after.
    _check_options(out, bench_languages, per_language, max_tokens, questions)
    cache = out / "cache"
    steps: list[DemoStep] = []
    teacher = _Teacher.choose(base_url, model, api_key_env, judge_model, cache)

    def do_curate() -> str:
        cfg = preset_config("default", dedup={"enabled": True, "cache_dir": str(cache / "embeddings")})
        m = curate(None, out / "1-curated", cfg, progress=progress).manifest
        c = m["counts"]
        kept = rows_in_languages({lang: v["kept"] for lang, v in m["languages"].items()}, "prompt")
        return f"{plural(c['read'], 'chat-log row')} -> {kept} ({c['rejected']:,} rejected with reasons)"

    def do_mix() -> str:
        cfg = MixConfig(recipe="sampled", per_language=per_language)
        m = mix(out / "1-curated", out / "2-mix", cfg, progress=progress).manifest
        return f"{m['counts']['kept']} prompts, {per_language} per language"

    _timed(steps, console, "curate", out / "1-curated", do_curate)
    _timed(steps, console, "mix", out / "2-mix", do_mix)
    if not teacher.remote:
        ensure_llamacpp_runs(console)
    _timed(
        steps,
        console,
        "generate",
        out / "3-generated",
        lambda: _generate(out, teacher, max_tokens, progress),
    )
    _timed(steps, console, "export", out / "4-export", lambda: _export(out))
    _timed(
        steps,
        console,
        "bench",
        out / "5-bench",
        lambda: _bench(out, teacher, bench_languages, max_tokens, questions, progress, console),
    )

    def do_report() -> str:
        from tagengo.report.html import write_report

        # The cache folder holds no stage output; every stage folder is named.
        stage_dirs = [out / s.path.name for s in steps]
        path = write_report(stage_dirs, out / "report.html")
        return f"one self-contained HTML page: {path}"

    _timed(steps, console, "report", out / "report.html", do_report)
    _print_steps(steps, console)
    return steps


def _bench_name(lang: str) -> str:
    """The bundled mini MT-Bench-X folder of a language (English's has no prefix)."""
    return "tagengo_mini" if lang == "en" else f"{lang}_tagengo_mini"


def _export(out: Path) -> str:
    """The export step: the finished answers as ShareGPT JSONL; its summary line."""
    from tagengo.mix.config import ExportConfig
    from tagengo.mix.export import export

    res = export(out / "3-generated", out / "4-export", ExportConfig(output_format="sharegpt"))
    return f"{res.manifest['counts']['train']} conversations as ShareGPT JSONL, with a dataset card"


def _check_options(
    out: Path, bench_languages: tuple[str, ...], per_language: int, max_tokens: int, questions: int
) -> None:
    """Raise ``TagengoError`` naming the option that cannot work, before any stage runs."""
    missing = [
        lang for lang in dict.fromkeys(bench_languages) if not (BENCH_DATA / _bench_name(lang)).is_dir()
    ]
    if missing or not bench_languages:
        have = sorted(
            "en" if p.name == "tagengo_mini" else p.name.removesuffix("_tagengo_mini")
            for p in BENCH_DATA.iterdir()
            if p.is_dir() and p.name.endswith("tagengo_mini")
        )
        raise TagengoError(
            f"--bench-languages: no bundled mini MT-Bench-X for {', '.join(missing) or 'an empty list'}; "
            f"choose from {', '.join(have)}"
        )
    if min(per_language, max_tokens, questions) < 1:
        raise TagengoError("--per-language, --max-tokens and --questions must be at least 1")
    if out.exists() and not out.is_dir():
        raise TagengoError(f"--out {out} exists and is not a folder: give a folder for the demo's output")


@dataclass
class _Teacher:
    """The LLM settings of the teacher and of the judge: a real server's, or the bundled model's."""

    llm: dict
    judge_llm: dict
    judge_name: str
    remote: bool
    model: str | None

    @classmethod
    def choose(
        cls,
        base_url: str | None,
        model: str | None,
        api_key_env: str | None,
        judge_model: str | None,
        cache: Path,
    ) -> _Teacher:
        remote = base_url is not None or model is not None
        if remote and not (base_url and model):
            raise TagengoError("a real teacher needs both --base-url and --model")
        if remote:
            llm: dict = {
                "backend": "openai",
                "base_url": base_url,
                "model": model,
                "api_key_env": api_key_env,
            }
            judge_llm = {**llm, "model": judge_model or model}
            judge_name = judge_model or model
        else:
            # Every core: the demo is the only thing running (llama.cpp's default is half of them).
            llm = {"backend": "llamacpp", "n_threads": max(1, min(8, os.cpu_count() or 1))}
            judge_llm = dict(llm)
            judge_name = "smollm2-135m-judge"
        llm["cache_path"] = judge_llm["cache_path"] = str(cache / "llm.sqlite")
        return cls(llm, judge_llm, str(judge_name), remote, model)


def _generate(out: Path, teacher: _Teacher, max_tokens: int, progress: bool) -> str:
    """The generate step: the teacher answers the mixed prompts; its summary line."""
    from tagengo.generate.config import GenerateConfig
    from tagengo.generate.stage import generate

    remote = teacher.remote
    cfg = GenerateConfig(
        **teacher.llm,
        max_tokens=max_tokens,
        system_prompt=None if remote else DEMO_SYSTEM_PROMPT,
        # Greedy decoding makes a 135M model loop until the token limit; a repetition penalty
        # lets most of its answers end by themselves (4 of 31 cut at 128 tokens instead of 15).
        sampling_extra={} if remote else {"repeat_penalty": 1.3},
        concurrency=8 if remote else 1,
    )
    m = generate(out / "2-mix", out / "3-generated", cfg, progress=progress).manifest
    c = m["counts"]
    cut = sum(1 for r in _rejection_reasons(out / "3-generated") if "finish_reason=length" in r)
    who = teacher.model if remote else "the bundled SmolLM2-135M"
    why = f"{cut} cut off at {max_tokens} tokens"
    if c["rejected"] > cut:
        why += (
            f", {c['rejected'] - cut} for another reason of the answer contract (empty, failed, a template "
            "leak, a loop, in another language than the prompt)"
        )
    return (
        f"{c['read']} prompts -> {c['kept']} finished answers from {who}; {c['rejected']} rejected "
        f"({why}), kept in 3-generated/rejected"
    )


def _bench(
    out: Path,
    teacher: _Teacher,
    bench_languages: tuple[str, ...],
    max_tokens: int,
    questions: int,
    progress: bool,
    console: Console,
) -> str:
    """The bench step: copy the mini benches, answer and judge them, write the report; its summary."""
    from tagengo.bench.answer import answer_bench
    from tagengo.bench.config import AnswerConfig, JudgeConfig, ShowConfig
    from tagengo.bench.judge import judge_bench
    from tagengo.bench.show import show
    from tagengo.io.bench_layout import open_bench
    from tagengo.run.llm_stage import LLMStage
    from tagengo.run.wording import plural

    remote = teacher.remote
    root = out / "5-bench" / "data"
    names = [_bench_name(lang) for lang in bench_languages]
    for name in names:
        if not (root / name).exists():
            shutil.copytree(BENCH_DATA / name, root / name)
    shutil.copy(BENCH_DATA / "judge_prompts.jsonl", root / "judge_prompts.jsonl")
    benches = [open_bench(root / name) for name in names]
    answer_cfg = AnswerConfig(
        llm=teacher.llm,
        max_tokens=max_tokens,
        limit=questions,
        model_id=teacher.model if remote else "smollm2-135m",
        system_prompt=None if remote else DEMO_SYSTEM_PROMPT,
    )
    if remote:
        judge_cfg = JudgeConfig(judge=teacher.judge_llm, judge_name=teacher.judge_name)
    else:
        # The 135M model cannot keep the verdict format on its own: a grammar makes its whole
        # reply "[[n]]" (so a few tokens suffice). Its grades are not meaningful; the flow is.
        judge_cfg = JudgeConfig(
            judge=teacher.judge_llm,
            judge_name=teacher.judge_name,
            judge_max_tokens=8,
            reask=0,
            constrain_verdict=True,
        )
    with LLMStage(progress, console=console) as calls:
        client = calls.client(None, answer_cfg.llm)
        # One in-process model serves both roles; a remote judge gets its own client.
        judge_client = calls.client(None if remote else client, judge_cfg.judge)
        for bench in benches:
            answer_bench(bench, answer_cfg, client, console=console)
            judge_bench(bench, judge_cfg, judge_client, console=console)
    show(benches, ShowConfig(), out / "5-bench" / "report", console=console)
    return (
        f"{plural(len(benches), 'language')} x {plural(questions, 'two-turn question')} answered and "
        "judged; tables and charts in 5-bench/report"
    )


def _print_steps(steps: list[DemoStep], console: Console) -> None:
    table = Table(title="tagengo demo")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    table.add_column("result")
    table.add_column("folder")
    for s in steps:
        table.add_row(s.name, f"{s.seconds:.1f}", s.summary, str(s.path))
    console.print(table)
