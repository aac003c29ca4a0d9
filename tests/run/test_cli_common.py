"""Options every stage shares: a count below one and an --out that is a file are one sentence, not a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tagengo.cli import main


def _input(tmp_path: Path) -> Path:
    path = tmp_path / "in.jsonl"
    rows = [
        {
            "id": f"r{i}",
            "messages": [{"role": "user", "content": f"Tell me about bridges, {i}."}],
            "language": "en",
        }
        for i in range(6)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("stage", ["curate", "dedup"])
@pytest.mark.parametrize("workers", ["0", "-3"])
def test_workers_below_one_is_a_usage_error(tmp_path, capsys, stage, workers):
    out = tmp_path / "out"
    assert main([stage, "--input", str(_input(tmp_path)), "--out", str(out), "--workers", workers]) == 2
    err = capsys.readouterr().err
    assert f"Invalid value for '--workers': {workers} is not in the range x>=1" in err
    assert not out.exists()


@pytest.mark.parametrize("stage", ["curate", "dedup"])
@pytest.mark.parametrize("below", ["", "sub"])
def test_out_that_is_a_file_is_one_sentence(tmp_path, capsys, stage, below):
    f = tmp_path / "f"
    f.write_text("keep me")
    out = f / below if below else f
    code = main(
        [stage, "--input", str(_input(tmp_path)), "--out", str(out), "--workers", "1", "--no-progress"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {out}: ") and "not a folder" in err and "Traceback" not in err
    assert f.read_text() == "keep me"
