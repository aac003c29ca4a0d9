"""`tagengo generate` end to end: the library call and the CLI, against the fault-injecting
server and the in-process llama.cpp model; counts, cache replay, budget, secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from servers.fake_chat_server import FaultRates, answer_for
from tagengo.generate.config import GenerateConfig
from tagengo.generate.stage import generate

REASONS = ("call failed: ", "unfinished: finish_reason=", "empty answer")


def _rows(folder: Path) -> list[dict]:
    files = sorted(folder.glob("part-*.parquet"))
    return [r for f in files for r in pq.read_table(f).to_pylist()]


#: meta.generation keys that describe one run, not the answer (a replay is cached, 0 attempts).
RUN_KEYS = ("cached", "attempts", "latency_s")


def stable(row: dict) -> dict:
    """A row without the per-run fields: what must be equal between a fresh and a resumed run."""
    meta = json.loads(row["meta"])
    for k in RUN_KEYS:
        meta.get("generation", {}).pop(k, None)
    return {**row, "meta": meta}


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tagengo.cli", "generate", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def _quick(server, tmp_path: Path) -> list[str]:
    return ["--model", "teacher", "--base-url", server.url, "--timeout-s", "1", "--backoff-base-s", "0.02"]


def test_twenty_percent_faults_every_row_kept_or_rejected_with_a_reason(fake_server, prompts, tmp_path):
    server = fake_server(faults=FaultRates.spread(0.2, hang_s=5.0))
    src = prompts(120)
    cfg = GenerateConfig(
        model="teacher", base_url=server.url, timeout_s=0.5, backoff_base_s=0.02, max_attempts=12,
        concurrency=16, cache_path=tmp_path / "c.sqlite",
    )  # fmt: skip
    result = generate(src, tmp_path / "out", cfg, progress=False)
    counts = result.manifest["counts"]
    assert counts["read"] == 120 and counts["kept"] + counts["rejected"] == 120

    kept, rejected = _rows(tmp_path / "out" / "data"), _rows(tmp_path / "out" / "rejected")
    assert len(kept) == counts["kept"] and len(rejected) == counts["rejected"]
    for row in kept:
        user, answer = row["messages"][-2]["content"], row["messages"][-1]
        assert answer == {
            "role": "assistant",
            "content": answer_for({"messages": [{"role": "user", "content": user}]}),
        }
        gen = json.loads(row["meta"])["generation"]
        assert gen["finish_reason"] == "stop" and gen["model"] == "teacher"
    assert rejected and all(r["reason"].startswith(REASONS) and r["step"] == "generate" for r in rejected)
    # Persistent faults (length, empty, 400) explain every rejection; transient ones were retried away.
    assert Counter(r["reason"].split(":")[0] for r in rejected).keys() <= {
        "call failed",
        "unfinished",
        "empty answer",
    }
    assert all("HTTP 400" in r["reason"] for r in rejected if r["reason"].startswith("call failed"))
    summary = result.manifest["steps"][0]["summary"]["models"]["teacher"]
    assert summary["retries"] > 0 and summary["calls"] + summary["failed"] == 120

    # Forced re-run: every answer replayed from the cache; only the failed calls are tried again.
    completed_before = sum(server.stats.completed.values())
    again = generate(src, tmp_path / "out", cfg, progress=False, force=True)
    assert sum(server.stats.completed.values()) == completed_before
    assert [stable(r) for r in _rows(tmp_path / "out" / "data")] == [stable(r) for r in kept]
    assert again.manifest["steps"][0]["summary"]["models"]["teacher"]["cached"] == summary["calls"]


def test_budget_stops_the_run_resumably_and_a_rerun_finishes_without_paying_twice(
    fake_server, prompts, tmp_path
):
    server = fake_server(latency_s=0.01)
    src = prompts(40)
    out = tmp_path / "out"
    common = [
        *_quick(server, tmp_path),
        "--input",
        str(src),
        "--out",
        str(out),
        "--cache-path",
        str(tmp_path / "c.sqlite"),
    ]
    common += [
        "--input-price-per-1m",
        "1000",
        "--output-price-per-1m",
        "1000",
        "--max-tokens",
        "32",
        "--concurrency",
        "4",
    ]
    stopped = _cli(*common, "--budget", "0.3")
    assert stopped.returncode == 2, stopped.stderr
    assert "budget 0.3 reached" in stopped.stderr and "Traceback" not in stopped.stderr
    assert not (out / "manifest.json").exists()
    paid = sum(server.stats.completed.values())
    assert 0 < paid < 40

    done = _cli(*common, "--budget", "100")
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["kept"] == 40
    assert manifest["steps"][0]["summary"]["models"]["teacher"]["cached"] == paid
    assert max(server.stats.completed.values()) == 1  # no finished call was paid for twice


def test_the_api_key_appears_in_no_file_and_no_output(fake_server, prompts, tmp_path):
    key = "sk-tagengo-test-9fQ2xW7mZr4Kp1Lv8Bn3"
    server = fake_server(
        require_key=key, echo_key_in_errors=True, faults=FaultRates(rate_400=0.5, rate_503=0.2)
    )
    src = prompts(12)
    out, cache = tmp_path / "out", tmp_path / "cache" / "llm.sqlite"
    args = [*_quick(server, tmp_path), "--input", str(src), "--out", str(out), "--api-key-env", "TEACHER_KEY"]
    run = _cli(*args, "--cache-path", str(cache), env={"TEACHER_KEY": key})
    assert run.returncode == 0, run.stderr
    assert _rows(out / "rejected"), "some errors (which echo the key) must have been written"
    # A wrong key: the abort message quotes the server, which echoes the key.
    bad = _cli(*args, "--cache-path", str(cache), "--force", env={"TEACHER_KEY": key[:-1] + "X"})
    assert bad.returncode == 2 and "HTTP 401" in bad.stderr

    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "manifest.json" for p in written) and any(
        p.name.startswith("llm.sqlite") for p in written
    )
    fragments = {key[i : i + 8] for i in range(len(key) - 7)} | {key[:-1] + "X"}
    blobs = [(str(p), p.read_bytes()) for p in written]
    blobs += [("stdout/stderr", (r.stdout + r.stderr).encode()) for r in (run, bad)]
    for name, blob in blobs:
        for frag in fragments:
            assert frag.encode() not in blob, f"a piece of the key is in {name}"


@pytest.mark.llm
def test_the_in_process_model_answers_through_the_cli(prompts, tmp_path):
    src = tmp_path / "q.jsonl"
    common = [
        "--backend",
        "llamacpp",
        "--max-tokens",
        "12",
        "--n-ctx",
        "512",
        "--cache-path",
        str(tmp_path / "c.sqlite"),
    ]
    rows = [
        {"id": "a", "messages": [{"role": "user", "content": "What is the capital of France? One word."}]},
        {"id": "b", "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "old"}]},
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    loose = _cli("--input", str(src), "--out", str(tmp_path / "loose"), "--no-require-stop", *common)
    assert loose.returncode == 0, loose.stderr
    kept = _rows(tmp_path / "loose" / "data")
    assert [r["id"] for r in kept] == ["a", "b"]
    for r in kept:
        assert r["messages"][-1]["role"] == "assistant" and r["messages"][-1]["content"].strip()
        gen = json.loads(r["meta"])["generation"]
        assert gen["finish_reason"] in ("stop", "length") and 0 < gen["output_tokens"] <= 12
    assert json.loads(kept[1]["meta"])["generation"]["dropped_turns"] == ["old"]
    assert "teacher calls" in loose.stderr


def test_a_run_where_every_answer_is_rejected_writes_a_complete_folder(fake_server, prompts, tmp_path):
    from folder_checks import assert_complete_folder

    server = fake_server(faults=FaultRates(rate_400=1.0))
    cfg = GenerateConfig(
        model="teacher",
        base_url=server.url,
        timeout_s=1,
        backoff_base_s=0.02,
        cache_path=tmp_path / "c.sqlite",
    )
    res = generate(prompts(5), tmp_path / "out", cfg, progress=False)
    assert_complete_folder(res.out, kept=0, rejected=5, quarantined=0)
    # And a dataset folder with no rows in (a curate that kept nothing) makes no call at all.
    empty = generate(res.out, tmp_path / "again", cfg, progress=False)
    assert_complete_folder(empty.out, kept=0, rejected=0, quarantined=0)
    assert server.stats.received == 5


def test_a_down_server_stops_a_small_run_resumably_and_a_rerun_answers_every_row(
    fake_server, prompts, tmp_path
):
    # 7 rows, far under --abort-after-failures (50): every call refused at connect must still
    # stop the run (exit 2, nothing marked finished), not end as "kept 0, rejected 7" that a
    # re-run would call up to date.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again at once: nothing listens there
    src, out = prompts(7), tmp_path / "out"
    common = ["--input", str(src), "--out", str(out), "--cache-path", str(tmp_path / "c.sqlite")]
    quick = ["--model", "teacher", "--timeout-s", "1", "--backoff-base-s", "0.02", "--backoff-max-s", "0.1"]
    down = _cli(*common, *quick, "--base-url", f"http://127.0.0.1:{port}/v1", "--max-attempts", "2")
    assert down.returncode == 2, down.stderr
    assert "7 calls in a row failed" in down.stderr and "re-run to resume" in down.stderr
    assert "Traceback" not in down.stderr
    assert not (out / "manifest.json").exists()
    assert not list(out.glob("rejected/*.parquet"))

    server = fake_server()
    up = _cli(*common, *quick, "--base-url", server.url)
    assert up.returncode == 0, up.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["kept"] == 7 and manifest["counts"]["rejected"] == 0
    assert server.stats.received == 7


def test_off_a_terminal_progress_comes_as_a_line_per_interval_not_per_answer(
    fake_server, prompts, tmp_path, capsys, log_progress
):
    from progress_checks import assert_progress_lines

    # 200 answers, 4 at a time, each at least 20 ms: the run lasts at least 1 s, so at least one
    # 0.25 s interval passes while it runs (a lower bound: a slow machine only adds lines' worth).
    log_progress(0.25)
    server = fake_server(latency_s=0.02)
    cfg = GenerateConfig(
        model="teacher", base_url=server.url, concurrency=4, cache_path=tmp_path / "c.sqlite"
    )
    result = generate(prompts(200), tmp_path / "out", cfg)  # progress: the default
    assert result.manifest["counts"]["kept"] == 200
    lines = assert_progress_lines(capsys.readouterr().err, "generate", 200)
    assert "tok/s · spent" in lines[-1]
    # Replayed wholly from the cache, a run has no phase to report.
    generate(prompts(200), tmp_path / "again", cfg)
    assert "generate: " not in capsys.readouterr().err
