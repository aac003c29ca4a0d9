"""examples/mono-vs-multilingual runs end to end at toy scale and prints its comparison tables."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "examples" / "mono-vs-multilingual" / "run.py"

pytestmark = [pytest.mark.llm, pytest.mark.slow]


def test_recipe_runs_end_to_end(smol_dir: Path, tmp_path: Path, capsys) -> None:
    spec = importlib.util.spec_from_file_location("mono_vs_multi", RUN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "out"
    mod.main(
        [
            "--out", str(out), "--base-model", str(smol_dir), "--languages", "en",
            "--limit", "1", "--max-tokens", "8", "--max-steps", "2", "--max-length", "128",
        ]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert "mono vs multilingual: training" in err
    for name, n in (("multilingual", 24), ("mono-ja", 8)):
        m = json.loads((out / "train" / name / "manifest.json").read_text())
        assert m["counts"]["train"] == n and m["counts"]["steps"] == 2
    # issue #23 item 8: the untrained base answers and is judged too, as the reference row
    for name in ("base", "multilingual", "mono-ja"):
        answers = out / "bench" / "data" / "tagengo_mini" / "model_answer" / f"{name}.jsonl"
        assert len(answers.read_text().splitlines()) == 1
    judgments = list((out / "bench" / "data" / "tagengo_mini" / "model_judgment").glob("*_single.jsonl"))
    assert judgments and len(judgments[0].read_text().splitlines()) == 6  # 3 models x 2 turns
    assert {json.loads(x)["model"] for x in judgments[0].read_text().splitlines()} == {
        "base",
        "multilingual",
        "mono-ja",
    }
    assert any((out / "bench" / "report").iterdir())
    flat = " ".join(err.split())
    assert "against the untrained base" in flat and "base (reference)" in flat
