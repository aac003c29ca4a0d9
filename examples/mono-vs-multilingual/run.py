"""The Tagengo paper's experiment as one recipe: does training on many languages help?

    conversations -> mix: multilingual (every language) and monolingual (one language)
                  -> train: one model per mixture, same base and settings
                  -> bench: answer MT-Bench-X in each language with the untrained base and each
                     trained model, judge, one table of models x languages against the base

The base row is the reference the papers read their findings off: English barely drops, the
target language gains.

At toy scale (the default) it runs on CPU in minutes with the bundled SmolLM2-135M-Instruct
as base model and as judge: the flow is real, the scores are not meaningful. README.md gives
the full-scale settings. Each step is a tagengo library call, the same as the CLI commands
in README.md.

    python examples/mono-vs-multilingual/run.py --out out/mono-vs-multi
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--data",
        nargs="+",
        default=[str(HERE / "toy_conversations.jsonl")],
        help="conversations (any tagengo input); several are concatenated (the Tagengo set + Japanese "
        "pairs + English pairs, README.md)",
    )
    ap.add_argument("--out", default="out/mono-vs-multilingual")
    ap.add_argument("--mono", default="ja", help="the single language of the monolingual model")
    ap.add_argument("--languages", default="en,de,ja", help="bench languages (mini MT-Bench-X)")
    ap.add_argument(
        "--base-model", default=None, help="local folder or .gguf (default: bundled SmolLM2-135M)"
    )
    ap.add_argument("--preset", default="default", help="train preset (suzume-2024 for the paper's settings)")
    ap.add_argument("--max-steps", type=int, default=6, help="optimizer steps per model (0: whole epochs)")
    ap.add_argument("--learning-rate", type=float, default=None, help="default: the preset's (toy: 5e-5)")
    ap.add_argument("--max-length", type=int, default=256)
    # the names of `tagengo bench answer`'s options (the old spellings still work)
    ap.add_argument("--limit", "--questions", type=int, default=2, help="questions per bench language")
    ap.add_argument("--max-tokens", "--max-new-tokens", type=int, default=32, help="answer tokens per turn")
    ap.add_argument("--judge-backend", default="llamacpp", help="llamacpp (bundled model) or openai")
    ap.add_argument("--judge-model", default=None, help="e.g. gpt-4o with --judge-backend openai")
    args = ap.parse_args(argv)

    from tagengo.bench.answer import answer_bench
    from tagengo.bench.config import AnswerConfig, JudgeConfig, ShowConfig
    from tagengo.bench.judge import judge_bench
    from tagengo.bench.show import show
    from tagengo.demo import BENCH_DATA
    from tagengo.io.bench_layout import open_bench
    from tagengo.llm import build_client
    from tagengo.llm.backends.hf_local import TransformersChatClient
    from tagengo.mix.config import MixConfig
    from tagengo.mix.stage import mix
    from tagengo.train.config import PRESETS, TrainConfig
    from tagengo.train.model import resolve_base
    from tagengo.train.trainer import train

    console = Console(stderr=True)
    out = Path(args.out)
    langs = [x.strip() for x in args.languages.split(",") if x.strip()]

    # 1. mix: the two training sets (the Lima-X variants are other recipes: parallel, sampled, --no-english)
    mixes = {
        "multilingual": MixConfig(recipe="multilingual"),
        f"mono-{args.mono}": MixConfig(recipe="monolingual", languages=[args.mono]),
    }
    for name, cfg in mixes.items():
        console.rule(f"mix: {name}")
        m = mix(args.data, out / "mix" / name, cfg, progress=False).manifest
        console.print(f"{name}: {m['counts']['kept']} conversations")

    # 2. train: one model per mixture, identical settings
    models: dict[str, Path] = {}
    for name in mixes:
        console.rule(f"train: {name}")
        # Toy-scale settings apply to the default preset only; a named preset keeps its own values.
        toy = {
            "warmup_steps": 1,
            "micro_batch_size": 2,
            "gradient_accumulation_steps": 1,
            "learning_rate": 5e-5,
        }
        cfg = TrainConfig(
            **{
                **PRESETS[args.preset],
                **(toy if args.preset == "default" else {}),
                "base_model": args.base_model or PRESETS[args.preset].get("base_model"),
                "max_steps": args.max_steps or None,
                "max_length": args.max_length,
                **({"learning_rate": args.learning_rate} if args.learning_rate else {}),
            }
        )
        res = train(out / "mix" / name, out / "train" / name, cfg, progress=True)
        console.print(f"{name}: loss {res.losses[0]:.3f} -> {res.losses[-1]:.3f} in {res.steps} steps")
        models[name] = res.model_dir

    # 3. bench: answer with the untrained base and each trained model, judge, one table of
    # models x languages with the base as the reference
    root = out / "bench" / "data"
    names = ["tagengo_mini" if lang == "en" else f"{lang}_tagengo_mini" for lang in langs]
    for bench_name in names:
        if not (root / bench_name).exists():
            shutil.copytree(BENCH_DATA / bench_name, root / bench_name)
    shutil.copy(BENCH_DATA / "judge_prompts.jsonl", root / "judge_prompts.jsonl")
    benches = [open_bench(root / n) for n in names]
    base = resolve_base(args.base_model or PRESETS[args.preset].get("base_model"))
    answer_base(base, benches, out, args, console)
    for name, model_dir in models.items():
        client = TransformersChatClient(model_dir, progress=True)
        cfg = AnswerConfig(local_model=model_dir, max_tokens=args.max_tokens, limit=args.limit, model_id=name)
        for bench in benches:
            console.rule(f"answer: {name} on {bench.name}")
            answer_bench(bench, cfg, client, console=console)
        client.close()
    judge_llm = {"backend": args.judge_backend, "cache_path": str(out / "cache" / "llm.sqlite")}
    if args.judge_model:
        judge_llm["model"] = args.judge_model
    local_judge = args.judge_backend == "llamacpp"
    # The bundled 135M judge cannot keep the verdict format unaided: a grammar holds it to "[[n]]".
    judge_cfg = JudgeConfig(
        judge=judge_llm,
        judge_name="smollm2-135m-judge" if local_judge else None,
        judge_max_tokens=8 if local_judge else 2048,
        reask=0 if local_judge else 1,
        constrain_verdict=local_judge,
    )
    with build_client(judge_cfg.judge) as judge_client:
        for bench in benches:
            console.rule(f"judge: {bench.name}")
            judge_bench(bench, judge_cfg, judge_client, console=console)
    report = out / "bench" / "report"
    show(benches, ShowConfig(), report, console=console)

    table = Table(title="mono vs multilingual: training")
    for col in ("model", "conversations", "steps", "first loss", "last loss", "tokens/s"):
        table.add_column(col)
    for name in models:
        m = json.loads((out / "train" / name / "manifest.json").read_text())
        hist = [json.loads(x) for x in (out / "train" / name / "metrics.jsonl").read_text().splitlines()]
        table.add_row(
            name,
            str(m["counts"]["train"]),
            str(m["counts"]["steps"]),
            f"{hist[0]['loss']:.3f}",
            f"{hist[-1]['loss']:.3f}",
            f"{m['throughput']['tokens_per_s']:.0f}",
        )
    console.print(table)
    comparison = against_base(report / "scores.csv", [BASE, *models])
    console.print(comparison)
    console.print(f"bench tables and charts: {report}")


#: The untrained base model's name in the bench files and tables.
BASE = "base"


def answer_base(base: Path, benches: list, out: Path, args: argparse.Namespace, console: Console) -> None:
    """Answer every bench with the untrained base model, as ``base``: a transformers folder runs
    in process like the trained models; a GGUF file (the bundled toy base) runs through llama.cpp,
    with the same temperatures and token limit."""
    from tagengo.bench.answer import answer_bench
    from tagengo.bench.config import AnswerConfig
    from tagengo.llm import build_client
    from tagengo.llm.backends.hf_local import TransformersChatClient

    common = {"max_tokens": args.max_tokens, "limit": args.limit, "model_id": BASE}
    if base.is_dir():
        cfg = AnswerConfig(local_model=base, **common)
        client = TransformersChatClient(base, progress=True)
    else:
        llm = {
            "backend": "llamacpp",
            "model_path": str(base),
            "cache_path": str(out / "cache" / "llm.sqlite"),
        }
        cfg = AnswerConfig(llm=llm, **common)
        client = build_client(cfg.llm, progress=True)
    try:
        for bench in benches:
            console.rule(f"answer: {BASE} on {bench.name}")
            answer_bench(bench, cfg, client, console=console)
    finally:
        client.close()


def against_base(scores_csv: Path, models: list[str]) -> Table:
    """Models x languages from ``bench show``'s scores.csv, the base first as the reference and
    every trained model with its difference from the base in each language."""
    import csv

    with open(scores_csv, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    score = {(r["model"], r["language"]): float(r["score"]) for r in rows if r["score"]}
    languages = list(dict.fromkeys(r["language"] for r in rows))
    table = Table(title="mono vs multilingual: MT-Bench by language, against the untrained base")
    table.add_column("model")
    for lang in languages:
        table.add_column(lang)
    for name in models:
        cells = []
        for lang in languages:
            own, ref = score.get((name, lang)), score.get((BASE, lang))
            if own is None:
                cells.append("-")
            elif name == BASE or ref is None:
                cells.append(f"{own:.2f}")
            else:
                cells.append(f"{own:.2f} ({own - ref:+.2f})")
        table.add_row(f"{name} (reference)" if name == BASE else name, *cells)
    return table


if __name__ == "__main__":
    main()
