"""`tagengo dedup` end to end: a dataset folder in, a dataset folder out, errors in one sentence."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from tagengo.cli import main

from .conftest import FIXTURES


def dedup(*args: str) -> int:
    return main(["dedup", "--workers", "1", "--no-progress", *args])


@pytest.mark.embedder
def test_dedup_writes_a_dataset_folder(tmp_path, capsys):
    out = tmp_path / "out"
    code = dedup(
        "--input",
        str(FIXTURES / "prompts.jsonl"),
        "--out",
        str(out),
        "--cache-dir",
        str(tmp_path / "c"),
        "--report",
        "--no-content-check",  # pins the embedding pass on paraphrase fixtures
    )
    assert code == 0
    kept = pq.read_table(out / "data").to_pylist()
    rejected = pq.read_table(out / "rejected").to_pylist()
    assert len(kept) == 9 and len(rejected) == 6
    assert [r["id"] for r in kept] == ["p01", "p03", "p05", "p07", "p08", "p09", "p11", "p13", "p14"]
    by_id = {r["id"]: r for r in rejected}
    assert by_id["p10"]["step"] == "dedup" and by_id["p10"]["reason"].startswith(
        "near-duplicate of p09 (cosine"
    )
    assert json.loads(by_id["p10"]["meta"])["dup_of"] == "p09"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["read"] == 15 and manifest["counts"]["kept"] == 9
    step = manifest["steps"][0]
    assert step["name"] == "dedup" and step["removed"] == 6
    assert step["removed_by_language"] == {"en": 3, "ja": 1, "pt": 1, "zh": 1}
    assert step["summary"]["languages"]["pt"]["removal_rate"] == 0.3333
    assert step["summary"]["threshold"] == 0.935
    assert (out / "report" / "dedup_nn_similarity.png").exists()
    printed = capsys.readouterr().out
    assert "threshold 0.935" in printed and "en:" in printed and "60.0%" in printed

    # Same input and config again: nothing to do.
    assert (
        dedup(
            "--input",
            str(FIXTURES / "prompts.jsonl"),
            "--out",
            str(out),
            "--cache-dir",
            str(tmp_path / "c"),
            "--report",
            "--no-content-check",
        )
        == 0
    )
    assert "up to date" in capsys.readouterr().err


def test_minhash_only(tmp_path):
    out = tmp_path / "out"
    code = dedup(
        "--input", str(FIXTURES / "prompts.jsonl"), "--out", str(out),
        "--method", "minhash", "--minhash-threshold", "0.7", "--minhash-ngram", "3",
        "--no-content-check",  # pure MinHash: p12 is p11 with another number (test_minhash_request.py)
    )  # fmt: skip
    assert code == 0
    rejected = {r["id"]: r["reason"] for r in pq.read_table(out / "rejected").to_pylist()}
    assert set(rejected) == {"p04", "p06", "p12", "p15"}


def test_user_errors_are_one_sentence(tmp_path, capsys):
    assert (
        dedup("--input", str(FIXTURES / "prompts.jsonl"), "--out", str(tmp_path / "o"), "--threshold", "1.5")
        == 2
    )
    assert "--threshold" in capsys.readouterr().err
    assert dedup("--out", str(tmp_path / "o")) == 2
    assert "needs --input" in capsys.readouterr().err
    assert dedup("--input", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o")) == 2
    assert "missing.jsonl: no such file" in capsys.readouterr().err
    # The paper's preset needs BGE-M3, which only the user can point at.
    assert (
        dedup(
            "--input",
            str(FIXTURES / "prompts.jsonl"),
            "--out",
            str(tmp_path / "o"),
            "--preset",
            "tagengo-2024",
        )
        == 2
    )
    assert "--embedder-path" in capsys.readouterr().err


@pytest.mark.embedder
def test_calibrate(tmp_path, capsys):
    out = tmp_path / "cal"
    assert (
        dedup(
            "--calibrate", "--calibration-pairs", str(FIXTURES / "calibration_pairs.jsonl"), "--out", str(out)
        )
        == 0
    )
    printed = capsys.readouterr().out
    result = json.loads((out / "calibration.json").read_text())
    assert f"suggested threshold {result['threshold']}" in printed
    assert len(result["pairs"]) == 4 and (out / "calibration.png").exists()
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    assert dedup("--calibrate", "--calibration-pairs", str(bad), "--out", str(out)) == 2
    assert "bad.jsonl:1: not valid JSON" in capsys.readouterr().err


def test_paper_preset_with_a_local_sentence_transformers_model(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("sentence_transformers")
    from .test_embedders import _tiny_sentence_transformer

    model_dir, _ = _tiny_sentence_transformer(tmp_path)
    out = tmp_path / "out"
    args = ["--input", str(FIXTURES / "prompts.jsonl"), "--out", str(out), "--cache-dir", str(tmp_path / "c")]
    assert dedup(*args, "--preset", "tagengo-2024", "--embedder-path", str(model_dir)) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["preset"] == "tagengo-2024"
    assert manifest["config"]["semantics"] == "chain" and manifest["config"]["search"] == "exact"
    summary = manifest["steps"][0]["summary"]
    assert summary["threshold"] == 0.8 and summary["threshold_source"] == "config"
    assert summary["embedder"].startswith("st/tiny-e5-test@")
    # Exact copies go whatever the (random-weight) model says.
    rejected = {r["id"] for r in pq.read_table(out / "rejected").to_pylist()}
    assert {"p04", "p06", "p15"} <= rejected


@pytest.mark.embedder
def test_an_input_with_no_rows_gives_a_complete_empty_folder(tmp_path):
    from folder_checks import assert_complete_folder

    src = tmp_path / "none.jsonl"
    src.write_text("")
    out = tmp_path / "out"
    assert dedup("--input", str(src), "--out", str(out), "--cache-dir", str(tmp_path / "c")) == 0
    assert_complete_folder(out, kept=0, rejected=0, quarantined=0)
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{nope\n{nope\n")
    assert (
        dedup("--input", str(broken), "--out", str(tmp_path / "b"), "--cache-dir", str(tmp_path / "c")) == 2
    )
    assert_complete_folder(tmp_path / "b", kept=0, rejected=0, quarantined=2)


@pytest.mark.embedder
def test_ctrl_c_while_embedding_stops_within_seconds(tmp_path):
    # Issue 21 item 6: Ctrl-C must land between the embedder's small calls, not after a whole
    # language. The real command, a real SIGINT, once the embedding has visibly started.
    import os
    import re
    import select
    import signal
    import subprocess
    import sys
    import time

    rows = tmp_path / "in.jsonl"
    with rows.open("w", encoding="utf-8") as f:
        for i in range(1000):
            text = f"Erkläre mir bitte Schritt {i} der Aufgabe über das Thema {i * 7 % 97} im Detail."
            f.write(
                json.dumps({"id": f"r{i}", "language": "de", "messages": [{"role": "user", "content": text}]})
                + "\n"
            )
    # stderr as a log file (no terminal), a progress line due at once.
    env = {k: v for k, v in os.environ.items() if k not in ("TTY_COMPATIBLE", "FORCE_COLOR")}
    env["TAGENGO_PROGRESS_INTERVAL"] = "0.001"
    cmd = [sys.executable, "-c", "import sys; from tagengo.cli import main; sys.exit(main(sys.argv[1:]))"]
    args = ["dedup", "--input", str(rows), "--out", str(tmp_path / "out"), "--workers", "1", "--no-cache"]
    # SIGINT's default action in the child, as from a terminal: a test run started in the
    # background (`cmd &`, nohup) would otherwise hand it SIGINT ignored (tests/test_signals.py).
    proc = subprocess.Popen(
        cmd + args,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    err = b""
    try:
        deadline = time.monotonic() + 240
        # The first progress line past 0: embedding is under way (the original condition). The
        # time from the line at 0 to it is at least one of the embedder's calls on this machine
        # as it is loaded right now.
        zero = re.compile(rb": embedding: 0\b")
        past_zero = re.compile(rb": embedding: [1-9]")
        t_zero = None
        while not past_zero.search(err):
            assert time.monotonic() < deadline and proc.poll() is None, err.decode(errors="replace")
            if select.select([proc.stderr], [], [], 0.05)[0]:
                err += os.read(proc.stderr.fileno(), 65536)
                if t_zero is None and zero.search(err):
                    t_zero = time.monotonic()
        per_call = time.monotonic() - t_zero if t_zero is not None else 0.0
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    err += proc.stderr.read()
    assert code == 130, err.decode(errors="replace")[-2000:]
    assert "Interrupted" in err.decode(errors="replace")
    # 16 prompts a call take ~0.2 s on 2 quiet cores: 4 s there. A loaded machine stretches
    # every call; the stop may wait out the call under way and a few more, never the ~60 calls
    # of the whole language (what this test catches).
    bound = max(4.0, 8 * per_call)
    assert took < bound, f"took {took:.1f} s to stop after Ctrl-C (a call: {per_call:.2f} s)"
