"""The strict ranking parser: every label once, only '>' and '=', nothing after the line."""

from __future__ import annotations

import pytest

from tagengo.llm.ranking import Ranking, RankingError, labels_for, parse_ranking, parse_ranking_line

ABCD = ["A", "B", "C", "D"]


def test_ties_share_a_rank_and_order_is_kept():
    r = parse_ranking_line("C>A=B>D", ABCD)
    assert r.tiers == (("C",), ("A", "B"), ("D",))
    assert r.rank() == {"C": 1, "A": 2, "B": 2, "D": 3}
    assert str(r) == "C>A=B>D"


def test_spaces_around_signs_are_allowed():
    assert parse_ranking_line(" B > A = D>C ", ABCD) == Ranking((("B",), ("A", "D"), ("C",)))


def test_all_tied_is_one_tier():
    assert parse_ranking_line("A=B=C=D", ABCD).tiers == (("A", "B", "C", "D"),)


def test_reasons_are_the_text_before_the_ranking_line():
    reply = "A is correct and short.\nB misses the point.\n\nRanking: A>B\n"
    ranking, reasons = parse_ranking(reply, ["A", "B"])
    assert ranking.tiers == (("A",), ("B",))
    assert reasons == "A is correct and short.\nB misses the point."


def test_the_last_ranking_line_counts():
    # The judge may quote the format in its reasons; the final line is the verdict.
    reply = "The format is Ranking: A>B, so here:\nRanking: B>A"
    assert parse_ranking(reply, ["A", "B"])[0].tiers == (("B",), ("A",))


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("A>B>C", "missing: D"),
        ("A>B>C>D>A", "more than once: A"),
        ("A=A>B>C>D", "more than once: A"),
        ("A>B>C>E", "unknown label 'E'"),
        ("a>b>c>d", "unknown label 'a'"),
        ("A>B>C>D.", "unknown label 'D.'"),
        ("A,B,C,D", "unknown label 'A,B,C,D'"),
        ("A>>B>C>D", "'>' where a label was expected"),
        ("A<B<C<D", "unknown label 'A<B<C<D'"),
        ("A>B>C>D>", "ends with a sign"),
        ("A>B C>D", "'C' where '>' or '=' was expected"),
        ("", "empty"),
    ],
)
def test_malformed_rankings_are_refused_with_the_reason(line, problem):
    with pytest.raises(RankingError, match=problem):
        parse_ranking_line(line, ABCD)


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("A is better than B.", "no line starting with 'Ranking:'"),
        ("Ranking: A>B\nI hope this helps.", "text after"),
        ("Ranking: A>B because A is right", "'because' where '>' or '=' was expected"),
        ("**Ranking: A>B", "'\\*\\*' opens the 'Ranking:' line and is never closed"),
        ("**Ranking:* A>B", "never closed"),
        ("Ranking: **A>B", "unknown label '\\*\\*A'"),
        ("Ranking: A>B**", "unknown label 'B\\*\\*'"),
        ("**Ranking:** A>B**", "unknown label 'B\\*\\*'"),
        ("**Ranking:** A>B\nI hope this helps.", "text after"),
    ],
)
def test_replies_with_extra_text_are_refused(reply, problem):
    with pytest.raises(RankingError, match=problem):
        parse_ranking(reply, ["A", "B"])


@pytest.mark.parametrize(
    "reply",
    [
        "**Ranking:** B>A",
        "**Ranking**: B>A",
        "**Ranking: B>A**",
        "*Ranking:* B>A",
        "__Ranking:__ B>A",
        "_Ranking_: B>A",
        "***Ranking:*** B>A",
        "Ranking: **B>A**",
        "Ranking: `B>A`",
        "Ranking: **B** > **A**",
        "A: thin.\nB: thorough.\n\n**Ranking:** **B>A**\n",
    ],
)
def test_markdown_emphasis_around_the_label_or_the_ranking_is_read_through(reply):
    # Judges bold their verdict line (newcomer 32, item 14: 0 of 55 prompts kept).
    assert str(parse_ranking(reply, ["A", "B"])[0]) == "B>A"


def test_the_prefix_is_read_in_any_case_but_labels_are_not():
    assert parse_ranking("ranking: B>A", ["A", "B"])[0].tiers == (("B",), ("A",))
    with pytest.raises(RankingError):
        parse_ranking("Ranking: b>a", ["A", "B"])


def test_labels_for():
    assert labels_for(3) == ["A", "B", "C"]
    with pytest.raises(ValueError):
        labels_for(27)


def test_tie_order_favours_no_model_position_and_repeats():
    from collections import Counter

    from tagengo.llm.ranking import tie_order

    models = ["first", "second", "third"]
    firsts = Counter(tie_order(models, 42, f"row{i}")[0] for i in range(3000))
    # Each model leads about a third of the rows (binomial sd ~26 around 1000).
    assert set(firsts) == set(models) and all(850 < n < 1150 for n in firsts.values())
    assert tie_order(models, 42, "row7") == tie_order(list(reversed(models)), 42, "row7")
    assert {tuple(tie_order(models, s, "row7")) for s in range(20)} != {tuple(tie_order(models, 0, "row7"))}
