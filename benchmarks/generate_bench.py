"""Speed of the LLM client layer (what `tagengo generate` spends besides the model's time).

1. HTTP: N requests to a local OpenAI-compatible server (tests/servers/fake_chat_server.py, its own
   process) that answers after a fixed latency, at concurrency C. The bound is
   N x latency / C (every slot always busy); goal: wall time within 1.1x of it, and client
   CPU per request <= 0.5 ms (the whole client process: event loop, JSON, SQLite cache).
   Then the same N again, replayed from the cache.
2. In-process llama.cpp: output tokens/s through the client vs bare
   ``Llama.create_chat_completion`` calls on the same prompts; goal >= 0.9x.

    .venv/bin/python benchmarks/generate_bench.py                 # both parts, full size
    .venv/bin/python benchmarks/generate_bench.py --n 1000 --skip-llama
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from tagengo.llm import ChatRequest, LLMConfig, build_client

#: The fake server is a test server (tests/servers/), run as a script in its own process.
FAKE_SERVER = Path(__file__).resolve().parent.parent / "tests" / "servers" / "fake_chat_server.py"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_http(n: int, latency: float, concurrency: int) -> dict:
    server = subprocess.Popen(
        [sys.executable, str(FAKE_SERVER), "--port", "0", "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(server.stdout.readline())
        with tempfile.TemporaryDirectory() as tmp:
            cfg = LLMConfig(
                model="bench",
                base_url=info["url"],
                concurrency=concurrency,
                cache_path=Path(tmp) / "c.sqlite",
            )

            def prompts(tag: str, k: int) -> list[ChatRequest]:
                return [
                    ChatRequest.from_messages(
                        [{"role": "user", "content": f"{tag} prompt number {i}"}], max_tokens=64
                    )
                    for i in range(k)
                ]

            reqs = prompts("benchmark", n)
            with build_client(cfg) as client:
                client.chat_many(prompts("warm-up", concurrency))  # open the connections first
                cpu0, t0 = time.process_time(), time.perf_counter()
                out = client.chat_many(reqs)
                wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
                failed = sum(not r.ok for r in out)
                cpu1, t1 = time.process_time(), time.perf_counter()
                replay = client.chat_many(reqs)
                replay_wall, replay_cpu = time.perf_counter() - t1, time.process_time() - cpu1
                assert all(r.cached for r in replay)
        ideal = n * latency / concurrency
        return {
            "requests": n,
            "latency_s": latency,
            "concurrency": concurrency,
            "failed": failed,
            "wall_s": round(wall, 3),
            "ideal_s": round(ideal, 3),
            "ratio_to_ideal": round(wall / ideal, 3),
            "requests_per_s": round(n / wall, 1),
            "client_cpu_ms_per_request": round(cpu / n * 1000, 3),
            "cache_replay_requests_per_s": round(n / replay_wall, 1),
            "cache_replay_cpu_ms_per_request": round(replay_cpu / n * 1000, 4),
            "peak_rss_mb": round(_peak_rss_mb(), 1),
        }
    finally:
        server.terminate()
        server.wait(timeout=10)


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
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--latency", type=float, default=0.2)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--n-threads", type=int, default=None)
    p.add_argument("--skip-http", action="store_true")
    p.add_argument("--skip-llama", action="store_true")
    a = p.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, load {psutil.getloadavg()[0]:.1f}; python {platform.python_version()}"
    )
    if not a.skip_http:
        h = bench_http(a.n, a.latency, a.concurrency)
        print(
            f"http: {h['requests']} requests, {h['latency_s'] * 1000:.0f} ms latency, concurrency {h['concurrency']}: "
            f"{h['wall_s']:.2f} s vs ideal {h['ideal_s']:.2f} s -> {h['ratio_to_ideal']:.3f}x (goal <= 1.1); "
            f"{h['requests_per_s']:.0f} req/s; client CPU {h['client_cpu_ms_per_request']:.3f} ms/request (goal <= 0.5); "
            f"failed {h['failed']}"
        )
        print(
            f"cache replay: {h['cache_replay_requests_per_s']:,.0f} req/s, "
            f"{h['cache_replay_cpu_ms_per_request']:.4f} ms CPU/request; peak RSS {h['peak_rss_mb']:.0f} MB"
        )
        print(json.dumps({"http": h}))
    if not a.skip_llama:
        ll = bench_llama(a.max_tokens, a.rounds, a.n_threads)
        print(
            f"llama.cpp in-process ({ll['model']}, {ll['prompts']} prompts x {ll['max_tokens']} tokens, "
            f"median of {ll['rounds']}): bare {ll['bare_tokens_per_s']:.1f} tok/s, client "
            f"{ll['client_tokens_per_s']:.1f} tok/s -> {ll['ratio']:.3f}x (goal >= 0.9); peak RSS {ll['peak_rss_mb']:.0f} MB"
        )
        print(json.dumps({"llama": ll}))


if __name__ == "__main__":
    main()
