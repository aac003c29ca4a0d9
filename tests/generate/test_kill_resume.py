"""SIGKILL a 1,000-request `tagengo generate` run at random moments, re-run it, and compare
with an uninterrupted run: same dataset, and no answer that had been cached was asked for
again (only the calls in flight at a kill, and the answers of its last 50 ms not yet
committed, may be repeated)."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

from servers.fake_chat_server import FaultRates, request_hash
from tagengo.generate.config import GenerateConfig
from tagengo.generate.stage import generate
from tagengo.llm.backends.openai_http import OpenAIHTTPBackend
from tagengo.llm.types import ChatRequest

N_ROWS, N_FILES, CONCURRENCY = 1000, 4, 16
RUN_KEYS = ("cached", "attempts", "latency_s")


def _dataset(out: Path) -> dict[str, list]:
    got = {}
    for sub in ("data", "rejected"):
        rows = [r for f in sorted((out / sub).glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]
        for r in rows:
            meta = json.loads(r["meta"])
            for k in RUN_KEYS:
                meta["generation"].pop(k, None)
            r["meta"] = meta
        got[sub] = rows
    return got


def _cached_server_hashes(cache: Path, cfg: GenerateConfig) -> set[str]:
    """The server-side hash of every request whose answer is in the cache right now."""
    if not cache.exists():
        return set()
    backend = OpenAIHTTPBackend(cfg.llm_config())
    db = sqlite3.connect(f"file:{cache}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT request FROM responses").fetchall()
    finally:
        db.close()
    out = set()
    for (text,) in rows:
        d = json.loads(text)
        req = ChatRequest.from_messages(
            d["messages"],
            temperature=d["temperature"],
            max_tokens=d["max_tokens"],
            top_p=d["top_p"],
            seed=d["seed"],
            stop=d["stop"],
            extra=d["extra"],
        )
        out.add(request_hash(backend.body(req)))
    return out


def _cache_rows(cache: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{cache}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0  # not created yet


def test_killed_runs_resume_to_the_same_dataset_without_paying_twice(fake_server, tmp_path):
    inp = tmp_path / "in"
    langs = ["en"] * 4  # the fake server answers in English: other labels fail --gate
    per_file = N_ROWS // N_FILES
    for f in range(N_FILES):
        rows = [
            {"id": f"f{f}-{i:04d}", "prompt": f"file {f} prompt {i}", "language": langs[i % 4]}
            for i in range(per_file)
        ]
        # One runner chunk per file: chunk-level resume is exercised as well as the cache.
        inp.mkdir(exist_ok=True)
        (inp / f"part{f}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    faults = FaultRates(
        rate_429=0.03, rate_500=0.02, rate_503=0.02, rate_malformed=0.02, rate_drop=0.01,
        rate_length=0.03, rate_empty=0.02, rate_400=0.02, retry_after_s=0.02,
    )  # fmt: skip
    server = fake_server(latency_s=0.015, faults=faults, seed=7)

    def config(cache: Path) -> GenerateConfig:
        return GenerateConfig(
            model="teacher", base_url=server.url, cache_path=cache, concurrency=CONCURRENCY,
            timeout_s=2, backoff_base_s=0.01, backoff_max_s=0.1, max_attempts=30,
        )  # fmt: skip

    # The reference: one uninterrupted run.
    reference = tmp_path / "reference"
    generate(inp, reference, config(tmp_path / "ref.sqlite"), progress=False)
    expected = _dataset(reference)
    assert len(expected["data"]) + len(expected["rejected"]) == N_ROWS
    assert {r["reason"].split(":")[0] for r in expected["rejected"]} == {
        "call failed",
        "unfinished",
        "empty answer",
    }

    # The same run, killed with SIGKILL after a random number of answers, three times over.
    server.stats.completed.clear()
    out, cache = tmp_path / "killed", tmp_path / "killed.sqlite"
    cfg = config(cache)
    args = [sys.executable, "-m", "tagengo.cli", "generate", "--input", str(inp), "--out", str(out)]
    args += ["--model", "teacher", "--base-url", server.url, "--cache-path", str(cache)]
    args += ["--concurrency", str(CONCURRENCY), "--timeout-s", "2", "--backoff-base-s", "0.01"]
    args += ["--backoff-max-s", "0.1", "--max-attempts", "30", "--no-progress"]
    rng = random.Random(1234)
    kill_after = sorted(rng.sample(range(50, N_ROWS - 100), 3))
    completed_before_run: list[Counter] = []
    cached_before_run: list[set[str]] = []
    for threshold in kill_after:
        cached_before_run.append(_cached_server_hashes(cache, cfg))
        completed_before_run.append(Counter(server.stats.completed))
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while _cache_rows(cache) < threshold and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert not (out / "manifest.json").exists()

    cached_before_run.append(_cached_server_hashes(cache, cfg))
    completed_before_run.append(Counter(server.stats.completed))
    final = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr

    assert _dataset(out) == expected

    # No request whose answer was already cached was sent again in a later run.
    for i, cached in enumerate(cached_before_run):
        later = Counter(server.stats.completed)
        later.subtract(completed_before_run[i])
        asked_again = {h for h, n in later.items() if n > 0} & cached
        assert not asked_again, f"run {i}: {len(asked_again)} cached answers were paid for again"
    # Only calls in flight at a kill, and answers still waiting for their group commit (at most
    # CONCURRENCY, tagengo.llm.cache), can have been completed twice.
    repeats = sum(n - 1 for n in server.stats.completed.values() if n > 1)
    assert repeats <= len(kill_after) * 2 * CONCURRENCY
