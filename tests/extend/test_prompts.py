"""The follow-up writer's prompt: the seeded task draw, the transcript, the answer's cleaning."""

from __future__ import annotations

from collections import Counter

import pytest

from servers.scripted_extend import FOLLOW_UPS
from tagengo.extend.prompts import (
    TASK_IDS,
    WRITER_SYSTEM,
    WRITER_USER,
    clean_follow_up,
    draw_task,
    leaked_instructions,
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


@pytest.mark.parametrize(
    "follow_up",
    [
        "What do you mean by bright indirect light exactly?\n\nAssistant: Bright indirect light is ...",
        "Can you give an example?\nPerson: And how often should I water?",  # the next turn as well
        "**Assistant:** Sure, here it is.",
        "=====\nPerson: What do you mean?",
        "Why would that be wrong?\n=====",
    ],
)
def test_the_writers_transcript_markup_in_a_follow_up_is_a_leak(follow_up):
    found = leaked_instructions(follow_up)
    assert found is not None and found.startswith("the writer's transcript markup")


@pytest.mark.parametrize(
    "follow_up",
    [
        "Write the person's next message. In it, ask for a concrete example.",
        "Could you explain that? Reply with the message only, without a label or quotation marks.",
        "Can you give an example, case or sample that shows what the assistant's last reply describes?",
        "You take the part of the person in a chat between a person and an AI assistant.",
        "WRITE IT IN GERMAN, THE WAY A NATIVE SPEAKER TYPES IN A CHAT: natürlich.",
        WRITER_SYSTEM,
    ],
)
def test_a_run_of_the_writers_instructions_in_a_follow_up_is_a_leak(follow_up):
    found = leaked_instructions(follow_up)
    assert found is not None and found.startswith("the writer's instructions word for word ('"), found


@pytest.mark.parametrize(
    "follow_up",
    [
        *(t for lang in FOLLOW_UPS for t in FOLLOW_UPS[lang]),
        "Could you give me a concrete example of that?",  # the hint's words, fewer than six in a row
        "I am not sure about the assistant's last reply. Why?",
        "Tell me more about the person who wrote that chat.",
        "My assistant at work said: water it daily. Is that right?",  # a role word, not at a line start
        "",
    ],
)
def test_a_user_like_follow_up_is_no_leak(follow_up):
    assert leaked_instructions(follow_up) is None


def test_the_leak_check_knows_the_prompt_it_guards():
    # A change of the writer's prompt changes what counts as a leak: the check reads the template.
    assert "Reply with the message only, without a label or quotation marks." in WRITER_USER
