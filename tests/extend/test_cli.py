"""`tagengo extend` from the command line: against the scripted server, with the bundled SmolLM2
in-process on prompts of the bundled sample, and the errors a user can cause."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from servers.scripted_extend import FOLLOW_UPS, conversation
from tagengo.extend.step import reason_kind

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "tagengo" / "data" / "sample" / "lmsys_sample.jsonl"
KINDS = {
    "language drift", "echo follow-up", "empty follow-up", "empty answer", "unfinished follow-up",
    "unfinished answer", "call failed", "prompt leak", "repeated answer",
}  # fmt: skip


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tagengo.cli", "extend", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "160"},
        timeout=600,
    )


def _rows(folder: Path) -> list[dict]:
    return [r for f in sorted(folder.glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]


def test_the_cli_grows_conversations_and_shows_funnel_and_calls(extend_server, write_rows, tmp_path):
    server = extend_server()
    src = write_rows([conversation("a", "de", 0), conversation("b", "es", 1, "DRIFT2")])
    out = tmp_path / "out"
    common = ["--input", str(src), "--out", str(out), "--base-url", server.url, "--model", "teacher"]
    run = _cli(*common, "--turns", "3", "--cache-path", str(tmp_path / "c.sqlite"), "--no-progress")
    assert run.returncode == 0, run.stderr
    assert "extend funnel" in run.stderr and "teacher and writer calls" in run.stderr
    (kept,) = _rows(out / "data")
    assert [m["content"] for m in kept["messages"] if m["role"] == "user"][1:] == FOLLOW_UPS["de"][:2]
    (rej,) = _rows(out / "rejected")
    assert rej["reason"].startswith("language drift at turn 2 (follow-up): language ID says en")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stage"] == "extend" and manifest["config"]["turns"] == 3
    assert server.received == 4 + 1


def test_help_shows_every_option_with_its_default():
    run = _cli("--help")
    assert run.returncode == 0
    text = " ".join(run.stdout.split())
    for flag in ("--turns", "--writer-model", "--writer-temperature", "--task-types", "--min-lid-score"):
        assert flag in text
    assert "[default: 3]" in text and "clarify,go_deeper,change_constraints,ask_example,disagree" in text


def test_user_errors_end_in_one_sentence(tmp_path):
    no_input = _cli("--out", str(tmp_path / "o"), "--model", "m")
    assert no_input.returncode == 2 and "give the conversations to extend with --input" in no_input.stderr
    bad_task = _cli(
        "--input", str(tmp_path / "x.jsonl"), "--out", str(tmp_path / "o"), "--task-types", "summarise"
    )
    assert bad_task.returncode == 2 and "--task-types: unknown task type(s) summarise" in bad_task.stderr
    assert "Traceback" not in no_input.stderr + bad_task.stderr


@pytest.mark.llm
def test_the_bundled_model_extends_prompts_of_the_bundled_sample(tmp_path):
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    picked = [r for r in rows if r.get("language") == "English" and r["turn"] == 1][:2]
    picked[1] = {**picked[1], "language": None}  # unlabelled: lid.176 names its language
    src = tmp_path / "lmsys.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in picked))
    cfg = tmp_path / "smol.yaml"
    # A 135M model asked for brevity, with a repetition penalty, ends most turns by itself.
    cfg.write_text(
        'system_prompt: "Answer briefly, in two or three sentences."\nsampling_extra: {repeat_penalty: 1.3}\n'
    )
    out = tmp_path / "out"
    run = _cli(
        "--input", str(src), "--format", "lmsys", "--out", str(out), "--config", str(cfg), "--backend", "llamacpp",
        "--turns", "2", "--max-tokens", "128", "--writer-max-tokens", "96", "--writer-temperature", "0",
        "--n-ctx", "2048", "--cache-path", str(tmp_path / "c.sqlite"), "--no-progress",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    counts = manifest["counts"]
    assert counts["read"] == 2 and counts["kept"] + counts["rejected"] == 2
    kept, rejected = _rows(out / "data"), _rows(out / "rejected")
    for row in kept:
        assert [m["role"] for m in row["messages"]] == ["user", "assistant", "user", "assistant"]
        assert all(m["content"].strip() for m in row["messages"])
        added = json.loads(row["meta"])["extend"]["added"]
        assert [(a["turn"], a["role"]) for a in added] == [(2, "user"), (2, "assistant")]
        assert all(a["lid"] in (None, "en") for a in added)
        assert all(a["call"]["model"].startswith("SmolLM2") for a in added)
    for row in rejected:
        assert reason_kind(row["reason"]) in KINDS, row["reason"]
        assert json.loads(row["meta"])["extend"]["failed"]["turn"] == 2
    by_id = {r["id"]: r for r in kept + rejected}
    unlabelled = by_id[str(picked[1]["conversation_id"])]
    assert unlabelled["language"] == "en"  # recorded in the output row, not only checked against
    info = json.loads(unlabelled["meta"])["extend"]
    assert (info["language"], info["language_from"]) == ("en", "lid") and info["language_score"] >= 0.5
    assert by_id[str(picked[0]["conversation_id"])]["language"] == "en"
    models = manifest["steps"][0]["summary"]["models"]
    assert sum(m["calls"] for m in models.values()) == 2 * len(kept) + sum(
        len(json.loads(r["meta"])["extend"]["added"]) for r in rejected
    )


def test_workers_without_ray_is_one_sentence(tmp_path) -> None:
    """Locally one process makes the calls: --workers would be accepted and ignored, so it is refused."""
    r = _cli("--input", "x.jsonl", "--out", str(tmp_path / "o"), "--model", "m", "--workers", "2")
    assert r.returncode == 2 and "--workers needs --executor ray" in r.stderr
    r = _cli("--input", "x.jsonl", "--out", str(tmp_path / "o"), "--model", "m", "--ray-address", "auto")
    assert r.returncode == 2 and "--ray-address needs --executor ray" in r.stderr
    assert "Traceback" not in r.stderr
