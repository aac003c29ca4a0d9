"""SIGKILL `tagengo reverse` mid-run (twice), re-run it, and compare with an uninterrupted run:
the same dataset, and no call whose answer was committed was paid for again (only the calls in
flight at a kill, and the answers of its last group commit, may be repeated)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tagengo.reverse.config import ReverseConfig
from tagengo.reverse.corpus import bundled_corpus, split_fragments
from tagengo.reverse.stage import reverse

CONCURRENCY = 4
RUN_KEYS = ("cached", "attempts", "key")  # key: the cache key names the endpoint (a port)

SCRIPT = """
import json, sys
from tagengo.reverse.config import ReverseConfig
from tagengo.reverse.stage import reverse
cfg = ReverseConfig.model_validate_json(sys.argv[1])
reverse(sys.argv[2], sys.argv[3], cfg, progress=False)
"""


def _corpus(tmp_path: Path) -> Path:
    """96 German fragments: the bundled 24, four times with distinct ids and a numbered ending."""
    frags = [t for _, t in split_fragments(bundled_corpus("de").read_text())]
    path = tmp_path / "corpus.jsonl"
    with path.open("w") as f:
        for k in range(4):
            for i, t in enumerate(frags):
                f.write(
                    json.dumps({"id": f"f{k}-{i:02d}", "text": f"{t} (Teil {k + 1})"}, ensure_ascii=False)
                    + "\n"
                )
    return path


def _dataset(out: Path) -> dict[str, list]:
    got = {}
    for sub in ("data", "rejected"):
        rows = [r for f in sorted((out / sub).glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]
        for r in rows:
            meta = json.loads(r["meta"])
            for calls in meta.get("reverse", {}).get("calls", {}).values():
                for c in calls:
                    for k in RUN_KEYS:
                        c.pop(k, None)
            r["meta"] = meta
        got[sub] = sorted(rows, key=lambda r: r["id"])
    return got


@pytest.mark.slow
def test_killed_runs_resume_to_the_same_dataset_without_paying_twice(scripted_server, llm_options, tmp_path):
    corpus = _corpus(tmp_path)
    server = scripted_server(latency_s=0.02)
    opts = llm_options(server, concurrency=CONCURRENCY, cache_path=tmp_path / "killed.sqlite")
    cfg = ReverseConfig(language="de", **opts)
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    kills = 0
    for stop_at in (30, 70):  # of 96 translations, the first round
        proc = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, cfg.model_dump_json(), str(corpus), str(out)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 120
        while server.answers < stop_at and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        _, err = proc.communicate()
        assert proc.returncode in (0, -signal.SIGKILL), err.decode()[-2000:]
    assert kills == 2, "the run finished before it could be killed twice; raise the latency"
    assert not (out / "manifest.json").exists()

    reverse(corpus, out, cfg, progress=False)
    repeated = sum(n - 1 for n in server.completed.values() if n > 1)
    # Per kill: the calls in flight, and answers still waiting for their group commit (fewer than
    # CONCURRENCY: tagengo.llm.client commits when that many wait, else within 50 ms).
    assert repeated <= kills * 2 * CONCURRENCY

    ref_server = scripted_server()
    ref_cfg = ReverseConfig(language="de", **llm_options(ref_server, cache_path=tmp_path / "ref.sqlite"))
    reverse(corpus, tmp_path / "ref", ref_cfg, progress=False)
    got, want = _dataset(out), _dataset(tmp_path / "ref")
    for sub in ("data", "rejected"):
        assert len(got[sub]) == len(want[sub])
        for a, b in zip(got[sub], want[sub], strict=True):
            assert a == b
    assert len(server.completed) == len(ref_server.completed)
