"""Pairs in TRL's formats: the standard form only for single-user-turn prompts."""

from __future__ import annotations

from tagengo.prefer.pairs import pair_rows, to_standard
from tagengo.records import Record


def _row(messages):
    pref = {
        "models": ["a", "b", "c"],
        "answers": [{"model": m, "content": f"answer {m}"} for m in "abc"],
        "ranked": [["a"], ["b"], ["c"]],
        "pairs": [
            {"chosen": "a", "rejected": "c", "chosen_rank": 1, "rejected_rank": 3},
            {"chosen": "b", "rejected": "c", "chosen_rank": 2, "rejected_rank": 3},
        ],
        "ranking": "B>A>C",
        "labels": {"A": "b", "B": "a", "C": "c"},
        "permutation": [1, 0, 2],
        "reasons": "r",
    }
    return Record(
        "r1", "t", "en", [*messages, {"role": "assistant", "content": "answer a"}], {"preference": pref}
    )


def test_every_pair_becomes_a_conversational_row():
    rows = pair_rows(_row([{"role": "user", "content": "q"}]))
    assert [r["id"] for r in rows] == ["r1#0", "r1#1"]
    assert rows[1]["prompt"] == [{"role": "user", "content": "q"}]
    assert rows[1]["chosen"] == [{"role": "assistant", "content": "answer b"}]
    assert rows[1]["rejected"] == [{"role": "assistant", "content": "answer c"}]
    assert rows[1]["meta"]["chosen_rank"] == 2 and rows[1]["meta"]["permutation"] == [1, 0, 2]
    std = to_standard(rows[0])
    assert (std["prompt"], std["chosen"], std["rejected"]) == ("q", "answer a", "answer c")


def test_a_prompt_with_a_system_turn_has_no_standard_form():
    rows = pair_rows(_row([{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]))
    assert len(rows[0]["prompt"]) == 2 and to_standard(rows[0]) is None
