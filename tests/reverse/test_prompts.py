"""Task draw and the parsers of the writer's and the judge's answers."""

from __future__ import annotations

from collections import Counter

import pytest

from tagengo.reverse.prompts import TASK_IDS, draw_task, parse_instruction, parse_score


def test_the_pool_has_at_least_eight_task_types_drawn_evenly_and_reproducibly():
    assert len(TASK_IDS) >= 8
    draws = [draw_task(42, f"row{i}").id for i in range(2000)]
    counts = Counter(draws)
    assert set(counts) == set(TASK_IDS) and min(counts.values()) > 140
    assert draws == [draw_task(42, f"row{i}").id for i in range(2000)]
    assert draws != [draw_task(43, f"row{i}").id for i in range(2000)]
    assert {draw_task(1, f"r{i}", ("list", "summary")).id for i in range(50)} == {"list", "summary"}


@pytest.mark.parametrize(
    ("answer", "score", "reasoning"),
    [
        ("Reasoning: fits well.\nScore: 4", 4, "fits well."),
        ("**Reasoning:** ok\n**Score:** 5/5", 5, "ok"),
        ("Score: 2. Wait, on reflection... Score: 3", 3, ""),
        ("3", 3, ""),
        ("I like it.", None, ""),
        ("Score: 7", None, ""),
        # FastChat's verdict format; the last score named wins, whichever its format
        ("Reasoning: fits.\nRating: [[4]]", 4, "fits."),
        ("[[5]]", 5, ""),
        ("Score: 2, but on reflection: [[3.0]]", 3, ""),
        ("Rating: [[8]]", None, ""),
        ("", None, ""),
    ],
)
def test_parse_score(answer, score, reasoning):
    assert parse_score(answer) == (score, reasoning)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Instruction: Wie backe ich Brot?", ("Wie backe ich Brot?", "")),
        ('"Explain the water cycle."', ("Explain the water cycle.", "")),
        ("**User's message:** Tell me more.", ("Tell me more.", "")),
        ("   ", (None, "empty")),
        (None, (None, "empty")),
        ("here is the fragment  text itself, in full.", (None, "a copy of the text")),
        (
            "Here is The fragment text itself",
            (None, "a passage copied from the text (32 of its 42 characters)"),
        ),
        (
            "Sure! Here is The fragment text itself, in full. Hope it helps.",
            (None, "the text again with 21 characters around it"),
        ),
        # An answer inside the text but only a few of its words is no copy (it was called one).
        ("The fragment", ("The fragment", "")),
        # An unrelated long answer is too long, and the reason names the limit.
        (
            "x" * 1501,
            (None, "1,501 characters long, too long for an instruction (at most 1,500)"),
        ),
    ],
)
def test_parse_instruction(answer, expected):
    assert parse_instruction(answer, "Here is The fragment text itself, in full.") == expected
