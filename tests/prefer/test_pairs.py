"""Pairs in TRL's formats: the standard form only for single-user-turn prompts."""

from __future__ import annotations

from tagengo.records import Record
from tagengo.run.pairs import pair_rows, to_standard


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


def test_among_wrong_language_answers_the_rejected_one_is_not_always_the_first_model():
    from collections import Counter

    from tagengo.run.pairs import build_pairs

    answers = {
        "good": "Die Antwort ist vier.",
        "x": "The answer is four.",
        "y": "Answer: 4",
        "z": "four, I think",
    }
    ranked = [["good"], ["x", "y", "z"]]  # x, y, z: wrong language, tied last in --model order
    rejected = Counter(
        build_pairs(ranked, answers, "best-worst", 1, seed=0, row_id=f"r{i}")[0][0]["rejected"]
        for i in range(900)
    )
    assert set(rejected) == {"x", "y", "z"} and all(250 < n < 350 for n in rejected.values())
    once = build_pairs(ranked, answers, "best-worst", 1, seed=0, row_id="r1")
    assert once == build_pairs(ranked, answers, "best-worst", 1, seed=0, row_id="r1")  # a re-run agrees


def test_pairs_whose_answers_are_the_same_text_are_left_out_with_their_reason():
    from tagengo.run.pairs import build_pairs

    answers = {"a": "Paris is the capital.", "b": "paris is the capital", "c": "Lyon is the capital."}
    pairs, same = build_pairs([["a"], ["b"], ["c"]], answers, "all", 1, seed=0, row_id="r")
    assert [(p["chosen"], p["rejected"]) for p in pairs] == [("a", "c"), ("b", "c")]
    assert [(p["chosen"], p["rejected"]) for p in same] == [("a", "b")]
    assert same[0]["reason"].startswith("same_answer: ")
    # best-worst: the worst answer says what the best says, so no pair at all.
    pairs, same = build_pairs([["a"], ["c"], ["b"]], answers, "best-worst", 1, seed=0, row_id="r")
    assert pairs == [] and len(same) == 1
    # best-worst with a tied bottom tier takes the other member when one is the same text.
    pairs, same = build_pairs([["a"], ["b", "c"]], answers, "best-worst", 1, seed=0, row_id="r")
    assert [(p["chosen"], p["rejected"]) for p in pairs] == [("a", "c")]


def test_written_pair_files_leave_out_pairs_of_the_same_text_and_count_them(tmp_path):
    import json

    from tagengo.records import records_to_table
    from tagengo.run.dataset import write_parquet_atomic
    from tagengo.run.pairs import write_pairs

    row = _row([{"role": "user", "content": "q"}])
    row.meta["preference"]["answers"][1]["content"] = "ANSWER A"  # b says what a says
    row.meta["preference"]["pairs"].append(
        {"chosen": "a", "rejected": "b", "chosen_rank": 1, "rejected_rank": 2}
    )
    (tmp_path / "data").mkdir()
    write_parquet_atomic(tmp_path / "data" / "part-000.parquet", records_to_table([row]))
    counts = write_pairs(tmp_path)
    assert counts == {"prompts": 1, "pairs": 2, "standard": 2, "not_standard": 0, "same_answer": 1}
    lines = (tmp_path / "pairs" / "conversational.jsonl").read_text("utf-8").split("\n")
    assert [json.loads(x)["meta"]["rejected_model"] for x in lines if x] == ["c", "c"]
    assert json.loads((tmp_path / "pairs" / "pairs.json").read_text())["same_answer"] == 1
