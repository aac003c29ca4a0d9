"""Agreement with human ratings on small CSVs we wrote, against hand-computed figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagengo.bench.agreement import agreement_report, pair_lookup, read_human_csv, single_lookup
from tagengo.bench.formats import read_pair_judgments, read_single_judgments
from tagengo.errors import InputError

from .conftest import FIXTURES

J = FIXTURES / "mt_bench" / "model_judgment"


def _rows(report, comparison):
    return {r.turn: r for r in report if r.comparison == comparison}


def test_pairwise_votes_against_pairwise_verdicts() -> None:
    votes, scores = read_human_csv(FIXTURES / "human_pairwise.csv", "en")
    assert len(votes) == 8 and not scores
    pairs = pair_lookup(("en", r) for r in read_pair_judgments(J / "gpt-4_pair.jsonl"))
    report, unmatched = agreement_report(votes, [], {}, pairs)
    rows = _rows(report, "human votes vs judge pairwise verdicts")
    # turn 1: votes on q1 (x2), q2, q3, q4 -> agree on q1/h1, q2 (tie-tie), q3 -> 3/5
    assert (rows["1"].n, rows["1"].agree) == (5, 3)
    # without ties: q2 (both tie) and q4 (judge tie) leave; q1/h1, q1/h2, q3 -> 2/3
    assert (rows["1"].n_no_ties, rows["1"].agree_no_ties) == (3, 2)
    assert (rows["2"].n, rows["2"].agree, rows["2"].n_no_ties, rows["2"].agree_no_ties) == (2, 1, 1, 1)
    all_ = rows["all"]
    assert (all_.n, all_.agree, all_.n_no_ties, all_.agree_no_ties) == (7, 4, 4, 3)
    assert all_.agreement == pytest.approx(4 / 7) and all_.agreement_no_ties == pytest.approx(3 / 4)
    assert all_.kappa == pytest.approx(13 / 34)  # see test_stats: the same 7 label pairs
    assert unmatched == {"votes without a pairwise judgment": 1}  # question 5 was never judged


def test_pairwise_votes_against_single_grades() -> None:
    votes, _ = read_human_csv(FIXTURES / "human_pairwise.csv", "en")
    singles = single_lookup(("en", r) for r in read_single_judgments(J / "gpt-4_single.jsonl"))
    report, _ = agreement_report(votes, [], singles, {})
    rows = _rows(report, "human votes vs preference from judge single grades")
    # alpha-beta only (gamma has no grades): q1 t1 8>5 -> a (h1 a: agree, h2 b: no),
    # q1 t2 6>3 -> a (human a: agree), q2 t1 alpha 4 < beta 10 -> b (human tie: no),
    # q2 t2 alpha -1 dropped -> no comparison
    assert (rows["1"].n, rows["1"].agree) == (3, 1)
    assert (rows["2"].n, rows["2"].agree) == (1, 1)


def test_single_scores_against_single_grades() -> None:
    votes, scores = read_human_csv(FIXTURES / "human_single.csv", "en")
    assert not votes and len(scores) == 6
    singles = single_lookup(("en", r) for r in read_single_judgments(J / "gpt-4_single.jsonl"))
    report, unmatched = agreement_report([], scores, singles, {})
    r = _rows(report, "human scores vs judge single grades")["1"]
    assert r.n == 6 and r.agree == 2  # 5=5 and 9=9
    assert r.spearman == pytest.approx(17 / (17.5 * 17) ** 0.5)
    implied = _rows(report, "preference from human scores vs from judge single grades")["1"]
    assert (implied.n, implied.agree) == (3, 3)
    assert unmatched == {}


def test_bad_csv_rows(tmp_path: Path) -> None:
    p = tmp_path / "h.csv"
    p.write_text("question_id,model_a,model_b,winner\n1,a,b,model_a\n2,a,b,maybe\n")
    with pytest.raises(InputError, match=r"h.csv:3: column 'winner' should be model_a, model_b or tie"):
        read_human_csv(p)
    p.write_text("question,who\n1,a\n")
    with pytest.raises(InputError, match="header should have question_id, model_a, model_b, winner"):
        read_human_csv(p)
    p.write_text("question_id,model,score\n1,a,high\n")
    with pytest.raises(InputError, match=r"h.csv:2: column 'score' should be a number"):
        read_human_csv(p)


@pytest.mark.parametrize("name", ["human_pairwise.csv", "human_single.csv"])
def test_human_ratings_saved_with_a_byte_order_mark_read_the_same(tmp_path: Path, name: str) -> None:
    # Excel's "CSV UTF-8" starts the file with U+FEFF, which must not become part of 'question_id'.
    p = tmp_path / name
    p.write_bytes(b"\xef\xbb\xbf" + (FIXTURES / name).read_bytes())
    assert read_human_csv(p, "en") == read_human_csv(FIXTURES / name, "en")
