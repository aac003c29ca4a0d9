"""The substring tests in front of the anonymised and model-mention regexes (issue 27, session
32) only skip texts the regexes could not match: decisions and reasons stay those of the regex."""

from __future__ import annotations

import random
import re

import pytest

from tagengo.curate.config import AnonymisedConfig, ModelMentionsConfig
from tagengo.curate.filters import AnonymisedFilter, ModelMentionFilter, _needed_literal
from tagengo.records import Record

PIECES = [
    "NAME_1",
    "NAME_",
    "NAME_12x",
    "xNAME_3",
    "name_1",
    "同事NAME_2总是",
    "NAME",
    "_1",
    "gpt",
    "GPT-4",
    "chatgpt",
    "llama2",
    "llamada",
    "Claudette",
    "vicuna13b",
    "用chatgpt写",
    "ALPACA",
    "koala",
    "guanaco",
    "word",
    "é",
    "ß",
    " ",
    "\n",
    "_",
    "1",
    "-",
]


def _texts(n: int) -> list[str]:
    rng = random.Random(3)
    return ["".join(rng.choices(PIECES, k=rng.randint(0, 8))) for _ in range(n)]


def _row(text: str) -> Record:
    return Record("r", "t", "en", [{"role": "user", "content": text}], {})


@pytest.mark.parametrize(
    "pattern, literal",
    [
        (r"(?<![A-Za-z0-9_])NAME_\d+(?![0-9])", "NAME_"),  # the default
        (r"\bUSER_\d+", "USER_"),
        (r"^EMAIL_\d", "EMAIL_"),
        (r"(?i)NAME_\d", None),  # any case: no fixed text
        (r"NAME|USER", None),
        (r"(NAME)_\d", None),
        (r"N\d", None),  # one character is no help
        (r"NAME[_-]\d", "NAME"),
        (r"x\.y", "x.y"),
    ],
)
def test_the_fixed_text_of_a_pattern(pattern: str, literal: str | None) -> None:
    assert _needed_literal(pattern) == literal
    if literal is not None:  # every match holds it
        for text in _texts(400) + ["USER_7", "EMAIL_1", "NAME-3", "x.y"]:
            m = re.search(pattern, text)
            assert m is None or literal in m.group(0), (pattern, text)


@pytest.mark.parametrize(
    "patterns", [None, [r"(?<![A-Za-z0-9_])NAME_\d+", r"(?i:gpt)-\d"], [r"NAME_\d", r"USER_\d"]]
)
def test_anonymised_decides_as_its_regex(patterns: list[str] | None) -> None:
    cfg = AnonymisedConfig() if patterns is None else AnonymisedConfig(patterns=patterns)
    step = AnonymisedFilter(cfg)
    regex = re.compile("|".join(f"(?:{p})" for p in cfg.patterns))
    for text in _texts(3000):
        m = regex.search(text)
        want = (True, "") if m is None else (False, f"anonymised: placeholder '{m.group(0)}'")
        assert step.keep(_row(text)) == want, text


def test_model_mentions_decide_as_the_word_regex() -> None:
    step = ModelMentionFilter(ModelMentionsConfig())
    for text in _texts(3000):
        m = step._word.search(text.lower())
        want = (True, "") if m is None else (False, f"model mention: '{m.group(0)}'")
        assert step.keep(_row(text)) == want, text


def test_first_prompt_of_a_prompt_and_its_answer() -> None:
    """The two-turn shortcut writes what the general case writes, in the same order."""
    from tagengo.curate.filters import FirstPrompt

    two = [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello."}]
    three = [*two, {"role": "user", "content": "More?"}]
    for msgs, response, turns in ((two, "Hello.", 1), (three, "Hello.", 2), (two[:1], None, 1)):
        row = FirstPrompt().map(Record("r", "t", "en", list(msgs), {"language_label": "English"}))
        assert row.messages == [two[0]]
        assert list(row.meta.items()) == [
            ("language_label", "English"),
            ("logged_response", response),
            ("source_turns", turns),
        ]
