"""Judging speed of `tagengo bench judge`, against a scripted judge on 127.0.0.1 with a fixed latency.

1. Throughput: N single-grading verdicts with every reply taking LATENCY seconds and at most
   CONCURRENCY calls in flight. The bound is N x LATENCY / CONCURRENCY (the server is never the
   bottleneck); goal: within 1.1x of it.
2. Warm re-run: the same verdicts judged again with --rejudge, so every request goes through
   the client and is answered by the request cache; goal: no calls, <= 2 s for 500 verdicts.
3. Resume: the same command without --rejudge (verdicts kept from the file: each one's request
   key is recomputed and compared), for reference.
4. A second run (--runs 2): run 1 is kept, run 2 is a new sample (sample index 1 in every
   request key), so it must make one call per verdict, none from the cache.
5. End to end against peers (issue 15; ``--peers``, default the thread-pool script): the
   `tagengo bench judge` CLI in its own process (a fresh request cache each round, --rejudge)
   against what a user would write instead, sending the very same judge requests (read back
   from the request cache of step 1) to the same server and writing JSONL verdicts:
   ``threadpool`` (ThreadPoolExecutor + httpx) and ``openai-async`` (AsyncOpenAI + semaphore),
   each in its own virtualenv (benchmarks/peers.py, benchmarks/peer_scripts/), interleaved
   round by round. Same bound as step 1.

    .venv/bin/python benchmarks/bench_bench.py --verdicts 500 --latency 0.2 --concurrency 32
    .venv/bin/python benchmarks/bench_bench.py --verdicts 2000 --latency 0.2 --concurrency 64 \
        --peers threadpool,openai-async --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil
from peers import (
    Contender,
    compile_package,
    interleaved,
    load_average,
    peer_python,
    print_summary,
    summarise,
    timed_run,
)

from tagengo.bench.config import JudgeConfig
from tagengo.bench.judge import judge_bench
from tagengo.io.bench_layout import open_bench
from tagengo.io.fastchat import Answer, Question, write_answers, write_questions
from tagengo.llm import LLMConfig, build_client

CATS = ["writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities"]


def make_bench(root: Path, verdicts: int, models: int) -> Path:
    """A bench with enough two-turn questions that models x questions x 2 turns >= verdicts."""
    n_q = -(-verdicts // (2 * models))
    bench = root / "mt_bench"
    questions = [
        Question(
            i + 1,
            CATS[i % 8],
            [
                f"Question {i + 1}: explain topic {i} in a few sentences.",
                f"Follow-up {i + 1}: now shorten it.",
            ],
            [f"Reference {i}", f"Short reference {i}"]
            if CATS[i % 8] in ("math", "reasoning", "coding")
            else None,
        )
        for i in range(n_q)
    ]
    write_questions(bench / "question.jsonl", questions)
    for m in range(models):
        write_answers(
            bench / "model_answer" / f"model-{m}.jsonl",
            [
                Answer(
                    q.question_id,
                    f"model-{m}",
                    [{"index": 0, "turns": [f"Answer {m}/{q.question_id} " * 40, f"Shorter {m}"]}],
                )
                for q in questions
            ],
        )
    return bench


REPO = Path(__file__).resolve().parent.parent
SCRIPTED_JUDGE = REPO / "tests" / "servers" / "scripted_judge.py"
PEER_SCRIPTS = Path(__file__).resolve().parent / "peer_scripts"
#: The same pins as benchmarks/generate_bench.py.
HTTPX = "httpx==0.28.1"
OPENAI = "openai==3.57.0"


class ServerProcess:
    """``tests/servers/scripted_judge.py`` (a test server, run as a script) on a free port; counts
    calls via /stats."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> ServerProcess:
        cmd = [
            sys.executable,
            str(SCRIPTED_JUDGE),
            "--port",
            str(self.port),
            "--latency",
            str(self.latency),
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.proc.stdout.readline()  # "scripted judge at ..." once it listens
        return self

    def stats(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=10) as r:
            return json.loads(r.read())

    @property
    def calls(self) -> int:
        return self.stats()["calls"]

    @property
    def max_in_flight(self) -> int:
        return self.stats()["max_in_flight"]

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _snapshot(src: Path, dst: Path) -> None:
    import sqlite3

    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        a.backup(b)
    finally:
        a.close()
        b.close()


def judge_requests(cache: Path, out: Path) -> tuple[int, int]:
    """The judge requests tagengo sent (canonical JSON in the request cache) as peer input lines
    ``{"id", "messages"}``; returns (how many, their max_tokens)."""
    import sqlite3

    db = sqlite3.connect(cache)
    try:
        requests = [json.loads(r) for (r,) in db.execute("SELECT request FROM responses ORDER BY key")]
    finally:
        db.close()
    with out.open("w", encoding="utf-8") as f:
        for i, req in enumerate(requests):
            f.write(json.dumps({"id": i, "messages": req["messages"]}, ensure_ascii=False) + "\n")
    return len(requests), max(r["max_tokens"] for r in requests)


def peers_end_to_end(
    root: Path, bench_dir: Path, server: ServerProcess, args: argparse.Namespace, cfg: JudgeConfig
) -> dict:
    """Step 5: the CLI against the peers, interleaved; the figures and the summary rows."""
    compile_package(REPO / "src" / "tagengo")  # as installed: bytecode on disk
    prompts = root / "judge-requests.jsonl"
    n, max_tokens = judge_requests(root / "cold-cache.sqlite", prompts)
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))}
    rounds = {"n": 0}

    def fresh(name: str) -> Path:
        rounds["n"] += 1
        return root / f"{name}-{rounds['n']}"

    def tagengo() -> object:
        cache = fresh("cli-cache").with_suffix(".sqlite")
        cmd = [sys.executable, "-m", "tagengo.cli", "bench", "judge", str(bench_dir), "--language", "en"]
        cmd += [
            "--judge-backend",
            "openai",
            "--judge-model",
            "scripted-judge",
            "--judge-base-url",
            server.url,
        ]
        cmd += ["--judge-concurrency", str(args.concurrency), "--judge-cache-path", str(cache)]
        cmd += ["--models", ",".join(cfg.models), "--limit", str(cfg.limit), "--rejudge", "--no-progress"]
        calls = server.calls
        fig = timed_run(cmd, env=env)
        made = server.calls - calls
        assert made == n, f"tagengo bench judge made {made} calls, {n} expected: {fig.stderr[-2000:]}"
        return fig

    def peer(name: str, python: Path, script: str) -> Contender:
        def run() -> object:
            out = fresh(name)
            cmd = [python, PEER_SCRIPTS / script, "--input", prompts, "--out", out, "--base-url", server.url]
            cmd += [
                "--model",
                "scripted-judge",
                "--concurrency",
                args.concurrency,
                "--max-tokens",
                max_tokens,
            ]
            fig = timed_run(cmd)
            got = sum(1 for _ in out.open())
            assert got == n, f"{name} wrote {got} of {n} verdicts"
            return fig

        return Contender(name, run)

    contenders = [Contender("tagengo bench judge", tagengo)]
    if "threadpool" in args.peers:
        contenders.append(peer("threadpool", peer_python("chat-threadpool", [HTTPX]), "chat_threadpool.py"))
    if "openai-async" in args.peers:
        contenders.append(
            peer("openai-async", peer_python("chat-openai", [OPENAI, HTTPX]), "chat_openai_async.py")
        )
    load_before = load_average()
    results = interleaved(contenders, args.repeats)
    bound = n * args.latency / args.concurrency
    return {
        "verdicts": n,
        "bound_s": round(bound, 3),
        "repeats": args.repeats,
        "load_before": load_before,
        "load_after": load_average(),
        "contenders": summarise(results, bound),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--verdicts", type=int, default=500, help="single-grading verdicts to judge")
    ap.add_argument("--models", type=int, default=2)
    ap.add_argument("--latency", type=float, default=0.2, help="seconds per judge reply")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument(
        "--no-cache-pass",
        action="store_true",
        help="also time a cold pass with the request cache off (separates the cache's cost from ours)",
    )
    ap.add_argument(
        "--peers",
        default="threadpool",
        help="step 5: peers to run against the CLI, comma-separated (threadpool, openai-async; none: skip)",
    )
    ap.add_argument("--repeats", type=int, default=3, help="step 5: interleaved rounds")
    args = ap.parse_args()

    proc = psutil.Process()
    # The judge runs in its own process, as a real judge server would: sharing this process's
    # GIL with the client would charge the server's CPU to the client.
    with tempfile.TemporaryDirectory() as tmp, ServerProcess(args.latency) as server:
        root = Path(tmp)
        bench = open_bench(make_bench(root, args.verdicts, args.models), "en")
        llm = LLMConfig(
            backend="openai",
            model="scripted-judge",
            base_url=server.url,
            concurrency=args.concurrency,
            cache_path=root / "cache.sqlite",
        )
        cfg = JudgeConfig(judge=llm)
        per_model = len(bench.questions) * 2
        # Cut the last questions so exactly --verdicts verdicts are asked.
        models = [f"model-{m}" for m in range(args.models)]
        cfg = cfg.model_copy(update={"models": models, "limit": -(-args.verdicts // (2 * len(models)))})
        n = min(args.verdicts, per_model * len(models))

        with build_client(llm) as client:
            t0 = time.perf_counter()
            (cold,) = judge_bench(bench, cfg, client)
            cold_s = time.perf_counter() - t0
        calls_cold = server.calls
        _snapshot(root / "cache.sqlite", root / "cold-cache.sqlite")  # step 5 replays these requests

        nocache_s = None
        if args.no_cache_pass:
            off = llm.model_copy(update={"cache": False})
            with build_client(off) as client:
                t0 = time.perf_counter()
                judge_bench(bench, cfg.model_copy(update={"rejudge": True, "judge_name": "nocache"}), client)
                nocache_s = time.perf_counter() - t0
            calls_cold = server.calls

        with build_client(llm) as client:  # a fresh client: only the SQLite cache carries over
            t0 = time.perf_counter()
            (warm,) = judge_bench(bench, cfg.model_copy(update={"rejudge": True}), client)
            warm_s = time.perf_counter() - t0
        calls_warm = server.calls - calls_cold

        with build_client(llm) as client:
            t0 = time.perf_counter()
            (kept,) = judge_bench(bench, cfg, client)
            kept_s = time.perf_counter() - t0
        calls_kept = server.calls - calls_cold - calls_warm

        with build_client(llm) as client:
            t0 = time.perf_counter()
            _, run2 = judge_bench(bench, cfg.model_copy(update={"runs": 2}), client)
            run2_s = time.perf_counter() - t0
        calls_run2 = server.calls - calls_cold - calls_warm - calls_kept
        max_in_flight = server.max_in_flight
        args.peers = [p for p in args.peers.split(",") if p and p != "none"]
        e2e = peers_end_to_end(root, bench.path, server, args, cfg) if args.peers else None

    bound = cold.judged * args.latency / args.concurrency
    figures = {
        "verdicts": cold.judged,
        "latency_s": args.latency,
        "concurrency": args.concurrency,
        "cold_s": round(cold_s, 3),
        "cold_verdicts_per_s": round(cold.judged / cold_s, 1),
        "bound_s": round(bound, 3),
        "ratio_to_bound": round(cold_s / bound, 3),
        "server_max_in_flight": max_in_flight,
        "cold_no_cache_s": None if nocache_s is None else round(nocache_s, 3),
        "warm_rejudge_s": round(warm_s, 3),
        "warm_calls": calls_warm,
        "warm_cached": warm.cached_calls,
        "resume_s": round(kept_s, 3),
        "resume_calls": calls_kept,
        "resume_kept": kept.kept,
        "run2_s": round(run2_s, 3),
        "run2_calls": calls_run2,
        "run2_cached": run2.cached_calls,
        "peak_rss_mib": round(proc.memory_info().rss / 2**20, 1),
    }
    assert n == cold.judged, (n, cold.judged)
    print(json.dumps(figures, indent=2))
    print(
        f"cold: {cold.judged} verdicts in {cold_s:.2f} s ({cold.judged / cold_s:.0f}/s), "
        f"{cold_s / bound:.2f}x the bound {bound:.2f} s (= {cold.judged} x {args.latency} s / {args.concurrency}); "
        f"goal <= 1.1x: {'met' if cold_s <= 1.1 * bound else 'MISSED'}"
    )
    if nocache_s is not None:
        print(f"cold with the request cache off: {nocache_s:.2f} s, {nocache_s / bound:.2f}x the bound")
    print(
        f"warm re-run (--rejudge): {warm_s:.2f} s, {calls_warm} calls, {warm.cached_calls} from cache; "
        f"goal no calls and <= 2 s: {'met' if calls_warm == 0 and warm_s <= 2 else 'MISSED'}"
    )
    print(f"resume (verdicts kept from the file): {kept_s:.2f} s, {calls_kept} calls")
    print(
        f"second run (--runs 2, a new sample): {run2_s:.2f} s, {calls_run2} calls, {run2.cached_calls} from "
        f"cache; goal one call per verdict: {'met' if calls_run2 == cold.judged and run2.cached_calls == 0 else 'MISSED'}"
    )
    if e2e is not None:
        print(
            f"\nend to end, the CLI in its own process vs peers: {e2e['verdicts']} verdicts, bound "
            f"{e2e['bound_s']:.2f} s; min / median of {e2e['repeats']}, interleaved"
        )
        print(f"  {e2e['load_before']} (before), {e2e['load_after']} (after)")
        print_summary(e2e["contenders"])
        print(json.dumps({"end_to_end": e2e}))


if __name__ == "__main__":
    main()
