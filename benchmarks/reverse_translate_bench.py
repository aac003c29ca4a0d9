"""Speed of `tagengo reverse` and `tagengo translate` against a server with a fixed latency.

The server is tests/servers/scripted_chat.py in its own process on 127.0.0.1: it answers every
request after ``--latency`` seconds, and every item makes distinct requests (an ``ITEM<n>``
tag travels through every answer), so nothing is deduplicated by the client. The bound of a
stage is calls per item × items × latency / concurrency (every slot always busy); goal: the
whole stage call (reading, filters, LID, writing the folder, the λ report) within 1.1× of it
at 64 in flight. Each stage runs at N and at 2N items (fresh server and cache each time): the
difference is the time per item without the fixed start-up (loading lid.176 and the cl100k
tokenizer, the first connections, the λ plot), which on a loaded machine alone can take seconds.

* reverse, roundtrip mode on a German corpus: 4 calls per item (fragment → English,
  instruction, judge, instruction → German);
* translate, 2-message rows into 2 languages: 4 calls per item (2 messages × 2 languages).

    .venv/bin/python benchmarks/reverse_translate_bench.py       # --n 1000 --latency 0.2 --concurrency 64
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]

from tagengo.reverse.config import ReverseConfig  # noqa: E402
from tagengo.reverse.corpus import bundled_corpus, split_fragments  # noqa: E402
from tagengo.reverse.stage import reverse  # noqa: E402
from tagengo.translate.config import TranslateConfig  # noqa: E402
from tagengo.translate.stage import translate  # noqa: E402


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "servers" / "scripted_chat.py"), "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    return proc, json.loads(proc.stdout.readline())["url"]


def llm(url: str, concurrency: int, cache: Path) -> dict:
    return {"model": "bench", "base_url": url, "concurrency": concurrency, "cache_path": cache}


def bench_reverse(n: int, latency: float, concurrency: int, tmp: Path) -> dict:
    frags = [t for _, t in split_fragments(bundled_corpus("de").read_text())]
    corpus = tmp / "corpus.jsonl"
    with corpus.open("w") as f:
        for i in range(n):
            f.write(
                json.dumps({"id": f"r{i}", "text": f"{frags[i % len(frags)]} ITEM{i}"}, ensure_ascii=False)
                + "\n"
            )
    proc, url = start_server(latency)
    try:
        cfg = ReverseConfig(language="de", **llm(url, concurrency, tmp / "rev.sqlite"))
        t0, c0 = time.perf_counter(), time.process_time()
        result = reverse(corpus, tmp / "rev", cfg, progress=False)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    calls = sum(m["calls"] for m in result.manifest["steps"][-1]["summary"]["models"].values())
    return _figures("reverse", n, calls, latency, concurrency, wall, cpu, result.manifest["counts"])


def bench_translate(n: int, latency: float, concurrency: int, tmp: Path) -> dict:
    src = tmp / "chats.jsonl"
    with src.open("w") as f:
        for i in range(n):
            row = {
                "id": f"t{i}",
                "language": "en",
                "messages": [
                    {
                        "role": "user",
                        "content": f"How do I keep `basil` alive on a windowsill in winter? ITEM{i}",
                    },
                    {
                        "role": "assistant",
                        "content": f"Give it the sunniest window, water sparingly and pinch the tips. ITEM{i}",
                    },
                ],
            }
            f.write(json.dumps(row) + "\n")
    proc, url = start_server(latency)
    try:
        cfg = TranslateConfig(to=["de", "fr"], **llm(url, concurrency, tmp / "tr.sqlite"))
        t0, c0 = time.perf_counter(), time.process_time()
        result = translate(src, tmp / "tr", cfg, progress=False)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    calls = sum(m["calls"] for m in result.manifest["steps"][-1]["summary"]["models"].values())
    return _figures("translate", n, calls, latency, concurrency, wall, cpu, result.manifest["counts"])


def _figures(
    stage: str, n: int, calls: int, latency: float, concurrency: int, wall: float, cpu: float, counts: dict
) -> dict:
    bound = calls * latency / concurrency
    return {
        "stage": stage,
        "items": n,
        "calls": calls,
        "calls_per_item": round(calls / n, 2),
        "latency_s": latency,
        "concurrency": concurrency,
        "wall_s": round(wall, 2),
        "bound_s": round(bound, 2),
        "ratio_to_bound": round(wall / bound, 3),
        "ms_per_item": round(wall / n * 1000, 2),
        "cpu_ms_per_call": round(cpu / calls * 1000, 3),
        "counts": counts,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--n", type=int, default=1000, help="items of the smaller run (the larger has twice as many)"
    )
    p.add_argument("--latency", type=float, default=0.2)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--only", choices=("reverse", "translate"), default=None)
    args = p.parse_args()
    out = {
        "machine": {
            "python": platform.python_version(),
            "cpus": psutil.cpu_count(),
            "load_1m": psutil.getloadavg()[0],
        },
        "results": [],
    }
    benches = {"reverse": bench_reverse, "translate": bench_translate}
    for name, fn in benches.items():
        if args.only not in (None, name):
            continue
        runs = []
        for n in (args.n, 2 * args.n):
            with tempfile.TemporaryDirectory() as tmp:
                runs.append(fn(n, args.latency, args.concurrency, Path(tmp)))
        small, big = runs
        per_item = (big["wall_s"] - small["wall_s"]) / (big["items"] - small["items"])
        bound_item = big["calls_per_item"] * args.latency / args.concurrency
        summary = {
            "stage": name,
            "calls_per_item": big["calls_per_item"],
            "marginal_ms_per_item": round(per_item * 1000, 2),
            "bound_ms_per_item": round(bound_item * 1000, 2),
            "marginal_ratio": round(per_item / bound_item, 3),
            "runs": runs,
        }
        out["results"].append(summary)
        print(
            f"{name}: {summary['calls_per_item']} calls/item; per item {summary['marginal_ms_per_item']} ms vs "
            f"bound {summary['bound_ms_per_item']} ms = {summary['marginal_ratio']}x; whole stage at "
            f"{big['items']:,} items {big['wall_s']} s vs {big['bound_s']} s = {big['ratio_to_bound']}x "
            f"(goal <= 1.1x at {args.concurrency} in flight)"
        )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
