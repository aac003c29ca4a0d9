"""`tagengo generate` through the batch backend, end to end on the command line, against the
scripted Batch API (tests/servers/batch_api.py), which answers its online endpoint with the very
same answers: a run killed after submission (detached, or SIGKILLed while it waits) resumes by
polling the batch it submitted, pays for nothing twice, and ends with the same rows as an online
run; an online re-run over the batch run's cache pays nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from servers.batch_api import BatchAPIServer
from tagengo.generate.config import GenerateConfig
from tagengo.generate.stage import generate

#: meta.generation keys that describe one run, not the answer.
RUN_KEYS = ("cached", "attempts", "latency_s")
LANGS = ("en", "de", "ja", "fr")
FAULTS = ("think", "budget", "refuse", "filteranswer", "errorbody")


def _prompts(path: Path, n: int = 24) -> Path:
    rows = []
    for i in range(n):
        text = f"prompt {i}: tell me about the number {i}"
        if i < len(FAULTS):
            text += f" FAULT={FAULTS[i]}"
        rows.append({"id": f"p{i:03d}", "prompt": text, "language": LANGS[i % len(LANGS)]})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _rows(out: Path) -> dict[str, list[dict]]:
    got = {}
    for sub in ("data", "rejected"):
        rows = [r for f in sorted((out / sub).glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]
        for r in rows:
            meta = json.loads(r["meta"])
            for k in RUN_KEYS:
                meta.get("generation", {}).pop(k, None)
            r["meta"] = meta
        got[sub] = rows
    return got


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tagengo.cli", "generate", *args], capture_output=True, text=True, timeout=300
    )


def _args(src: Path, out: Path, server: BatchAPIServer, cache: Path) -> list[str]:
    return ["--input", str(src), "--out", str(out), "--model", "teacher", "--base-url", server.url,
            "--cache-path", str(cache), "--max-tokens", "64", "--timeout-s", "5", "--no-progress"]  # fmt: skip


def _online(src: Path, out: Path, server: BatchAPIServer, cache: Path) -> dict[str, list[dict]]:
    cfg = GenerateConfig(model="teacher", base_url=server.url, cache_path=cache, max_tokens=64, timeout_s=5)
    generate(src, out, cfg, progress=False)
    return _rows(out)


def test_detached_batch_run_resumes_by_polling_and_equals_the_online_run(tmp_path):
    src = _prompts(tmp_path / "prompts.jsonl")
    with BatchAPIServer(polls=2) as server:
        online = _online(src, tmp_path / "online", server, tmp_path / "online.sqlite")
        assert server.received == 24 and online["rejected"]  # the faults are rejected

        batch = [
            *_args(src, tmp_path / "batch", server, tmp_path / "batch.sqlite"),
            "--batch",
            "--batch-poll-s",
            "0.01",
        ]
        first = _cli(*batch, "--batch-detach")
        assert first.returncode == 75, first.stderr
        assert "Re-run the same command to collect" in first.stderr and "error:" not in first.stderr
        assert not (tmp_path / "batch" / "manifest.json").exists()
        assert server.created == 1 and server.uploads == 1

        second = _cli(*batch)
        assert second.returncode == 0, second.stderr
        assert server.created == 1 and server.uploads == 1 and set(server.submitted.values()) == {1}
        assert server.received == 24  # the batch run made no online call
        assert _rows(tmp_path / "batch") == online
        manifest = json.loads((tmp_path / "batch" / "manifest.json").read_text())
        assert manifest["counts"]["read"] == 24 and manifest["steps"][0]["name"] == "generate"

        # An online re-run over the batch run's cache pays for no answer and writes the same rows:
        # it asks again only the two calls that failed (a 400 and an error body), which no cache
        # keeps, online or batch.
        again = _online(src, tmp_path / "online2", server, tmp_path / "batch.sqlite")
        assert server.received == 24 + 2 and again == online


def test_a_batch_run_killed_while_it_waits_polls_its_batch_on_the_rerun(tmp_path):
    src = _prompts(tmp_path / "prompts.jsonl", 12)
    cache = tmp_path / "batch.sqlite"
    with BatchAPIServer(polls=1000) as server:
        online = _online(src, tmp_path / "online", server, tmp_path / "online.sqlite")
        batch = [*_args(src, tmp_path / "batch", server, cache), "--batch", "--batch-poll-s", "0.05"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "tagengo.cli", "generate", *batch],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 120
            while server.looks < 2:  # submitted, and waiting
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        assert server.created == 1
        server.finish()
        rerun = _cli(*batch)
        assert rerun.returncode == 0, rerun.stderr
        assert "polling them instead of paying again" in rerun.stderr
        assert server.created == 1 and set(server.submitted.values()) == {1}
        assert _rows(tmp_path / "batch") == online
