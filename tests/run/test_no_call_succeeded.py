"""A run of model calls where no call got an answer writes its complete folder (every row
rejected with its reason) but ends with exit status 2 and the fix, in every LLM stage: a script
or a Makefile must not read "0" as "it worked". A run that got some answers, or whose answers
the contract rejected (a statement about the data, not the call), still exits 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from servers.echo_chat import EchoChatServer
from servers.loopback import started_servers


@pytest.fixture
def echo():
    for make in started_servers(EchoChatServer):
        yield make()


def _rows(path: Path, texts: list[str]) -> Path:
    rows = [{"id": f"r{i}", "prompt": t, "language": "en"} for i, t in enumerate(texts)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _run(stage: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tagengo.cli", stage, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=300,
    )


def _common(echo, tmp_path: Path, src: Path, out: str) -> list[str]:
    return [
        "--input", str(src), "--out", str(tmp_path / out), "--model", "teacher",
        "--base-url", echo.url, "--cache-path", str(tmp_path / "c.sqlite"),
        "--timeout-s", "2", "--backoff-base-s", "0.02",
    ]  # fmt: skip


REFUSED = [f"FAULT=refuse Explain the water cycle in a few sentences, part {i}." for i in range(4)]


@pytest.mark.parametrize(
    ("stage", "own"),
    [("generate", []), ("translate", ["--to", "de", "--source-language", "en"])],
)
def test_every_call_refused_exits_2_with_the_fix_and_a_complete_folder(echo, tmp_path, stage, own):
    src = _rows(tmp_path / "in.jsonl", REFUSED)
    res = _run(stage, *_common(echo, tmp_path, src, "out"), *own)
    assert res.returncode == 2, res.stderr
    err = " ".join(res.stderr.split())
    assert "no call to the model succeeded" in err
    assert "--max-tokens-param max_completion_tokens" in err  # the fix for this refusal
    assert "--force" in err and "Traceback" not in err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    # generate keeps nothing; translate keeps its source rows, none of its translations.
    assert manifest["counts"]["rejected"] == len(REFUSED)
    assert manifest["counts"]["kept"] == (len(REFUSED) if stage == "translate" else 0)


def test_one_answered_call_is_enough_for_exit_0(echo, tmp_path):
    src = _rows(tmp_path / "in.jsonl", [*REFUSED, "Explain the water cycle in a few sentences."])
    res = _run("generate", *_common(echo, tmp_path, src, "out"))
    assert res.returncode == 0, res.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["counts"]["kept"] == 1 and manifest["counts"]["rejected"] == len(REFUSED)
    # A plain re-run would find the output up to date: the run says how failed rows are retried.
    assert "4 calls failed" in res.stderr and "re-run with --force" in res.stderr
    # ... and it is true: --force makes only the failed calls again.
    before = echo.received
    again = _run("generate", *_common(echo, tmp_path, src, "out"), "--force")
    assert again.returncode == 0, again.stderr
    assert echo.received - before == len(REFUSED)


def test_answers_the_contract_rejects_are_a_verdict_on_the_data_not_a_failed_run(echo, tmp_path):
    # Every answer cut at the token budget: nothing kept, but every call was answered.
    src = _rows(tmp_path / "in.jsonl", [f"FAULT=budget Tell me a story, part {i}." for i in range(3)])
    res = _run("generate", *_common(echo, tmp_path, src, "out"))
    assert res.returncode == 0, res.stderr
    assert "nothing was kept" in res.stderr
    assert "no call to the model succeeded" not in res.stderr
