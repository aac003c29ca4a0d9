"""Speed of `tagengo eval` on a local model: items/s through lm-eval's batched hf model against
calling the same model directly, one item at a time, with the same prompts.

Two task kinds, as `tagengo eval` writes them (tagengo's own data, each item repeated to reach
--items per language):

1. summarization (generation): lm-eval's HFLM at --batch-sizes (default 1 and 8), against a plain
   loop of ``model.generate`` on each chat-templated prompt (greedy, same token budget).
2. knowledge (multiple choice by log-likelihood): HFLM at the same batch sizes, against a plain
   loop of one forward pass per item reading the four letters' next-token log-probabilities
   (what lm-eval also does for one-token answers: it scores them from one pass).

3. pairwise against a baseline (--pairwise N questions, 0 to skip): `bench judge --mode
   pairwise-baseline` of two models against a baseline through a scripted judge on 127.0.0.1
   (tests/servers/scripted_judge.py: real HTTP, no model, so the figure is tagengo's own cost per
   judgment: prompts, client layer, cache, files), then `bench show`'s win-rate statistics
   (bootstrap and length-controlled fit, --bootstrap-iters resamples).

The model is the bundled SmolLM2-135M read by transformers (dequantized from its GGUF) unless
--model names a folder. Figures are items/s over the whole run (lm-eval's setup included, model
load excluded on both sides), the median of --repeats.

    .venv/bin/python benchmarks/eval_bench.py --items 16 --max-new-tokens 32
    .venv/bin/python benchmarks/eval_bench.py --device cuda --items 256 --batch-sizes 1,8,32
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def _data(folder: Path, items: int, lang: str) -> Path:
    from tagengo.eval.tasks import bundled_data

    src = bundled_data()
    for kind in ("summarization", "knowledge"):
        rows = [json.loads(x) for x in (src / kind / f"{lang}.jsonl").read_text().splitlines()]
        (folder / kind).mkdir(parents=True, exist_ok=True)
        out = [dict(rows[i % len(rows)], id=f"{kind}-{i}") for i in range(items)]
        # distinct prompts: a repeated one could be answered from a cache somewhere
        for i, r in enumerate(out):
            key = "text" if kind == "summarization" else "question"
            r[key] = f"({i + 1}) {r[key]}"
        (folder / kind / f"{lang}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out)
        )
    return folder


def _tagengo(model: str, data: Path, task: str, lang: str, batch: int, tokens: int, device: str) -> float:
    from tagengo.eval.config import EvalConfig
    from tagengo.eval.stage import run_eval

    cfg = EvalConfig.model_validate(
        {
            "local_model": model,
            "data": data,
            "tasks": [task],
            "languages": [lang],
            "batch_size": batch,
            "max_tokens": tokens,
            "device": device,
            "bootstrap_iters": 0,
        }
    )
    out = Path(tempfile.mkdtemp(prefix="eval-bench-"))
    try:
        res = run_eval(cfg, out, say=lambda _: None)
        (m,) = res.manifest["models"]
        return m["duration_s"] - m["load_s"]
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _load(model: str, device: str) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    p = Path(model)
    kw = {"gguf_file": p.name} if p.suffix == ".gguf" else {}
    root = p.parent if p.suffix == ".gguf" else p
    tok = AutoTokenizer.from_pretrained(root, **kw)
    lm = AutoModelForCausalLM.from_pretrained(root, **kw).to(device).eval()
    return tok, lm


def _direct(tok: Any, lm: Any, data: Path, task: str, lang: str, tokens: int) -> float:
    """The same prompts, one item at a time, straight through transformers."""
    import torch

    from tagengo.eval.tasks import knowledge_task, summarization_task

    spec = (
        summarization_task(data, lang, tokens)
        if task == "summarization"
        else knowledge_task(data, lang, "loglikelihood")
    )
    import jinja2

    template = jinja2.Template(spec.config["doc_to_text"])
    rows = [json.loads(x) for x in spec.data_file.read_text().splitlines()]
    letters = [tok(x, add_special_tokens=False).input_ids[0] for x in "ABCD"]
    t0 = time.perf_counter()
    with torch.no_grad():
        for row in rows:
            prompt = tok.apply_chat_template(
                [{"role": "user", "content": template.render(**row)}],
                tokenize=False,
                add_generation_prompt=True,
            )
            ids = tok(prompt, return_tensors="pt", add_special_tokens=False).input_ids.to(lm.device)
            if task == "summarization":
                lm.generate(ids, max_new_tokens=tokens, do_sample=False, pad_token_id=tok.eos_token_id)
            else:  # one forward pass: the next-token log-probabilities of the four letters
                logits = lm(ids).logits[0, -1]
                logits.log_softmax(-1)[letters].argmax()
    return time.perf_counter() - t0


def _pairwise(questions: int, boot: int) -> None:
    """Judgments/s of a pairwise-baseline judge run against a scripted judge, and the seconds
    the win-rate table takes."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from servers.scripted_judge import ScriptedJudgeServer, marked_better
    from tagengo.bench.config import JudgeConfig, ShowConfig
    from tagengo.bench.judge import judge_bench
    from tagengo.bench.show import arena_scores
    from tagengo.io.bench_layout import open_bench
    from tagengo.io.fastchat import Answer, write_answers
    from tagengo.llm import LLMConfig, build_client

    work = Path(tempfile.mkdtemp(prefix="eval-bench-pair-"))
    folder = work / "de_pairs"
    folder.mkdir()
    qs = [
        {"question_id": i, "category": "writing", "turns": [f"Frage {i}: erkläre kurz."]}
        for i in range(questions)
    ]
    (folder / "question.jsonl").write_text("".join(json.dumps(q) + "\n" for q in qs))
    bench = open_bench(folder)
    # GOOD (or NONE, as many tokens) on every k-th question; lengths vary apart from the verdict
    for m, k, r in (("base", 3, 1), ("sft", 2, 3), ("dpo", 5, 5)):
        write_answers(
            bench.answer_path(m),
            [
                Answer(
                    i,
                    m,
                    [
                        {
                            "index": 0,
                            "turns": [
                                ("GOOD " if i % k == 0 else "NONE ") + f"Antwort {i} " * (1 + (r * i) % 7)
                            ],
                        }
                    ],
                    f"{m}{i}",
                    1.0,
                )
                for i in range(questions)
            ],
        )
    with ScriptedJudgeServer(marked_better()) as server:
        llm = LLMConfig(
            backend="openai", model="judge", base_url=server.url, cache_path=work / "c.sqlite", concurrency=16
        )
        cfg = JudgeConfig(judge=llm, mode="pairwise-baseline", baseline_model="base")
        t0 = time.perf_counter()
        with build_client(cfg.judge) as client:
            judge_bench(bench, cfg, client)
        judge_s = time.perf_counter() - t0
        calls = server.calls
    t0 = time.perf_counter()
    arena = arena_scores([bench], ShowConfig(mode="pairwise", bootstrap_iters=boot))
    stats_s = time.perf_counter() - t0
    ((_, rates),) = arena.values()
    print(
        f"pairwise       judge, {2 * questions} judgments ({calls} calls, both orders): "
        f"{2 * questions / judge_s:7.1f} judgments/s ({judge_s:.1f} s)"
    )
    print(
        f"pairwise       win rates + LC, {boot} bootstrap resamples over {questions} questions: {stats_s:.2f} s "
        f"("
        + ", ".join(f"{w.model} {100 * w.win_rate:.1f}% LC {100 * w.lc_win_rate:.1f}%" for w in rates)
        + ")"
    )
    shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="transformers folder or .gguf (default: the bundled GGUF)")
    ap.add_argument("--items", type=int, default=16, help="items per task")
    ap.add_argument("--language", default="de")
    ap.add_argument("--max-tokens", "--max-new-tokens", type=int, default=32, help="answer tokens per item")
    ap.add_argument("--batch-sizes", default="1,8")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--tasks", default="summarization,knowledge", help="eval tasks to time ('' for none)")
    ap.add_argument("--pairwise", type=int, default=100, help="questions of the pairwise timing (0: skip)")
    ap.add_argument("--bootstrap-iters", type=int, default=1000, help="resamples of the win-rate intervals")
    args = ap.parse_args()
    if args.pairwise:
        _pairwise(args.pairwise, args.bootstrap_iters)
    if not args.tasks:
        return
    if args.model is None:
        from tagengo.llm.backends.llamacpp import bundled_gguf

        args.model = str(bundled_gguf())
    import torch

    torch.manual_seed(0)
    work = Path(tempfile.mkdtemp(prefix="eval-bench-data-"))
    data = _data(work, args.items, args.language)
    tok, lm = _load(args.model, args.device)
    print(
        f"model {args.model} on {args.device}, {args.items} items per task, torch threads {torch.get_num_threads()}"
    )
    for task in [t for t in args.tasks.split(",") if t]:
        times = [_direct(tok, lm, data, task, args.language, args.max_tokens) for _ in range(args.repeats)]
        base = statistics.median(times)
        print(f"{task:14s} direct, one at a time : {args.items / base:7.2f} items/s ({base:.1f} s)")
        for b in [int(x) for x in args.batch_sizes.split(",")]:
            t = statistics.median(
                _tagengo(args.model, data, task, args.language, b, args.max_tokens, args.device)
                for _ in range(args.repeats)
            )
            print(
                f"{task:14s} tagengo eval, batch {b:3d}: {args.items / t:7.2f} items/s ({t:.1f} s, {base / t:.2f}x direct)"
            )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
