"""The answer contract's shortcuts for long answers (benchmarks/answer_bench.py) decide what the
plain definitions decide: the loop check looks at the end first, the echo check folds a prefix
first, the template-marker search takes the start-of-text tag apart. No timing here: each case
is one a shortcut could get wrong."""

from __future__ import annotations

import random
import re

import pytest

from tagengo.llm.answer import (
    LOOP_MAX_UNIT,
    LOOP_MIN_CHARS,
    LOOP_MIN_CHARS_NO_LETTER,
    LOOP_MIN_REPEATS,
    echo_of_prompt,
    repeated_tail,
    split_reasoning,
    template_leak,
)
from tagengo.llm.types import ChatRequest

_LETTER = re.compile(r"[^\W\d_]")


def _definition(text: str) -> tuple[str, int] | None:
    """The loop check as its docstring defines it: every period up to LOOP_MAX_UNIT of the text's
    end, spacing folded with a regex, compared one by one (the code before the shortcuts)."""
    flat = re.sub(r"\s+", " ", text).strip()
    n = len(flat)
    if n < LOOP_MIN_CHARS:
        return None
    rev = flat[::-1]
    for p in range(1, min(LOOP_MAX_UNIT, n // LOOP_MIN_REPEATS) + 1):
        if rev[:p] != rev[p : 2 * p]:
            continue
        lo, hi = p, n - p  # the longest m with rev[:m] == rev[p:p + m], by bisection
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if rev[:mid] == rev[p : p + mid]:
                lo = mid
            else:
                hi = mid - 1
        span = lo + p
        times = span // p
        unit = flat[n - p :]
        least = LOOP_MIN_CHARS if _LETTER.search(unit) else LOOP_MIN_CHARS_NO_LETTER
        if times >= LOOP_MIN_REPEATS and span >= least:
            return unit.strip() or unit, times
    return None


def _words(rng: random.Random, n: int) -> str:
    vocab = [
        "rain",
        "forms",
        "when",
        "water",
        "vapour",
        "cools",
        "Regen",
        "日本語",
        "المطر",
        "1.",
        "—",
        "\n\n",
    ]
    return " ".join(rng.choice(vocab) for _ in range(n))


@pytest.mark.parametrize(
    "unit_chars", [1, 7, 8, 9, 50, 400, LOOP_MAX_UNIT - 1, LOOP_MAX_UNIT, LOOP_MAX_UNIT + 1]
)
def test_a_long_answer_ending_in_a_loop_of_any_unit_length_is_found_exactly_when_the_definition_finds_it(
    unit_chars,
):
    rng = random.Random(unit_chars)
    body = _words(rng, 4000)  # ~25,000 characters: past the end window the check folds first
    unit = ("abcdefghij klmnopqrst " * 100)[: unit_chars - 1] + "."
    enough = max(12, 1100 // unit_chars + 1)  # past LOOP_MIN_CHARS_NO_LETTER, however short the unit
    for times in (2, LOOP_MIN_REPEATS - 1, LOOP_MIN_REPEATS, enough):
        text = f"{body} {unit * times}"
        assert repeated_tail(text) == _definition(text)
    assert (repeated_tail(f"{body} {unit * enough}") is not None) == (unit_chars <= LOOP_MAX_UNIT)


def test_a_loop_spread_by_white_space_past_the_end_window_is_still_found():
    """The end window holds 4 x LOOP_MAX_UNIT characters; folded, this one holds less than two
    units, so the check must fold the whole text rather than decide from the window."""
    unit = _words(random.Random(1), 200)[:600] + " \n" * 1500  # no shorter period inside
    text = "Regen entsteht, wenn Luft abkühlt. " * 50 + unit * 10
    assert len(" ".join(text[-4 * LOOP_MAX_UNIT :].split())) < 2 * 600
    loop = repeated_tail(text)
    assert loop == _definition(text)
    assert loop is not None and loop[1] == 10


def test_generated_answers_short_and_long_get_the_definitions_decision():
    rng = random.Random(0)
    spaces = [" ", "\n", "\t", "\u00a0", "\u3000", "\u2028", "\x1c"]
    found = 0
    for _ in range(300):
        body = "".join(
            rng.choice(["ab", "c", "日", "ي", "1", ".", *spaces]) for _ in range(rng.choice([50, 3000, 6000]))
        )
        unit = "".join(rng.choice(["x", "y", " ", "z.", "0", *spaces]) for _ in range(rng.randint(1, 60)))
        text = body + unit * rng.randint(0, 40)
        expected = _definition(text)
        found += expected is not None
        assert repeated_tail(text) == expected, repr(text[-200:])
    assert 30 < found < 270  # both outcomes are exercised


def test_an_echo_padded_past_the_prefix_the_check_folds_first_is_still_an_echo():
    prompt = "Erkläre bitte, wie Regen entsteht und warum er fällt."
    request = ChatRequest.from_messages([{"role": "user", "content": prompt}])
    padded = prompt + " !" * 5000  # folds to the prompt: the 4x prefix folds short, so all is folded
    assert echo_of_prompt(padded, request) == 0
    assert echo_of_prompt(f"Sure: {prompt}", request) == 4
    long_answer = prompt + " " + "Wasserdampf kühlt ab und kondensiert. " * 500
    assert echo_of_prompt(long_answer, request) is None


@pytest.mark.parametrize(
    ("text", "marker"),
    [
        ("</think>\nThe answer.", "</think>"),
        ("  \n<THINKING>\nmore", "<THINKING>"),
        ("The answer.\n</reasoning>\nmore", "</reasoning>"),
        ("The answer.<|im_end|>\n<|im_start|>user", "<|im_end|>"),
        ("Write `<|im_end|>` to end a turn.", None),
        ("```\n<|im_end|>\n```\nThen [INST] again", "[INST]"),
        ("a sentence that mentions </think> inline", None),
    ],
)
def test_template_markers_at_the_start_in_the_text_and_in_code(text, marker):
    assert template_leak(text) == marker


def test_a_closing_reasoning_tag_on_its_own_line_splits_and_text_without_one_is_left_whole():
    assert split_reasoning("I thought.\n</think>\nThe answer.") == ("\nThe answer.", "I thought.")
    plain = "Rain forms when water vapour cools. " * 700
    assert split_reasoning(plain) == (plain, None)
