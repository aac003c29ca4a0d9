"""A run whose input held no rows completes (an empty folder is a valid result of a stage that
kept nothing) but says so, naming the input: a wrong path or an empty export should not pass as
a finished run in silence. An input with rows says nothing of the kind."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "tagengo.cli", *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.mark.parametrize(
    "stage",
    [
        ["curate", "--format", "prompts"],
        # No server listens on port 9: an empty input must make no call at all.
        ["generate", "--model", "m", "--base-url", "http://127.0.0.1:9/v1"],
    ],
)
def test_an_empty_input_is_said_so_and_a_nonempty_one_is_not(tmp_path, stage):
    empty = tmp_path / "empty [x].jsonl"  # brackets: the path is printed as text, not markup
    empty.write_text("")
    res = _run(*stage, "--input", str(empty), "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    said = " ".join(res.stderr.split())
    assert f"warning: {empty} held no rows" in said
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["counts"]["read"] == 0

    if stage[0] == "curate":
        full = tmp_path / "one.jsonl"
        full.write_text(
            json.dumps({"id": "a", "prompt": "How do plants turn sunlight into sugar?", "language": "en"})
            + "\n"
        )
        res = _run(*stage, "--input", str(full), "--out", str(tmp_path / "out2"))
        assert res.returncode == 0, res.stderr
        assert "held no rows" not in res.stderr
