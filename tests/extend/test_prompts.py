"""The follow-up writer's prompt: the seeded task draw, the transcript, the answer's cleaning."""

from __future__ import annotations

from collections import Counter

from tagengo.extend.prompts import (
    TASK_IDS,
    WRITER_SYSTEM,
    clean_follow_up,
    draw_task,
    transcript,
    writer_messages,
)


def test_the_five_kinds_of_follow_up_the_issue_names():
    assert TASK_IDS == ("clarify", "go_deeper", "change_constraints", "ask_example", "disagree")


def test_the_draw_depends_on_seed_row_and_turn_only_and_covers_every_kind():
    draws = [draw_task(42, f"row{i}", 2).id for i in range(200)]
    assert draws == [draw_task(42, f"row{i}", 2).id for i in range(200)]
    assert set(Counter(draws)) == set(TASK_IDS)
    assert [draw_task(42, "r", t).id for t in range(2, 40)] != [draw_task(42, "r", 2).id] * 38
    assert [draw_task(7, f"row{i}", 2).id for i in range(200)] != draws
    assert {draw_task(42, f"row{i}", 2, ("disagree",)).id for i in range(20)} == {"disagree"}


def test_the_writer_reads_the_chat_without_system_turns_and_with_long_turns_cut():
    msgs = [
        {"role": "system", "content": "secret scaffolding"},
        {"role": "user", "content": "Wie halte ich Basilikum gesund?"},
        {"role": "assistant", "content": "x" * 500},
    ]
    text = transcript(msgs, max_chars=200)
    assert "secret" not in text
    assert text.startswith("Person: Wie halte ich Basilikum gesund?\n\nAssistant: " + "x" * 200)
    assert text.endswith("[... 300 more characters]")
    from tagengo.extend.prompts import TASK_TYPES

    out = writer_messages(msgs, TASK_TYPES[3], "de", 200)
    assert out[0] == {"role": "system", "content": WRITER_SYSTEM}
    assert "Write it in German," in out[1]["content"] and TASK_TYPES[3].hint in out[1]["content"]


def test_labels_and_quotes_around_a_follow_up_are_removed():
    assert clean_follow_up('Person: "Was meinst du damit?"') == "Was meinst du damit?"
    assert clean_follow_up("**User:** 「それはどういう意味ですか？」") == "それはどういう意味ですか？"
    assert clean_follow_up("Next message: Can you show me?") == "Can you show me?"
    assert clean_follow_up("  \n ") == "" and clean_follow_up(None) == ""
    # A message that merely starts with a word like "User" is left alone.
    assert clean_follow_up("Users say it works. Does it?") == "Users say it works. Does it?"
