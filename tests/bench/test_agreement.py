"""Agreement with human ratings on small CSVs we wrote, against hand-computed figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagengo.bench.agreement import agreement_report, pair_lookup, read_human_csv, single_lookup
from tagengo.errors import InputError
from tagengo.io.fastchat import read_pair_judgments, read_single_judgments

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


def test_exact_agreement_rounds_halves_up() -> None:
    """issue #23 item 9: round() sent 6.5 to 6 and 7.5 to 8, so a judge's [[6.5]] 'agreed' with a
    human 6 but not with a 7, while [[7.5]] agreed with 8. Halves now go up, every one alike."""
    from tagengo.bench.agreement import HumanScore

    judge = {
        ("en", "1", "m", 1): 6.5,
        ("en", "2", "m", 1): 7.5,
        ("en", "3", "m", 1): 6.5,
        ("en", "4", "m", 1): 8.5,
    }
    human = [
        HumanScore("en", "1", "m", 1, 7.0, "h"),  # 6.5 -> 7: agree
        HumanScore("en", "2", "m", 1, 8.0, "h"),  # 7.5 -> 8: agree
        HumanScore("en", "3", "m", 1, 6.0, "h"),  # 6.5 -> 7: no
        HumanScore("en", "4", "m", 1, 8.0, "h"),  # 8.5 -> 9: no
    ]
    report, _ = agreement_report([], human, judge, {})
    row = _rows(report, "human scores vs judge single grades")["1"]
    assert (row.n, row.agree) == (4, 2)
    # kappa on the same whole grades: judge 7, 8, 7, 9 vs human 7, 8, 6, 8
    from tagengo.bench.stats import cohen_kappa

    assert row.kappa == pytest.approx(cohen_kappa([7, 8, 7, 9], [7, 8, 6, 8]))


#: FastChat's human judgments (human_judgments.json): experts and authors voting on one match.
FASTCHAT_HUMAN = [
    # q81 turn 1: two experts for gpt-4, an author says tie
    {
        "question_id": 81,
        "model_a": "gpt-4",
        "model_b": "llama-13b",
        "winner": "model_a",
        "judge": "expert_0",
        "turn": 1,
    },
    {
        "question_id": 81,
        "model_a": "gpt-4",
        "model_b": "llama-13b",
        "winner": "model_a",
        "judge": "expert_1",
        "turn": 1,
    },
    {
        "question_id": 81,
        "model_a": "llama-13b",
        "model_b": "gpt-4",
        "winner": "tie",
        "judge": "author_2",
        "turn": 1,
    },
    # q82 turn 1: the models shown the other way round; the two experts disagree
    {
        "question_id": 82,
        "model_a": "llama-13b",
        "model_b": "gpt-4",
        "winner": "model_b",
        "judge": "expert_0",
        "turn": 1,
    },
    {
        "question_id": 82,
        "model_a": "gpt-4",
        "model_b": "llama-13b",
        "winner": "model_b",
        "judge": "expert_3",
        "turn": 1,
    },
    # q81 turn 2: two kinds of tie agree
    {
        "question_id": 81,
        "model_a": "gpt-4",
        "model_b": "llama-13b",
        "winner": "tie (bothbad)",
        "judge": "expert_0",
        "turn": 2,
    },
    {
        "question_id": 81,
        "model_a": "gpt-4",
        "model_b": "llama-13b",
        "winner": "tie",
        "judge": "expert_1",
        "turn": 2,
    },
    # q83 turn 2: one annotator twice is no comparison between humans
    {
        "question_id": 83,
        "model_a": "gpt-4",
        "model_b": "llama-13b",
        "winner": "model_a",
        "judge": "expert_0",
        "turn": 2,
    },
    {
        "question_id": 83,
        "model_a": "gpt-4",
        "model_b": "llama-13b",
        "winner": "model_a",
        "judge": "expert_0",
        "turn": 2,
    },
]


@pytest.mark.parametrize("shape", ["array", "lines"])
def test_agreement_between_human_annotators(tmp_path: Path, shape: str) -> None:
    """issue #23 item 9: where a match has several human judgments (FastChat's format), every two
    by different annotators are compared, as MT-Bench-X and FastChat report human-human agreement."""
    import json

    from tagengo.bench.agreement import HUMAN_VOTES, read_human

    conv = {"conversation_a": [{"role": "user", "content": "hi"}], "tstamp": 1.0}  # ignored
    records = [{**r, **conv} for r in FASTCHAT_HUMAN]
    if shape == "array":
        path = tmp_path / "human_judgments.json"
        path.write_text(json.dumps(records))
    else:  # what datasets' to_json writes, under either name
        path = tmp_path / "human_judgments.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    votes, scores = read_human(path, "en")
    assert len(votes) == 9 and not scores
    report, unmatched = agreement_report(votes, [], {}, {})
    rows = _rows(report, HUMAN_VOTES)
    # turn 1: q81 e0-e1 agree, e0-a2 and e1-a2 not (a vs tie); q82 e0 (gpt-4) vs e3 (llama) not
    assert (rows["1"].n, rows["1"].agree, rows["1"].n_no_ties, rows["1"].agree_no_ties) == (4, 1, 2, 1)
    # turn 2: q81's two ties agree; q83's two votes are one annotator's
    assert (rows["2"].n, rows["2"].agree, rows["2"].n_no_ties) == (1, 1, 0)
    assert (rows["all"].n, rows["all"].agree, rows["all"].n_no_ties, rows["all"].agree_no_ties) == (
        5,
        2,
        2,
        1,
    )
    # kappa over the turn-1 pairs in both orders: p_o = 2/8, p_e = (25 + 4 + 1) / 64
    assert rows["1"].kappa == pytest.approx(-7 / 17)
    assert unmatched == {}


def test_agreement_between_annotators_of_scores(tmp_path: Path) -> None:
    from tagengo.bench.agreement import HUMAN_SCORES

    p = tmp_path / "h.csv"
    p.write_text(
        "question_id,model,turn,score,judge\n"
        "1,alpha,1,7,ann1\n1,alpha,1,6.5,ann2\n1,alpha,1,5,ann3\n"  # 7=6.5 (halves up), 7/5 and 6.5/5 not
        "2,alpha,1,4,ann1\n"  # one annotator: no pair
    )
    votes, scores = read_human_csv(p, "en")
    report, _ = agreement_report(votes, scores, {}, {})
    (row,) = [r for r in report if r.comparison == HUMAN_SCORES]
    assert (row.turn, row.n, row.agree) == ("1", 3, 1)
    # over the three pairs in both orders (7, 6.5), (7, 5), (6.5, 5) and back: covariance -13/6,
    # variance 13/3 on each side
    assert row.pearson == pytest.approx(-0.5)


def test_fastchat_human_file_errors_name_the_item(tmp_path: Path) -> None:
    import json

    from tagengo.bench.agreement import read_human

    p = tmp_path / "h.json"
    p.write_text(json.dumps([FASTCHAT_HUMAN[0], {"question_id": 1, "model_a": "a"}]))
    with pytest.raises(InputError, match=r"h.json: item 2: a human judgment needs question_id, model_a"):
        read_human(p)
    p.write_text(json.dumps([{**FASTCHAT_HUMAN[0], "winner": "maybe"}]))
    with pytest.raises(
        InputError, match=r"h.json: item 1: column 'winner' should be model_a, model_b or tie"
    ):
        read_human(p)
