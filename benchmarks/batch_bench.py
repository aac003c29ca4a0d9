"""The batch backend (``--batch``): what a batch round trip costs tagengo, and what it saves.

1. Round trip: N requests (default 10,000, in five languages) through ``LLMClient.chat_many`` with
   ``--batch`` against the scripted Batch API (tests/servers/batch_api.py, in its own process, real
   HTTP on 127.0.0.1): request lines written and split, uploaded, batch created, polled, output
   downloaded, every line parsed by the online backend's parser, normalised, priced and stored in
   the request cache. Reported: wall time by phase, with the time spent waiting for the "provider"
   (``--batch-poll-s`` sleeps) apart from the time tagengo spends; CPU seconds of this process (the
   server runs in another); peak memory (RSS) above what the process held before the call; and, with
   ``--online``, the same requests answered online (concurrency 64) for comparison.
2. Cost: what the round trip's accounting says the N answers cost at the batch price against the
   online price of the same tokens, and the projection for Tagengo's 76,000 prompts (arXiv
   2405.12612) from the price table (``--prices`` YAML, ``prices:`` / ``batch_prices:`` as in a stage
   config; default: gpt-4o's list price, 2.50 / 10.00 USD per million input / output tokens, batch at
   ``--batch-discount`` of it), mean prompt tokens measured on the bundled chat-log sample (o200k)
   and ``--answer-tokens`` per answer (an assumption: the paper does not give it).

3. ``--route``: the routing table of a scripted scenario (tests/route/test_route.py's: two
   teachers priced 2.50/10.00 and 1.00/5.00, a judge preferring the first in English and German,
   the second in Japanese, neither in French), and what 76,000 prompts spread evenly over those
   languages would cost routed against all sent to one teacher, from the table's cost per answer.
   The scripted answers are short: the figures show what the table reports, not real prices.

    .venv/bin/python benchmarks/batch_bench.py                   # 10,000 requests
    .venv/bin/python benchmarks/batch_bench.py --requests 2000 --online
    .venv/bin/python benchmarks/batch_bench.py --requests 0 --route
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
SERVER = REPO / "tests" / "servers" / "batch_api.py"
SAMPLE = REPO / "src" / "tagengo" / "data" / "sample" / "lmsys_sample.jsonl"
LANGUAGES = ["en", "ja", "de", "zh", "fr"]
TAGENGO_PROMPTS = 76_000


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Server:
    """tests/servers/batch_api.py in its own process."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER), "--port", "0"], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.url = json.loads(self.proc.stdout.readline())["url"]

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def sample_prompts() -> list[str]:
    """The first user turns of the bundled LMSYS-schema sample (31 languages)."""
    out = []
    for line in SAMPLE.open(encoding="utf-8"):
        conv = json.loads(line).get("conversation") or []
        text = next((t["content"] for t in conv if t.get("role") == "user"), None)
        if text:
            out.append(text)
    return out


def requests(n: int) -> list[Any]:
    from tagengo.llm import ChatRequest

    base = sample_prompts()
    return [
        ChatRequest.from_messages(
            [{"role": "user", "content": f"[{LANGUAGES[i % 5]} {i}] {base[i % len(base)]}"}], max_tokens=2048
        )
        for i in range(n)
    ]


class Timers:
    """Wall time in the batch runner's phases, and in its waits between looks (the provider's)."""

    def __init__(self) -> None:
        self.s: dict[str, float] = {}

    def wrap(self, cls: Any, name: str, label: str) -> None:
        fn = getattr(cls, name)

        async def timed(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return await fn(*a, **k)
            finally:
                self.s[label] = self.s.get(label, 0.0) + time.perf_counter() - t

        setattr(cls, name, timed)

    def wrap_sleep(self) -> None:
        import tagengo.llm.batch.runner as runner

        real = asyncio.sleep

        class Timed:
            @staticmethod
            async def sleep(delay: float, *a: Any) -> Any:
                t = time.perf_counter()
                try:
                    return await real(delay, *a)
                finally:
                    self.s["provider wait (polling sleeps)"] = (
                        self.s.get("provider wait (polling sleeps)", 0.0) + time.perf_counter() - t
                    )

        runner.asyncio = Timed  # type: ignore[attr-defined]


def round_trip(url: str, n: int, poll_s: float, cache: Path) -> dict[str, Any]:
    from tagengo.llm import LLMConfig, build_client
    from tagengo.llm.batch.runner import BatchRunner

    timers = Timers()
    timers.wrap(BatchRunner, "_submit", "submit: write, split, upload, create")
    timers.wrap(BatchRunner, "_refresh", "look at the batches (GET)")
    timers.wrap(BatchRunner, "_collect", "collect: download, parse, normalise, cache")
    timers.wrap_sleep()
    reqs = requests(n)
    cfg = LLMConfig(model="gpt-4o", base_url=url, batch=True, batch_poll_s=poll_s, cache_path=cache,
                    input_price_per_1m=2.5, output_price_per_1m=10.0)  # fmt: skip
    rss0, cpu0 = _rss_mb(), _cpu_s()
    t0 = time.perf_counter()
    with build_client(cfg) as client:
        got = client.chat_many(reqs, desc="batch bench")
        spent = client.accounting.spent
        tokens_in = sum(r.input_tokens for r in got)
        tokens_out = sum(r.output_tokens for r in got)
    wall = time.perf_counter() - t0
    cpu = _cpu_s() - cpu0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert all(r.ok for r in got), [r.error for r in got if not r.ok][:3]
    return {
        "requests": n,
        "wall_s": wall,
        "cpu_s": cpu,
        "phases": timers.s,
        "rss_before_mb": rss0,
        "peak_rss_mb": peak,
        "spent_batch": spent,
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
    }


def online(url: str, n: int, cache: Path) -> dict[str, Any]:
    from tagengo.llm import LLMConfig, build_client

    reqs = requests(n)
    cfg = LLMConfig(model="gpt-4o", base_url=url, concurrency=64, cache_path=cache)
    cpu0, t0 = _cpu_s(), time.perf_counter()
    with build_client(cfg) as client:
        got = client.chat_many(reqs)
    assert all(r.ok for r in got)
    return {"wall_s": time.perf_counter() - t0, "cpu_s": _cpu_s() - cpu0}


def mean_prompt_tokens() -> float:
    import bpe_openai

    enc = bpe_openai.get_encoding("o200k_base")
    texts = sample_prompts()
    return sum(len(enc.encode_ordinary(t)) for t in texts) / len(texts)


def projection(
    prices: Path | None, discount: float, prompt_tokens: float, answer_tokens: float, n: int
) -> dict[str, Any]:
    """Cost of ``n`` prompts at the configured prices, online and batch (LLMConfig's own lookups)."""
    from tagengo.llm import LLMConfig
    from tagengo.run.options import load_yaml

    table: dict[str, Any] = {"prices": {"gpt-4o": {"input_per_1m": 2.5, "output_per_1m": 10.0}}}
    if prices is not None:
        table = load_yaml(prices)
    cfg = LLMConfig(model="gpt-4o", batch_discount=discount, **table)
    online, batch = cfg.price_for("gpt-4o"), cfg.batch_price_for("gpt-4o")
    tin, tout = n * (prompt_tokens + 3 + 4), n * answer_tokens  # + the chat format's per-message tokens
    return {
        "prompts": n,
        "prompt_tokens": prompt_tokens,
        "answer_tokens": answer_tokens,
        "online_price": online.model_dump(),
        "batch_price": batch.model_dump(),
        "online": online.cost(int(tin), int(tout)),
        "batch": batch.cost(int(tin), int(tout)),
    }


def routing_example(per_language: int = 20) -> None:
    """The scripted routing scenario of tests/route/test_route.py, its table and a cost projection."""
    sys.path.insert(0, str(REPO / "tests"))
    sys.path.insert(0, str(REPO / "tests" / "route"))
    from test_route import ROUTED, _config, _prompts, judge, teacher

    from servers.scripted_judge import ScriptedJudgeServer
    from tagengo.route.stage import report, route

    with (
        tempfile.TemporaryDirectory() as tmp,
        ScriptedJudgeServer(teacher("Alpha")) as a,
        ScriptedJudgeServer(teacher("Beta")) as b,
        ScriptedJudgeServer(judge) as j,
    ):
        root = Path(tmp)
        src = _prompts(root / "prompts.jsonl", per_language, ROUTED)
        cfg = _config(a, b, j, root / "cache.sqlite").model_copy(update={"per_language": per_language})
        table = route(src, root / "route", cfg, progress=False)
    print(f"\n## Routing (scripted teachers and judge, {per_language} pilot prompts per language)\n")
    print(report(table))
    langs = table["languages"]
    each = TAGENGO_PROMPTS / len(langs)
    routed = sum(each * e["teachers"][e["teacher"]]["cost_per_answer"] for e in langs.values())
    print(f"{TAGENGO_PROMPTS:,} prompts spread evenly over {', '.join(langs)}, from the cost per answer:\n")
    print("| sent to | cost |\n| --- | ---: |")
    print(f"| each language's teacher (routed) | {routed:.4f} |")
    for name in table["teachers"]:
        alone = sum(each * e["teachers"][name]["cost_per_answer"] for e in langs.values())
        print(f"| {name} for every language | {alone:.4f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--poll-s", type=float, default=1.0, help="--batch-poll-s of the round trip")
    ap.add_argument("--online", action="store_true", help="also answer the requests online (concurrency 64)")
    ap.add_argument("--prices", type=Path, default=None, help="YAML with prices: (and batch_prices:)")
    ap.add_argument("--batch-discount", type=float, default=0.5)
    ap.add_argument(
        "--answer-tokens", type=float, default=500.0, help="mean output tokens per answer (assumed)"
    )
    ap.add_argument(
        "--prompt-tokens",
        type=float,
        default=None,
        help="mean prompt tokens (default: measured on the bundled sample)",
    )
    ap.add_argument("--route", action="store_true", help="also the scripted routing example")
    args = ap.parse_args()

    if args.requests <= 0:
        if args.route:
            routing_example()
        return
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
    )
    server = Server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            res = round_trip(server.url, args.requests, args.poll_s, Path(tmp) / "batch.sqlite")
            on = online(server.url, args.requests, Path(tmp) / "online.sqlite") if args.online else None
    finally:
        server.close()

    wait = res["phases"].get("provider wait (polling sleeps)", 0.0)
    print(f"\n## {res['requests']:,} requests through --batch (scripted Batch API, own process)\n")
    print("| what | seconds |\n| --- | ---: |")
    for k, v in res["phases"].items():
        print(f"| {k} | {v:.2f} |")
    print(f"| wall, whole chat_many | {res['wall_s']:.2f} |")
    print(f"| **tagengo's time outside the provider's wait** | **{res['wall_s'] - wait:.2f}** |")
    print(f"| CPU seconds of this process (server apart) | {res['cpu_s']:.2f} |")
    print(
        f"\nper request: {1000 * (res['wall_s'] - wait) / res['requests']:.3f} ms outside the wait, "
        f"{1000 * res['cpu_s'] / res['requests']:.3f} ms CPU; memory: {res['rss_before_mb']:.0f} MB before the call, "
        f"peak {res['peak_rss_mb']:.0f} MB (+{res['peak_rss_mb'] - res['rss_before_mb']:.0f} MB)"
    )
    if on is not None:
        print(
            f"online, same requests, concurrency 64, no latency: {on['wall_s']:.2f} s wall, {on['cpu_s']:.2f} s CPU "
            f"({1000 * on['cpu_s'] / res['requests']:.3f} ms CPU per request)"
        )
    online_cost = (res["tokens_in"] * 2.5 + res["tokens_out"] * 10.0) / 1e6
    print(
        f"\naccounting of the round trip: {res['tokens_in']:,} tokens in, {res['tokens_out']:,} out; "
        f"{res['spent_batch']:.4f} at the batch price vs {online_cost:.4f} online ({res['spent_batch'] / online_cost:.2f}x)"
    )

    prompt_tokens = args.prompt_tokens if args.prompt_tokens is not None else mean_prompt_tokens()
    proj = projection(args.prices, args.batch_discount, prompt_tokens, args.answer_tokens, TAGENGO_PROMPTS)
    print(f"\n## Tagengo's {TAGENGO_PROMPTS:,} prompts\n")
    print(
        f"mean prompt {proj['prompt_tokens']:.1f} tokens"
        f"{'' if args.prompt_tokens is not None else ' (o200k, first user turns of the bundled sample)'}, "
        f"{proj['answer_tokens']:.0f} output tokens per answer (assumed)\n"
    )
    print("| price per 1M tokens (in / out) | cost |\n| --- | ---: |")
    o, b = proj["online_price"], proj["batch_price"]
    print(f"| online {o['input_per_1m']:.2f} / {o['output_per_1m']:.2f} | {proj['online']:,.2f} |")
    print(f"| batch {b['input_per_1m']:.2f} / {b['output_per_1m']:.2f} | {proj['batch']:,.2f} |")
    print(f"| saved | {proj['online'] - proj['batch']:,.2f} |")
    if args.route:
        routing_example()


if __name__ == "__main__":
    main()
