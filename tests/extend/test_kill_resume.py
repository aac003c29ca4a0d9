"""SIGKILL a `tagengo extend` run half-way through its rounds, re-run it, and compare with an
uninterrupted run: the same conversations, and only the calls in flight at the kill asked again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from servers.scripted_extend import conversation

N, TURNS, CONCURRENCY = 60, 3, 4


def _cache_rows(cache: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{cache}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0  # not created yet


def _dataset(out: Path) -> list[dict]:
    rows = [r for f in sorted((out / "data").glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]
    for r in rows:
        meta = json.loads(r["meta"])
        for a in meta["extend"]["added"]:
            a["call"].pop("cached"), a["call"].pop("attempts")
        r["meta"] = meta
    return rows


def _cmd(src: Path, out: Path, url: str, cache: Path) -> list[str]:
    return [
        sys.executable, "-m", "tagengo.cli", "extend", "--input", str(src), "--out", str(out), "--model", "teacher",
        "--base-url", url, "--turns", str(TURNS), "--concurrency", str(CONCURRENCY), "--cache-path", str(cache),
        "--no-progress", "--cache-id", "scripted",  # one model identity: the two servers' ports differ
    ]  # fmt: skip


def test_a_killed_run_resumes_to_the_same_conversations_without_paying_twice(
    extend_server, write_rows, tmp_path
):
    langs = ["de", "fr", "es", "ja", "en"]
    src = write_rows([conversation(f"k{i}", langs[i % 5], i) for i in range(N)])
    calls = N * 2 * (TURNS - 1)

    reference = extend_server()
    done = subprocess.run(
        _cmd(src, tmp_path / "ref", reference.url, tmp_path / "ref.sqlite"), capture_output=True
    )
    assert done.returncode == 0, done.stderr
    assert reference.answers == calls

    server = extend_server(latency_s=0.02)
    cache, out = tmp_path / "c.sqlite", tmp_path / "out"
    proc = subprocess.Popen(
        _cmd(src, out, server.url, cache), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    # Kill inside the second round (the first answers): follow-ups cached, answers half done.
    while _cache_rows(cache) < N + N // 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.json").exists()
    paid_before = server.answers
    assert N <= paid_before < calls

    again = subprocess.run(_cmd(src, out, server.url, cache), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert _dataset(out) == _dataset(tmp_path / "ref")
    # Every request asked once, but for those in flight when the process died and the answers
    # still waiting for their group commit (fewer than CONCURRENCY, tagengo.llm.client).
    repeated = sum(n - 1 for n in server.completed.values())
    assert len(server.completed) == calls and repeated <= 2 * CONCURRENCY
