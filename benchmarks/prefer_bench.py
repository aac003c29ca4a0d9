"""Calls and wall time of `tagengo prefer` against the scripted prefer server on 127.0.0.1
(``tests/servers/scripted_prefer.py``, its own process) with a fixed latency per reply.

P prompts in four languages (one in ten carries GARBLE-ONCE: the judge's first reply has no
ranking and is asked again), answered by N scripted models (plain, best, weak ...), ranked by the
scripted judge.

Bounds:

* calls per prompt: N answers + 1 ranking + the re-asks (one per GARBLE-ONCE prompt), less the
  judge calls the language check saves (a prompt whose answers are all but one in another
  language needs no judge). Measured = server calls / prompts; goal: exactly the bound;
* wall time: the models answer in parallel (one client each, CONCURRENCY calls in flight), then
  the judge: ceil(P / C) + ceil(judged / C) + ceil(re-asked / C) rounds of LATENCY seconds.
  Goal: within 1.2x of it;
* a re-run with --force: every call from the request cache: no server call.

    .venv/bin/python benchmarks/prefer_bench.py --prompts 1000 --models 3 --latency 0.2 --concurrency 32
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import load_average  # noqa: E402

from tagengo.prefer.config import PreferConfig  # noqa: E402
from tagengo.prefer.stage import prefer  # noqa: E402

SERVER = Path(__file__).resolve().parent.parent / "tests" / "servers" / "scripted_prefer.py"
ROLES = ["plain", "best", "weak"]
PROMPTS = {
    "en": "Please explain topic {i} to me in a few sentences.",
    "de": "Wie wird das Wetter morgen, Frage {i}?",
    "fr": "Bonjour, question {i} : que faire ce week-end ?",
    "ja": "質問{i}：明日の天気はどうですか？",
}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _calls(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=10) as r:
        return json.loads(r.read())["calls"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=1000)
    ap.add_argument("--models", type=int, default=3, help="answering models (roles cycle plain, best, weak)")
    ap.add_argument("--latency", type=float, default=0.2, help="seconds per reply")
    ap.add_argument("--concurrency", type=int, default=32, help="calls in flight per client")
    args = ap.parse_args()

    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).resolve().parent.parent / "src"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    server = subprocess.Popen(
        [sys.executable, str(SERVER), "--port", str(port), "--latency", str(args.latency)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        server.stdout.readline()  # printed once it listens
        url = f"http://127.0.0.1:{port}/v1"
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            langs = list(PROMPTS)
            rows = []
            for i in range(args.prompts):
                lang = langs[i % len(langs)]
                text = PROMPTS[lang].format(i=i) + (" GARBLE-ONCE" if i % 10 == 3 else "")
                rows.append({"id": f"p{i:05d}", "language": lang, "prompt": text})
            src = root / "prompts.jsonl"
            src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
            llm = {
                "backend": "openai",
                "base_url": url,
                "concurrency": args.concurrency,
                "cache_path": str(root / "cache.sqlite"),
            }
            models = [
                {
                    "name": f"{ROLES[k % 3]}-{k}",
                    "system_prompt": f"ROLE={ROLES[k % 3]}",
                    "llm": {**llm, "model": f"m{k}"},
                }
                for k in range(args.models)
            ]
            cfg = PreferConfig(models=models, judge={**llm, "model": "judge"}, per_language=args.prompts)

            # A warm-up run on a few other prompts pays the one-off costs (imports, lid.176, the
            # funnel chart's matplotlib) before the clock starts.
            warmup = root / "warmup.jsonl"
            warmup.write_text(
                "".join(
                    json.dumps(
                        {**r, "id": "w" + r["id"], "prompt": "warm-up " + r["prompt"]}, ensure_ascii=False
                    )
                    + "\n"
                    for r in rows[:8]
                )
            )
            prefer(warmup, root / "warmup-out", cfg, progress=False)

            before = _calls(port)
            t0, cpu0 = time.perf_counter(), time.process_time()
            result = prefer(src, root / "out", cfg, progress=False)
            cold_s, cold_cpu = time.perf_counter() - t0, time.process_time() - cpu0
            cold_calls = _calls(port) - before
            rank = next(s for s in result.manifest["steps"] if s["name"] == "rank")["summary"]

            t0, cpu0 = time.perf_counter(), time.process_time()
            prefer(src, root / "out", cfg, progress=False, force=True)
            warm_s, warm_cpu = time.perf_counter() - t0, time.process_time() - cpu0
            warm_calls = _calls(port) - before - cold_calls
    finally:
        server.terminate()
        server.wait(10)

    p, c = args.prompts, args.concurrency
    judged = rank["judge_calls"] - rank["reasks"]
    bound_calls = args.models * p + judged + rank["reasks"]
    bound_s = (math.ceil(p / c) + math.ceil(judged / c) + math.ceil(rank["reasks"] / c)) * args.latency
    figures = {
        "prompts": p,
        "models": args.models,
        "latency_s": args.latency,
        "concurrency": c,
        "calls": cold_calls,
        "calls_per_prompt": round(cold_calls / p, 3),
        "bound_calls_per_prompt": round(bound_calls / p, 3),
        "judge_calls": rank["judge_calls"],
        "reasks": rank["reasks"],
        "wrong_language_answers": rank["wrong_language_answers"],
        "kept": result.manifest["counts"]["kept"],
        "pairs": result.manifest.get("pairs", {}).get("pairs"),
        "cold_s": round(cold_s, 3),
        "bound_s": round(bound_s, 3),
        "ratio_to_bound": round(cold_s / bound_s, 3),
        "ratio_to_bound_less_fixed": round((cold_s - warm_s) / bound_s, 3),
        "cold_cpu_s": round(cold_cpu, 3),
        "cpu_ms_per_call": round(1000 * cold_cpu / max(cold_calls, 1), 2),
        "warm_cpu_s": round(warm_cpu, 3),
        "warm_s": round(warm_s, 3),
        "warm_calls": warm_calls,
        "load_average": load_average(),
    }
    print(json.dumps(figures, indent=2))
    print(
        f"calls: {cold_calls / p:.3f} per prompt, bound {bound_calls / p:.3f} "
        f"({args.models} answers + {judged / p:.3f} rankings + {rank['reasks'] / p:.3f} re-asks); "
        f"goal equal: {'met' if cold_calls == bound_calls else 'MISSED'}"
    )
    print(
        f"wall: {cold_s:.2f} s, {cold_s / bound_s:.2f}x the bound {bound_s:.2f} s; "
        f"goal <= 1.2x: {'met' if cold_s <= 1.2 * bound_s else 'MISSED'}"
    )
    print(
        f"re-run with --force: {warm_s:.2f} s, {warm_calls} calls; goal no calls: {'met' if warm_calls == 0 else 'MISSED'}"
    )
    print(f"load average: {load_average()}")


if __name__ == "__main__":
    main()
