"""Speed of `tagengo extend` against a server with a fixed latency: calls per conversation and
the whole stage against the latency bound.

The server is tests/servers/scripted_extend.py in its own process on 127.0.0.1: it answers every
request (follow-up writer and teacher alike) after ``--latency`` seconds, in the conversation's
language, and every conversation makes distinct requests (an ``ITEM<n>`` tag in its first turn),
so the client deduplicates nothing. A conversation grown to T user turns costs 2 × (T − 1) calls
(a follow-up and its answer per added turn), made in 2 × (T − 1) rounds, so the bound is

    max(calls × latency / concurrency, 2 × (T − 1) × latency)

(every slot always busy, or, for few conversations, the chain of rounds one after the other).
Goal: the whole stage call (reading, LID of every new turn, writing the folder) within 1.1× of
it at 64 in flight. Runs at N and 2N conversations alternate (``--repeats`` rounds, fresh server
and cache each time); min and median are reported, with the load average, since the machine is
shared.

    .venv/bin/python benchmarks/extend_bench.py       # --n 500 --turns 3 --latency 0.2 --concurrency 64
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import load_average  # noqa: E402

from servers.scripted_extend import conversation  # noqa: E402
from tagengo.extend.config import ExtendConfig  # noqa: E402
from tagengo.extend.stage import extend  # noqa: E402

LANGUAGES = ("de", "fr", "es", "ja", "en")


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "servers" / "scripted_extend.py"), "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    return proc, json.loads(proc.stdout.readline())["url"]


def run_once(n: int, turns: int, latency: float, concurrency: int, tmp: Path) -> dict:
    src = tmp / "chats.jsonl"
    with src.open("w") as f:
        for i in range(n):
            f.write(
                json.dumps(conversation(f"c{i}", LANGUAGES[i % len(LANGUAGES)], i), ensure_ascii=False) + "\n"
            )
    proc, url = start_server(latency)
    try:
        cfg = ExtendConfig(
            model="bench", base_url=url, concurrency=concurrency, turns=turns, cache_path=tmp / "cache.sqlite"
        )
        t0, c0 = time.perf_counter(), time.process_time()
        result = extend(src, tmp / "out", cfg, progress=False)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    summary = result.manifest["steps"][0]["summary"]
    calls = sum(m["calls"] for m in summary["models"].values())
    rounds = 2 * (turns - 1)
    bound = max(calls * latency / concurrency, rounds * latency)
    counts = result.manifest["counts"]
    if counts["kept"] != n:
        raise SystemExit(f"expected every conversation kept, got {counts}")
    return {
        "conversations": n,
        "calls": calls,
        "calls_per_conversation": round(calls / n, 2),
        "wall_s": round(wall, 2),
        "bound_s": round(bound, 2),
        "ratio_to_bound": round(wall / bound, 3),
        "cpu_ms_per_call": round(cpu / calls * 1000, 3),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=500, help="conversations of the smaller run (the larger: twice)")
    p.add_argument("--turns", type=int, default=3, help="user turns each conversation grows to")
    p.add_argument("--latency", type=float, default=0.2)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    print(f"before: {load_average()}", file=sys.stderr)
    runs: dict[int, list[dict]] = {args.n: [], 2 * args.n: []}
    for r in range(args.repeats):
        for n in runs:  # interleaved: machine load falls on both sizes alike
            with tempfile.TemporaryDirectory() as tmp:
                fig = run_once(n, args.turns, args.latency, args.concurrency, Path(tmp))
            runs[n].append(fig)
            print(
                f"[round {r + 1}/{args.repeats}] {n} conversations: {fig['wall_s']} s vs bound {fig['bound_s']} s "
                f"= {fig['ratio_to_bound']}x",
                file=sys.stderr,
            )
    after = load_average()
    small, big = runs[args.n], runs[2 * args.n]
    per_conv = [(b["wall_s"] - s["wall_s"]) / args.n for s, b in zip(small, big, strict=True)]
    bound_conv = big[0]["calls_per_conversation"] * args.latency / args.concurrency
    ratios = [f["ratio_to_bound"] for f in big]
    out = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": after},
        "turns": args.turns,
        "latency_s": args.latency,
        "concurrency": args.concurrency,
        "calls_per_conversation": big[0]["calls_per_conversation"],
        "expected_calls_per_conversation": 2 * (args.turns - 1),
        "whole_stage_ratio_min": min(ratios),
        "whole_stage_ratio_median": statistics.median(ratios),
        "marginal_ms_per_conversation_median": round(statistics.median(per_conv) * 1000, 2),
        "bound_ms_per_conversation": round(bound_conv * 1000, 2),
        "runs": runs,
    }
    print(
        f"extend to {args.turns} turns: {out['calls_per_conversation']} calls/conversation "
        f"(2 x (turns - 1) = {out['expected_calls_per_conversation']}); whole stage at {2 * args.n:,} "
        f"conversations {min(f['wall_s'] for f in big)} s min / {statistics.median(f['wall_s'] for f in big)} s "
        f"median vs bound {big[0]['bound_s']} s = {out['whole_stage_ratio_min']}x min, "
        f"{out['whole_stage_ratio_median']}x median (goal <= 1.1x at {args.concurrency} in flight); per "
        f"conversation {out['marginal_ms_per_conversation_median']} ms vs {out['bound_ms_per_conversation']} ms; "
        f"{after}"
    )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
