"""`tagengo demo` end to end, shrunk (one prompt per language, 48-token answers, one question):
every stage runs for real on the bundled sample and the bundled model, and each stage's output
is what the next one read."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest


# The demo runs the bundled chat model (generate, judge) and the bundled embedder (dedup).
@pytest.mark.llm
@pytest.mark.embedder
@pytest.mark.slow
def test_demo_runs_every_stage(tmp_path: Path) -> None:
    from tagengo.demo import run_demo
    from tagengo.io.fastchat import read_single_judgments
    from tagengo.run.dataset import read_manifest

    out = tmp_path / "demo"
    steps = run_demo(out, per_language=1, max_tokens=48, questions=1, bench_languages=("en",), progress=False)
    assert [s.name for s in steps] == ["curate", "mix", "generate", "export", "bench", "report"]
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "1-curated" in page and "3-generated" in page and "5-bench" in page

    curated = read_manifest(out / "1-curated")
    assert curated["steps"][-1]["name"] == "dedup" and curated["steps"][-1]["removed"] > 0
    mixed = read_manifest(out / "2-mix")
    n_languages = sum(1 for v in curated["languages"].values() if v["kept"])
    assert mixed["counts"]["kept"] == n_languages  # one prompt per language
    generated = read_manifest(out / "3-generated")
    c = generated["counts"]
    assert c["read"] == mixed["counts"]["kept"] == c["kept"] + c["rejected"]
    # The summary tells how many answers were cut off at the token limit: the rejected rows say so.
    reasons = pq.read_table(out / "3-generated" / "rejected", columns=["reason"]).column("reason").to_pylist()
    cut = sum("finish_reason=length" in r for r in reasons)
    summary = steps[2].summary
    assert f"{c['kept']} finished answers" in summary and f"{cut} cut off at 48 tokens" in summary
    assert c["kept"] > 0  # asked for brevity, the bundled model finishes some answers within 48 tokens

    train = [json.loads(line) for line in (out / "4-export" / "train.jsonl").read_text().splitlines()]
    assert len(train) == generated["counts"]["kept"]
    assert all(row["conversations"][-1]["from"] == "gpt" for row in train)
    assert (out / "4-export" / "README.md").exists()

    judgments = list((out / "5-bench" / "data").glob("*/model_judgment/*_single.jsonl"))
    assert judgments
    rows = read_single_judgments(judgments[0])
    assert len(rows) == 2 and all(1 <= r.score <= 10 for r in rows)  # both turns, grammar-constrained
    assert any(p.suffix == ".md" for p in (out / "5-bench" / "report").iterdir())

    again = run_demo(out, per_language=1, max_tokens=48, questions=1, bench_languages=("en",), progress=False)
    assert [s.name for s in again] == [s.name for s in steps]  # a re-run reuses everything
    assert again[2].summary == summary


def test_a_llama_cpp_that_cannot_run_here_stops_the_demo_with_a_sentence(monkeypatch, tmp_path: Path) -> None:
    # A crash cannot be produced on demand with a working build: stand in the child's result.
    from tagengo import demo, doctor
    from tagengo.errors import TagengoError

    crashed = doctor.CheckResult(
        "llamacpp", False, 1.0, "crashed with SIGSEGV inside native code", "reinstall"
    )
    monkeypatch.setattr(doctor, "run_check", lambda name: crashed)
    with pytest.raises(
        TagengoError, match="llama.cpp cannot run the bundled model on this machine: crashed with SIGSEGV"
    ):
        demo.ensure_llamacpp_runs()


@pytest.mark.parametrize(
    "kw, message",
    [
        (
            {"bench_languages": ("xx",)},
            "no bundled mini MT-Bench-X for xx; choose from de, en, es, fr, ja, zh",
        ),
        ({"bench_languages": ()}, "an empty list"),
        ({"per_language": 0}, "at least 1"),
        ({"questions": 0}, "at least 1"),
    ],
)
def test_bad_options_stop_the_demo_before_any_stage_runs(tmp_path: Path, kw, message) -> None:
    from tagengo.demo import run_demo
    from tagengo.errors import TagengoError

    with pytest.raises(TagengoError, match=message):
        run_demo(tmp_path / "demo", progress=False, **kw)
    assert not (tmp_path / "demo" / "1-curated").exists()


def test_demo_cli_refuses_bad_counts_and_a_file_as_out(tmp_path: Path) -> None:
    from tagengo.cli import main

    assert main(["demo", "--out", str(tmp_path / "d"), "--max-tokens", "-1"]) == 2
    f = tmp_path / "f"
    f.write_text("x")
    assert main(["demo", "--out", str(f)]) == 2
    assert not (tmp_path / "d").exists()
