"""Speed of `tagengo generate`, end to end as a user runs it, against what a user would write instead.

1. End to end: the `tagengo generate` CLI in its own process on a JSONL of N prompts, against a
   local OpenAI-compatible server (tests/servers/fake_chat_server.py, its own process) that
   answers every request after a fixed latency, at concurrency C. Everything a user waits for
   counts: interpreter start, imports, reading, the calls, the request cache, writing the dataset
   folder (Parquet, manifest, funnel, language chart). In the same run, interleaved round by
   round (benchmarks/peers.py), the peers on the same prompts and server, each in its own
   virtualenv with pinned versions from PyPI:
   * ``threadpool``: ThreadPoolExecutor(C) + one httpx.Client (benchmarks/peer_scripts/chat_threadpool.py);
   * ``openai-async``: the official AsyncOpenAI client + asyncio.Semaphore(C)
     (benchmarks/peer_scripts/chat_openai_async.py).
   Both read the same prompts and write JSONL answers (no cache, no resume, no retry policy of
   their own). The bound is N x latency / C (every slot always busy). Goals (issue 15): tagengo
   no slower than the thread-pool script at 2,000 requests, within 1.1x of the bound at 5,000.
2. In-process llama.cpp (``--llama``): output tokens/s through the client vs bare
   ``Llama.create_chat_completion`` calls on the same prompts; goal >= 0.9x.

    .venv/bin/python benchmarks/generate_bench.py                         # 2,000 and 5,000, 3 rounds
    .venv/bin/python benchmarks/generate_bench.py --sizes 2000 --repeats 1
    .venv/bin/python benchmarks/generate_bench.py --sizes 0 --llama       # the llama.cpp part only
    .venv/bin/python benchmarks/generate_bench.py --sizes 2000 --peers threadpool --timeline
        # also where tagengo's time went: first call, last answer, folder written, process gone
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
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

REPO = Path(__file__).resolve().parent.parent
#: The fake server is a test server (tests/servers/), run as a script in its own process.
FAKE_SERVER = REPO / "tests" / "servers" / "fake_chat_server.py"
PEER_SCRIPTS = Path(__file__).resolve().parent / "peer_scripts"
#: Runs the `tagengo` program noting its moments (--timeline).
TIMELINE = Path(__file__).resolve().parent / "generate_timeline.py"
#: The moments generate_timeline.py notes, in their order.
MOMENTS = ("first call", "last answer", "folder written", "process gone")
#: Pinned so figures compare run to run; the newest releases on PyPI when this was written.
HTTPX = "httpx==0.28.1"
OPENAI = "openai==3.57.0"
LANGUAGES = ["en", "ja", "de", "zh", "fr"]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_prompts(path: Path, n: int) -> Path:
    """N prompts in five languages, in the plain-prompt JSONL format both tagengo and the peers read."""
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            row = {
                "id": f"p{i:06d}",
                "prompt": f"Benchmark prompt {i}: explain one idea in a few sentences.",
                "language": LANGUAGES[i % len(LANGUAGES)],
            }
            f.write(json.dumps(row) + "\n")
    return path


class FakeServer:
    """tests/servers/fake_chat_server.py in its own process (a real HTTP server on 127.0.0.1)."""

    def __init__(self, latency: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(FAKE_SERVER), "--port", "0", "--latency", str(latency)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = json.loads(self.proc.stdout.readline())["url"]

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _count_rows(out: Path) -> int:
    """Rows written, kept and rejected: the fake server answers in English whatever the row's
    language, so the language gate (on by default since e9610ca) rejects the four fifths of rows
    labelled otherwise, with its reason, as it would a real teacher's wrong-language answers."""
    import pyarrow.parquet as pq

    return sum(
        pq.read_metadata(f).num_rows for d in ("data", "rejected") for f in (out / d).glob("part-*.parquet")
    )


def _src_env(src: Path) -> dict[str, str]:
    """The environment that runs tagengo from the source tree ``src``."""
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")]))}


def contenders(
    root: Path,
    prompts: Path,
    n: int,
    url: str,
    concurrency: int,
    max_tokens: int,
    peers: list[str],
    variants: list[tuple[str, dict[str, str]]] = (),
    timeline: bool = False,
) -> list[Contender]:
    """tagengo's CLI, its ``variants`` (name, environment: another source tree) and the two peers, each run in a fresh output folder (and, for tagengo, a fresh
    request cache: every round makes every call). ``timeline``: tagengo runs through
    generate_timeline.py, and each round's moments are kept on its figures (``.moments``)."""
    env = _src_env(REPO / "src")
    common = [
        "--base-url",
        url,
        "--model",
        "bench",
        "--concurrency",
        str(concurrency),
        "--max-tokens",
        str(max_tokens),
    ]
    rounds = {"n": 0}

    def fresh(name: str) -> Path:
        rounds["n"] += 1
        return root / f"{name}-{rounds['n']}"

    def tagengo(env: dict[str, str]):
        def run() -> object:
            out = fresh("tagengo")
            moments = Path(str(out) + ".timeline.json")
            program = [str(TIMELINE), str(moments)] if timeline else ["-m", "tagengo.cli"]
            cmd = [sys.executable, *program, "generate", "--input", str(prompts), "--out", str(out)]
            fig = timed_run([*cmd, *common, "--cache-path", str(out) + ".sqlite"], env=env)
            got = _count_rows(out)
            assert got == n, f"tagengo wrote {got} of {n} rows: {fig.stderr[-2000:]}"
            if timeline:
                fig.moments = json.loads(moments.read_text())  # type: ignore[attr-defined]
            return fig

        return run

    def peer(name: str, python: Path, script: str):
        def run() -> object:
            out = fresh(name)
            cmd = [python, PEER_SCRIPTS / script, "--input", prompts, "--out", out, *common]
            fig = timed_run(cmd)
            got = sum(1 for _ in out.open())
            assert got == n, f"{name} wrote {got} of {n} answers"
            return fig

        return Contender(name, run)

    out = [Contender("tagengo generate", tagengo(env))]
    out += [Contender(name, tagengo(v_env)) for name, v_env in variants]
    if "threadpool" in peers:
        out.append(peer("threadpool", peer_python("chat-threadpool", [HTTPX]), "chat_threadpool.py"))
    if "openai-async" in peers:
        out.append(peer("openai-async", peer_python("chat-openai", [OPENAI, HTTPX]), "chat_openai_async.py"))
    return out


def bench_end_to_end(
    n: int,
    latency: float,
    concurrency: int,
    max_tokens: int,
    repeats: int,
    peers: list[str],
    variants: list[tuple[str, dict[str, str]]] = (),
    timeline: bool = False,
) -> dict:
    compile_package(REPO / "src" / "tagengo")  # as installed: bytecode on disk
    for _, v_env in variants:
        compile_package(Path(v_env["PYTHONPATH"].split(os.pathsep)[0]) / "tagengo")
    server = FakeServer(latency)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            prompts = write_prompts(root / f"prompts-{n}.jsonl", n)
            load_before = load_average()
            results = interleaved(
                contenders(root, prompts, n, server.url, concurrency, max_tokens, peers, variants, timeline),
                repeats,
            )
            load_after = load_average()
    finally:
        server.close()
    ideal = n * latency / concurrency
    rows = summarise(results, ideal)
    for row, c in zip(rows, results, strict=True):
        if all(hasattr(r, "moments") for r in c.results):
            row["timeline_median_s"] = {
                m: round(statistics.median(r.moments[m] for r in c.results), 2) for m in MOMENTS
            }
    return {
        "requests": n,
        "latency_s": latency,
        "concurrency": concurrency,
        "ideal_s": round(ideal, 3),
        "repeats": repeats,
        "load_before": load_before,
        "load_after": load_after,
        "contenders": rows,
    }


def print_end_to_end(r: dict) -> None:
    print(
        f"\n{r['requests']:,} requests, {r['latency_s'] * 1000:.0f} ms latency, {r['concurrency']} in flight: "
        f"ideal {r['ideal_s']:.2f} s (N x latency / concurrency); min / median of {r['repeats']}, interleaved"
    )
    print(f"  {r['load_before']} (before), {r['load_after']} (after)")
    print_summary(r["contenders"])
    timed = [c for c in r["contenders"] if "timeline_median_s" in c]
    if timed:
        print(f"  timeline, s since the process started (median of {r['repeats']}):")
        print(f"  {'contender':<22} " + " ".join(f"{m:>15}" for m in MOMENTS) + f" {'calls':>7} {'after':>7}")
        for c in timed:
            t = c["timeline_median_s"]
            calls, after = t["last answer"] - t["first call"], t["process gone"] - t["last answer"]
            print(
                f"  {c['name']:<22} "
                + " ".join(f"{t[m]:>15.2f}" for m in MOMENTS)
                + f" {calls:>7.2f} {after:>7.2f}"
            )
    ours = r["contenders"][0]
    pool = next((c for c in r["contenders"] if c["name"] == "threadpool"), None)
    if pool is not None:
        print(
            f"  goal tagengo <= threadpool: {'met' if ours['wall_min_s'] <= pool['wall_min_s'] else 'MISSED'} "
            f"(min {pool['ours_over_this_min']:.3f}x, median {pool['ours_over_this_median']:.3f}x)"
        )
    print(
        f"  goal tagengo <= 1.1x ideal: {'met' if ours['ratio_to_bound_min'] <= 1.1 else 'MISSED'} "
        f"(min {ours['ratio_to_bound_min']:.3f}x, median {ours['ratio_to_bound_median']:.3f}x)"
    )


PROMPTS = [
    "Explain why the sky is blue.",
    "Write a short poem about the sea.",
    "What are three uses of a paperclip?",
    "Describe how to make a cup of tea.",
    "Why do cats purr?",
    "Give advice for a first job interview.",
    "What is photosynthesis?",
    "Summarise the plot of a detective story.",
]


def bench_llama(max_tokens: int, rounds: int, n_threads: int | None) -> dict:

    from tagengo.llm import ChatRequest, LLMConfig, build_client
    from tagengo.llm.backends.llamacpp import bundled_gguf, load_llama

    path = bundled_gguf()
    # The same load parameters as the backend (no extra buffer types), so the two are comparable.
    bare_llm = load_llama(path, n_ctx=1024, n_threads=n_threads)
    cfg = LLMConfig(backend="llamacpp", n_ctx=1024, n_threads=n_threads, cache=False)
    reqs = [
        ChatRequest.from_messages([{"role": "user", "content": p}], max_tokens=max_tokens) for p in PROMPTS
    ]

    def bare() -> tuple[int, float]:
        t = time.perf_counter()
        toks = 0
        for r in reqs:
            out = bare_llm.create_chat_completion(
                messages=r.message_dicts(), temperature=0.0, max_tokens=max_tokens
            )
            toks += out["usage"]["completion_tokens"]
        return toks, time.perf_counter() - t

    with build_client(cfg) as client:

        def ours() -> tuple[int, float]:
            t = time.perf_counter()
            out = client.chat_many(reqs)
            return sum(r.output_tokens for r in out), time.perf_counter() - t

        client.chat_many(reqs[:1])  # load the weights, warm the page cache
        bare_llm.create_chat_completion(messages=reqs[0].message_dicts(), max_tokens=4)
        bare_rates, our_rates = [], []
        for _ in range(rounds):  # interleaved, so load on the machine hits both alike
            toks, dt = bare()
            bare_rates.append(toks / dt)
            toks, dt = ours()
            our_rates.append(toks / dt)
    bare_tps, our_tps = statistics.median(bare_rates), statistics.median(our_rates)
    return {
        "model": path.name,
        "prompts": len(reqs),
        "max_tokens": max_tokens,
        "rounds": rounds,
        "bare_tokens_per_s": round(bare_tps, 1),
        "client_tokens_per_s": round(our_tps, 1),
        "ratio": round(our_tps / bare_tps, 3),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="2000,5000", help="request counts, comma-separated (0: none)")
    p.add_argument("--latency", type=float, default=0.2)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3, help="interleaved rounds per size")
    p.add_argument("--peers", default="threadpool,openai-async", help="peers to run, comma-separated")
    p.add_argument(
        "--baseline-src",
        type=Path,
        help="also run tagengo from this copy of src/ (an older version), interleaved with this one",
    )
    p.add_argument(
        "--timeline",
        action="store_true",
        help="note when tagengo's first call left, its last answer came, its folder was written and it ended",
    )
    p.add_argument("--llama", action="store_true", help="also measure the in-process llama.cpp backend")
    p.add_argument("--rounds", type=int, default=3, help="llama.cpp part: interleaved rounds")
    p.add_argument("--n-threads", type=int, default=None)
    a = p.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB; python {platform.python_version()}; {load_average()}"
    )
    variants = [] if a.baseline_src is None else [("tagengo baseline", _src_env(a.baseline_src.resolve()))]
    peers = [p for p in a.peers.split(",") if p]
    for n in (int(s) for s in a.sizes.split(",") if int(s) > 0):
        r = bench_end_to_end(
            n, a.latency, a.concurrency, a.max_tokens, a.repeats, peers, variants, a.timeline
        )
        print_end_to_end(r)
        print(json.dumps({"end_to_end": r}))
    if a.llama:
        ll = bench_llama(a.max_tokens, a.rounds, a.n_threads)
        print(
            f"llama.cpp in-process ({ll['model']}, {ll['prompts']} prompts x {ll['max_tokens']} tokens, "
            f"median of {ll['rounds']}): bare {ll['bare_tokens_per_s']:.1f} tok/s, client "
            f"{ll['client_tokens_per_s']:.1f} tok/s -> {ll['ratio']:.3f}x (goal >= 0.9); peak RSS {ll['peak_rss_mb']:.0f} MB"
        )
        print(json.dumps({"llama": ll}))


if __name__ == "__main__":
    main()
