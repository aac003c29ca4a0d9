"""`show`: tables, CSVs and pictures from judgment files, runs, pairwise and human agreement."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tagengo.bench.config import ShowConfig
from tagengo.bench.show import show
from tagengo.errors import ConfigError, InputError
from tagengo.io.bench_layout import open_bench, open_benches

from .conftest import FIXTURES


def _csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_single_tables_and_pictures(fixture_copy: Callable[[str], Path], tmp_path: Path) -> None:
    bench = open_bench(fixture_copy("mt_bench"))
    out = show([bench], ShowConfig(bootstrap_iters=200), tmp_path / "report")
    names = sorted(p.name for p in out.files)
    assert names == [
        "heatmap.png",
        "provenance.json",
        "radar_en.png",
        "scores.csv",
        "scores.md",
        "scores_long.csv",
    ]
    rows = {r["model"]: r for r in _csv(tmp_path / "report" / "scores.csv")}
    assert float(rows["alpha"]["score"]) == pytest.approx(34 / 5, abs=1e-4)  # FastChat pooling, by hand
    assert float(rows["beta"]["score"]) == pytest.approx(40 / 7, abs=1e-4)
    assert float(rows["alpha"]["turn_1"]) == pytest.approx(7.0) and float(
        rows["alpha"]["turn_2"]
    ) == pytest.approx(6.5)
    assert int(rows["alpha"]["n"]) == 5
    assert float(rows["alpha"]["ci_low"]) <= 34 / 5 <= float(rows["alpha"]["ci_high"])
    long = {(r["model"], r["category"], r["turn"]): r for r in _csv(tmp_path / "report" / "scores_long.csv")}
    assert float(long[("beta", "math", "all")]["score"]) == pytest.approx(9.5)
    assert float(long[("alpha", "coding", "2")]["score"]) == pytest.approx(7.0)
    assert ("alpha", "coding", "1") not in long  # only an $ERROR$ row
    md = (tmp_path / "report" / "scores.md").read_text()
    assert "| alpha | 6.80 [" in md and "| en | 16 | 12 | 4 | 3 | 0 | 0 | 0 | 0 |" in md
    _png(tmp_path / "report" / "radar_en.png")
    _png(tmp_path / "report" / "heatmap.png")


def test_means_over_other_questions_and_grades_off_the_scale_are_named(fixture_copy, tmp_path: Path) -> None:
    """A model scored on fewer (question, turn) pairs than another, and grades outside 1-10 that
    the fastchat policy keeps, are said under the table and on the console (a newcomer's trial:
    a model whose answers failed on two questions tied the one that answered all)."""
    from rich.console import Console

    path = fixture_copy("mt_bench")
    judgments = path / "model_judgment" / "gpt-4_single.jsonl"
    _shifted_run(judgments, judgments, 5.0)  # alpha's grades of 6 and up go past 10
    console = Console(record=True, width=300)
    out = show([open_bench(path)], ShowConfig(bootstrap_iters=0), tmp_path / "r", console=console)
    counts = out.single.counts["en"]  # type: ignore[union-attr]
    assert counts.out_of_range == sum(1 for r in _rows(judgments) if r["score"] > 10)
    assert counts.out_of_range > 0
    md = (tmp_path / "r" / "scores.md").read_text()
    said = console.export_text()
    for text in (md, said):
        assert f"en: {counts.out_of_range} of 12 grades are outside the judge's 1-10 scale" in text
        assert "en: not every model is scored on the same questions: alpha 5, beta 7 of the 8" in text


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def _shifted_run(src: Path, dest: Path, shift: float) -> None:
    rows = [json.loads(x) for x in src.read_text().splitlines()]
    for r in rows:
        if r["model"] == "alpha" and r["score"] != -1:
            r["score"] = r["score"] + shift
    dest.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_runs_give_the_median_and_spread(fixture_copy, tmp_path: Path) -> None:
    path = fixture_copy("mt_bench")
    jdir = path / "model_judgment"
    _shifted_run(jdir / "gpt-4_single.jsonl", jdir / "gpt-4_single.run2.jsonl", 1.0)
    _shifted_run(jdir / "gpt-4_single.jsonl", jdir / "gpt-4_single.run3.jsonl", -2.0)
    out = show([open_bench(path)], ShowConfig(bootstrap_iters=100), tmp_path / "r")
    iv = out.single.overall["alpha"]["en"]  # type: ignore[union-attr]
    # run averages 6.8, 7.8, 4.8 -> median 6.8, spread 3.0; beta is the same in all runs
    assert (iv.estimate, iv.runs, iv.n) == (pytest.approx(6.8), 3, 15)
    assert iv.spread == pytest.approx(3.0)
    assert out.single.overall["beta"]["en"].spread == 0.0  # type: ignore[union-attr]
    two = show([open_bench(path)], ShowConfig(runs=2, bootstrap_iters=0), tmp_path / "r2")
    assert two.single.overall["alpha"]["en"].estimate == pytest.approx(7.3)  # type: ignore[union-attr]
    with pytest.raises(InputError, match=r"--runs 4 but run\(s\) \[4\]"):
        show([open_bench(path)], ShowConfig(runs=4), tmp_path / "r3")


def test_pairwise_report(fixture_copy, tmp_path: Path) -> None:
    bench = open_bench(fixture_copy("mt_bench"))
    out = show([bench], ShowConfig(mode="pairwise"), tmp_path / "p")
    rows = {r["model"]: r for r in _csv(tmp_path / "p" / "pairwise.csv")}
    assert float(rows["gamma"]["win_rate_adjusted"]) == pytest.approx(0.75)
    assert float(rows["alpha"]["position_consistency"]) == pytest.approx(0.5)
    assert (
        "position consistency 50.0% (3/6 of the pairs the judge decided)"
        in (tmp_path / "p" / "pairwise.md").read_text()
    )
    assert out.pairs is not None


def test_human_agreement_files(fixture_copy, tmp_path: Path) -> None:
    bench = open_bench(fixture_copy("mt_bench"))
    out = show([bench], ShowConfig(human=FIXTURES / "human_single.csv", plots=False), tmp_path / "h")
    assert "agreement.md" in [p.name for p in out.files]
    rows = _csv(tmp_path / "h" / "agreement.csv")
    first = rows[0]
    assert first["comparison"] == "human scores vs judge single grades"
    assert float(first["spearman"]) == pytest.approx(0.98561, abs=1e-4)
    out = show([bench], ShowConfig(mode="pairwise", human=FIXTURES / "human_pairwise.csv"), tmp_path / "hp")
    md = (tmp_path / "hp" / "agreement.md").read_text()
    assert "| human votes vs judge pairwise verdicts | all | 7 | 0.571 | 4 | 0.750 | 0.382 |" in md
    # the same judge's single grades are in the bench too: their implied preferences are compared as well
    assert "| human votes vs preference from judge single grades | 1 | 3 | 0.333 |" in md


def test_which_judge(fixture_copy, tmp_path: Path) -> None:
    path = fixture_copy("mt_bench")
    with pytest.raises(InputError, match="no \\*_single.jsonl judgment files"):
        show(open_benches([FIXTURES / "mt_bench_DE"]), ShowConfig(), tmp_path / "x")
    (path / "model_judgment" / "gpt-4_single.jsonl").replace(path / "model_judgment" / "claude_single.jsonl")
    (path / "model_judgment" / "gpt-4_pair.jsonl").replace(path / "model_judgment" / "gpt-4_single.jsonl")
    with pytest.raises(ConfigError, match=r"several judges found \(claude, gpt-4\)"):
        show([open_bench(path)], ShowConfig(), tmp_path / "x")
    out = show(
        [open_bench(path)], ShowConfig(judge_model="claude", plots=False, bootstrap_iters=0), tmp_path / "x"
    )
    assert out.single is not None and out.single.judge == "claude"


def test_no_usable_verdict_gives_tables_without_charts(fixture_copy, tmp_path: Path) -> None:
    """The bundled 135M judge gives no readable grade: show must still say so, not crash."""
    path = fixture_copy("mt_bench")
    jfile = path / "model_judgment" / "gpt-4_single.jsonl"
    rows = [json.loads(x) for x in jfile.read_text().splitlines()]
    jfile.write_text("".join(json.dumps({**r, "score": -1}) + "\n" for r in rows))
    out = show([open_bench(path)], ShowConfig(), tmp_path / "e")
    assert sorted(p.name for p in out.files) == [
        "provenance.json",
        "scores.csv",
        "scores.md",
        "scores_long.csv",
    ]
    assert "| alpha | - | - |" in (tmp_path / "e" / "scores.md").read_text()
    assert "| en | 16 | 0 | 16 | 3 |" in (tmp_path / "e" / "scores.md").read_text()


def test_duplicated_verdicts_are_refused_not_averaged(fixture_copy, tmp_path: Path) -> None:
    """Two verdicts for one (question, model, turn, judge), here from two prompt sets under one
    judge name, would count one answer twice: show stops and names the file."""
    path = fixture_copy("mt_bench")
    jfile = path / "model_judgment" / "gpt-4_single.jsonl"
    first = json.loads(jfile.read_text().splitlines()[0])
    twin = {**first, "judge": ["gpt-4", "my-other-prompt"], "score": 2}
    jfile.write_text(jfile.read_text() + json.dumps(twin) + "\n")
    with pytest.raises(
        InputError, match=r"gpt-4_single.jsonl: 1 verdict\(s\) repeat .*question 1, model alpha, turn 1"
    ):
        show([open_bench(path)], ShowConfig(plots=False), tmp_path / "d")
    out = show(
        [open_bench(path)], ShowConfig(plots=False, bootstrap_iters=0, duplicates="fastchat"), tmp_path / "d"
    )
    assert out.single is not None and out.single.counts["en"].duplicates == 1
    assert out.single.overall["alpha"]["en"].estimate == pytest.approx((34 + 2) / 6)  # FastChat's way


def test_pair_duplicates_are_refused(fixture_copy, tmp_path: Path) -> None:
    path = fixture_copy("mt_bench")
    jfile = path / "model_judgment" / "gpt-4_pair.jsonl"
    first = json.loads(jfile.read_text().splitlines()[0])
    jfile.write_text(jfile.read_text() + json.dumps({**first, "judge": ["gpt-4", "pair-v1"]}) + "\n")
    with pytest.raises(InputError, match="question 1, alpha vs beta, turn 1"):
        show([open_bench(path)], ShowConfig(mode="pairwise"), tmp_path / "p")


def test_show_names_the_policy_and_writes_provenance(fixture_copy, tmp_path: Path) -> None:
    path = fixture_copy("mt_bench")
    out = show([open_bench(path)], ShowConfig(plots=False, bootstrap_iters=0), tmp_path / "r")
    md = (tmp_path / "r" / "scores.md").read_text()
    assert "Judge policy: not recorded (16 rows)." in md  # FastChat's own file says nothing
    prov = json.loads((tmp_path / "r" / "provenance.json").read_text())
    jfile = path / "model_judgment" / "gpt-4_single.jsonl"
    assert prov["judge"] == "gpt-4" and prov["policies"] == {"not recorded": 16}
    (rec,) = prov["files"]
    assert Path(rec.pop("bench")).resolve() == path.resolve()
    assert Path(rec.pop("path")).resolve() == jfile.resolve()
    sha = hashlib.sha256(jfile.read_bytes()).hexdigest()
    assert rec == {"language": "en", "run": 1, "sha256": sha, "rows": 16, "manifest": None}
    assert prov["prompts"]["single-v1"] > 0 and "provenance.json" in [p.name for p in out.files]
    # tagengo's rows carry their policy; a mix is said out loud
    rows = [json.loads(x) for x in jfile.read_text().splitlines()]
    jfile.write_text(
        "".join(
            json.dumps({**r, "policy": "robust" if i < 4 else "fastchat"}) + "\n" for i, r in enumerate(rows)
        )
    )
    show([open_bench(path)], ShowConfig(plots=False, bootstrap_iters=0), tmp_path / "m")
    md = (tmp_path / "m" / "scores.md").read_text()
    assert "Judge policies: **mixed**: fastchat (12 rows), robust (4 rows)" in md


def test_scores_csv_lists_every_model(fixture_copy, tmp_path: Path) -> None:
    """A model judged but without one usable verdict still has its line in scores.csv."""
    path = fixture_copy("mt_bench")
    jfile = path / "model_judgment" / "gpt-4_single.jsonl"
    rows = [json.loads(x) for x in jfile.read_text().splitlines()]
    jfile.write_text(
        "".join(json.dumps({**r, "score": -1 if r["model"] == "beta" else r["score"]}) + "\n" for r in rows)
    )
    show([open_bench(path)], ShowConfig(plots=False, bootstrap_iters=0), tmp_path / "r")
    by_model = {r["model"]: r for r in _csv(tmp_path / "r" / "scores.csv")}
    assert set(by_model) == {"alpha", "beta"}
    assert by_model["beta"]["score"] == "" and by_model["beta"]["n"] == "0"
    assert float(by_model["alpha"]["score"]) == pytest.approx(34 / 5, abs=1e-4)


def test_pair_consistency_counts_judged_pairs_only(fixture_copy, tmp_path: Path) -> None:
    path = fixture_copy("mt_bench")
    jfile = path / "model_judgment" / "gpt-4_pair.jsonl"
    gated = {
        "question_id": 4, "model_1": "alpha", "model_2": "beta", "g1_winner": "model_1", "g2_winner": "model_1",
        "judge": ["gpt-4", "pair-v2"], "g1_user_prompt": "", "g1_judgment": "$LANGUAGE_GATE$ ...",
        "g2_user_prompt": "", "g2_judgment": "$LANGUAGE_GATE$ ...", "turn": 1, "tstamp": 1.0,
        "gate": {"model_2": {"detected": "fr", "prob": 0.99, "expected": "en"}},
    }  # fmt: skip
    jfile.write_text(jfile.read_text() + json.dumps(gated) + "\n")
    show([open_bench(path)], ShowConfig(mode="pairwise"), tmp_path / "p")
    md = (tmp_path / "p" / "pairwise.md").read_text()
    assert (
        "1 decided by the language gate; position consistency 50.0% (3/6 of the pairs the judge decided)"
        in md
    )


def test_human_agreement_reads_fastchat_human_judgments(fixture_copy, tmp_path: Path) -> None:
    """issue #23 item 9: FastChat's human_judgments.json, two experts on one match: the report
    gives their agreement beside the judge's."""
    import json

    bench = open_bench(fixture_copy("mt_bench"))
    human = tmp_path / "human_judgments.json"
    vote = {"question_id": 1, "model_a": "alpha", "model_b": "beta", "winner": "model_a", "turn": 1}
    human.write_text(json.dumps([{**vote, "judge": "expert_0"}, {**vote, "judge": "expert_1"}]))
    show([bench], ShowConfig(mode="pairwise", human=human, plots=False), tmp_path / "h")
    md = (tmp_path / "h" / "agreement.md").read_text()
    assert "| human votes vs other annotators' votes | 1 | 1 | 1.000 | 1 | 1.000 |" in md
    assert "| human votes vs judge pairwise verdicts | 1 | 2 |" in md
