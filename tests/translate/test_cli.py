"""`tagengo translate` through the CLI: --help, errors in one sentence, and the bundled SmolLM2
in-process end to end (quality aside)."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tagengo.cli", "translate", *args], capture_output=True, text=True
    )


def test_help_shows_every_option_with_its_default() -> None:
    r = _cli("--help")
    assert r.returncode == 0
    for text in ("--to", "--bench", "--min-length-ratio", "[default: 0.3]", "--include-source"):
        assert text in r.stdout


def test_missing_target_languages_is_one_sentence(tmp_path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "messages": [{"role": "user", "content": "Hello there"}]}) + "\n")
    r = _cli("--input", str(src), "--out", str(tmp_path / "o"), "--model", "m")
    assert r.returncode == 2 and "give the target languages with --to" in r.stderr


@pytest.mark.llm
def test_the_bundled_model_translates_in_process(tmp_path) -> None:
    src = tmp_path / "in.jsonl"
    row = {
        "id": "a",
        "language": "en",
        "messages": [
            {"role": "user", "content": "Please give me one short tip for sleeping better at night."},
            {"role": "assistant", "content": "Put your phone away an hour before you go to bed."},
        ],
    }
    src.write_text(json.dumps(row) + "\n")
    out = tmp_path / "out"
    r = _cli(
        "--input", str(src), "--out", str(out), "--to", "de", "--backend", "llamacpp",
        "--n-ctx", "1024", "--n-threads", "2", "--max-tokens", "32", "--cache-path", str(tmp_path / "c.sqlite"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert (
        manifest["counts"]["read"] == 2 and manifest["counts"]["kept"] + manifest["counts"]["rejected"] == 2
    )
    rows = [
        x
        for sub in ("data", "rejected")
        for f in (out / sub).glob("*.parquet")
        for x in pq.read_table(f).to_pylist()
    ]
    de = next(x for x in rows if x["id"] == "a-de")
    info = json.loads(de["meta"])["translation"]
    assert (
        info["to"] == "de" and len(info["calls"]) == 2 and all(c["output_tokens"] > 0 for c in info["calls"])
    )
    assert json.loads(de["meta"])["parallel_group"] == "a"
    assert next(x for x in rows if x["id"] == "a")["messages"][0]["content"] == row["messages"][0]["content"]


def test_workers_without_ray_is_one_sentence(tmp_path) -> None:
    """Locally one process makes the calls: --workers would be accepted and ignored, so it is refused."""
    r = _cli("--input", "x.jsonl", "--out", str(tmp_path / "o"), "--to", "de", "--workers", "2")
    assert r.returncode == 2 and "--workers needs --executor ray" in r.stderr
    assert "Traceback" not in r.stderr
