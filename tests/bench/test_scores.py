"""Averages exactly as FastChat's show_result, on a judgment file we wrote by hand.

The fixture (fixtures/mt_bench/model_judgment/gpt-4_single.jsonl):

    model  q  category  turn 1      turn 2
    alpha  1  writing   8           6
    alpha  2  math      4           -1 (no verdict)
    alpha  3  coding    -1 $ERROR$  7
    alpha  4  stem      9           -1 $ERROR$
    beta   1  writing   5           3
    beta   2  math      10          9
    beta   3  coding    2           -1 $ERROR$
    beta   4  stem      7           4
"""

from __future__ import annotations

import pytest

from tagengo.bench.scores import SingleCounts, mean_by, model_average, pair_summary, scored_rows, turn_average
from tagengo.io.bench_layout import open_bench
from tagengo.io.fastchat import read_pair_judgments, read_single_judgments

from .conftest import FIXTURES

BENCH = FIXTURES / "mt_bench"


def _rows():
    bench = open_bench(BENCH)
    counts = SingleCounts()
    rows = scored_rows(
        bench, read_single_judgments(BENCH / "model_judgment" / "gpt-4_single.jsonl"), "en", 1, counts
    )
    return rows, counts


def test_average_pools_both_turns_after_dropping_minus_one() -> None:
    rows, counts = _rows()
    avg = model_average(rows)
    # alpha keeps 8, 4, 9 (turn 1) and 6, 7 (turn 2): (8+4+9+6+7)/5
    assert avg["alpha"] == (pytest.approx(34 / 5), 5)
    # beta keeps 5, 10, 2, 7 and 3, 9, 4: 40/7
    assert avg["beta"] == (pytest.approx(40 / 7), 7)
    # ... which is not the mean of the two turn means (7.0 and 6.5 -> 6.75 for alpha)
    t1, t2 = turn_average(rows, 1), turn_average(rows, 2)
    assert t1["alpha"] == (pytest.approx(7.0), 3) and t2["alpha"] == (pytest.approx(6.5), 2)
    assert (t1["alpha"][0] + t2["alpha"][0]) / 2 != pytest.approx(avg["alpha"][0])
    assert t1["beta"][0] == pytest.approx(6.0) and t2["beta"][0] == pytest.approx(16 / 3)
    assert (counts.rows, counts.used, counts.no_verdict, counts.api_errors) == (16, 12, 4, 3)
    assert counts.rows == counts.used + counts.no_verdict


def test_per_category_and_turn() -> None:
    rows, _ = _rows()
    by_cat = {k: v[0] for k, v in mean_by(rows, lambda r: (r.model, r.category)).items()}
    assert by_cat == {
        ("alpha", "writing"): 7.0,
        ("alpha", "math"): 4.0,
        ("alpha", "coding"): 7.0,
        ("alpha", "stem"): 9.0,
        ("beta", "writing"): 4.0,
        ("beta", "math"): 9.5,
        ("beta", "coding"): 2.0,
        ("beta", "stem"): 5.5,
    }
    cell = mean_by(rows, lambda r: (r.model, r.category, r.turn))
    assert cell[("beta", "math", 2)] == (9.0, 1)
    assert ("alpha", "math", 2) not in cell  # its only row was -1


def test_duplicates_and_unknown_questions_are_counted(tmp_path) -> None:
    src = (BENCH / "model_judgment" / "gpt-4_single.jsonl").read_text().splitlines()
    extra = src[0].replace('"question_id": 1', '"question_id": 99')
    path = tmp_path / "j.jsonl"
    path.write_text("\n".join([*src, src[0], extra]) + "\n")
    counts = SingleCounts()
    rows = scored_rows(open_bench(BENCH), read_single_judgments(path), "en", 1, counts)
    assert counts.duplicates == 1 and counts.unknown_question == 1
    assert [r.category for r in rows if r.qkey == "99"] == ["unknown"]
    # FastChat counts a repeated row twice, and so do we: alpha gains another 8 and the 8 of q99
    assert model_average(rows)["alpha"] == (pytest.approx(50 / 7), 7)


def test_pairwise_win_rates_by_hand() -> None:
    rows = read_pair_judgments(BENCH / "model_judgment" / "gpt-4_pair.jsonl")
    s = pair_summary(rows)
    # q3 alpha-beta has an error in game 1: dropped. Of the 6 left, 3 agree in both orders.
    assert (s.rows, s.errors, s.consistent) == (7, 1, 3)
    assert s.position_consistency == pytest.approx(0.5)
    a, b, g = s.tallies["alpha"], s.tallies["beta"], s.tallies["gamma"]
    assert (a.win, a.loss, a.tie) == (1, 2, 2)
    assert (b.win, b.loss, b.tie) == (1, 1, 3)
    assert (g.win, g.loss, g.tie) == (1, 0, 1)
    assert a.win_rate == pytest.approx(1 / 5) and a.adjusted_win_rate == pytest.approx(2 / 5)
    assert b.adjusted_win_rate == pytest.approx(2.5 / 5)
    assert g.adjusted_win_rate == pytest.approx(0.75)


def test_pairwise_against_a_baseline() -> None:
    rows = read_pair_judgments(BENCH / "model_judgment" / "gpt-4_pair.jsonl")
    s = pair_summary(rows, baseline="beta")
    assert "beta" not in s.tallies
    a, g = s.tallies["alpha"], s.tallies["gamma"]
    assert (a.win, a.loss, a.tie) == (1, 1, 2)
    assert (g.win, g.loss, g.tie) == (0, 0, 1)


def test_a_match_is_question_model_turn_and_judge_model(tmp_path) -> None:
    """The prompt name is not part of the match: a second prompt's verdict is a duplicate."""
    src = (BENCH / "model_judgment" / "gpt-4_single.jsonl").read_text().splitlines()
    twin = src[0].replace('"single-v1"', '"my-single-v2"')
    path = tmp_path / "j.jsonl"
    path.write_text("\n".join([*src, twin]) + "\n")
    counts = SingleCounts()
    scored_rows(open_bench(BENCH), read_single_judgments(path), "en", 1, counts)
    assert counts.duplicates == 1 and counts.duplicate_examples == ["question 1, model alpha, turn 1"]


def test_gated_pairs_are_not_counted_as_consistent() -> None:
    from tagengo.io.fastchat import PairJudgment

    judged = PairJudgment(1, "a", "b", "model_1", "model_2", ("j", "p"))
    gated = PairJudgment(2, "a", "b", "model_1", "model_1", ("j", "p"), extra={"gate": {"model_2": {}}})
    s = pair_summary([judged, gated])
    assert (s.rows, s.gated, s.judged, s.consistent) == (2, 1, 1, 0)
    assert s.position_consistency == 0.0
    assert s.tallies["a"].win == 1  # the gate's decision still counts as a game
