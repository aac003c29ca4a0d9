"""The ranking judge's prompt: answers under their letters, the letters listed, a re-ask that
carries the parser's reason."""

from __future__ import annotations

from tagengo.llm.ranking import parse_ranking
from tagengo.llm.ranking_prompts import judge_messages, reask_message


def test_answers_appear_under_their_letters_in_the_order_given():
    msgs = judge_messages(
        [{"role": "user", "content": "Wie geht es?"}], ["first", "second", "third"], ["A", "B", "C"], "German"
    )
    assert msgs[0]["role"] == "system" and "German" in msgs[0]["content"]
    user = msgs[1]["content"]
    assert (
        user.index("[Answer A]\nfirst\n")
        < user.index("[Answer B]\nsecond\n")
        < user.index("[Answer C]\nthird")
    )
    assert "[User]\nWie geht es?" in user and "A, B, C exactly" in user


def test_the_example_ranking_is_valid_and_not_the_shown_order():
    user = judge_messages([{"role": "user", "content": "q"}], ["x"] * 4, list("ABCD"), "English")[1][
        "content"
    ]
    example = user.splitlines()[-1]
    ranking, _ = parse_ranking(example, list("ABCD"))
    assert str(ranking) != "A>B>C>D"


def test_the_reask_names_the_problem_and_the_letters():
    msg = reask_message("label missing: D", list("ABCD"))
    assert msg["role"] == "user" and "label missing: D" in msg["content"] and "A, B, C, D" in msg["content"]
