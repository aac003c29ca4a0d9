"""The checks of `tagengo extend`: turn order, echoes, and language with the real lid.176."""

from __future__ import annotations

import pytest

from servers.scripted_extend import ANSWERS, FOLLOW_UPS, QUESTIONS
from tagengo.curate.langid import LanguageIdentifier
from tagengo.extend.checks import LanguageCheck, echo_of, order_problem, user_turns


def _m(*roles: str) -> list[dict[str, str]]:
    return [{"role": r, "content": f"{r} text"} for r in roles]


@pytest.mark.parametrize(
    ("roles", "problem"),
    [
        (("user",), None),
        (("user", "assistant"), None),
        (("system", "user", "assistant", "user"), None),
        (("system", "system", "user", "assistant"), None),
        ((), "no user turn"),
        (("system",), "no user turn"),
        (("assistant", "user"), "turns do not alternate: message 1 is assistant, expected user"),
        (("user", "user", "assistant"), "turns do not alternate: message 2 is user, expected assistant"),
        (("user", "assistant", "assistant"), "turns do not alternate: message 3 is assistant, expected user"),
        (
            ("user", "assistant", "system", "user"),
            "turns do not alternate: message 3 is system, expected user",
        ),
    ],
)
def test_only_alternating_conversations_from_a_user_turn_can_grow(roles, problem):
    assert order_problem(_m(*roles)) == problem


def test_user_turns_are_counted():
    assert user_turns(_m("system", "user", "assistant", "user")) == 2


def test_an_echo_is_a_near_copy_of_an_earlier_user_turn_not_a_related_question():
    first = "How do I keep basil plants healthy on a windowsill?"
    assert echo_of("how do I keep basil plants healthy on a windowsill", [first], 0.9) == (0, 1.0)
    hit = echo_of("How do I keep my basil plants healthy on a windowsill?", ["Hello there", first], 0.9)
    assert hit is not None and hit[0] == 1 and 0.9 <= hit[1] < 1.0
    assert echo_of("Could you give me an example of a good watering schedule?", [first], 0.9) is None
    assert echo_of("Tell me more.", ["Tell me about Rome."], 0.9) is None
    assert echo_of("anything", ["", "   "], 0.9) is None


@pytest.fixture(scope="module")
def check() -> LanguageCheck:
    return LanguageCheck(LanguageIdentifier(), min_score=0.5, min_letters=20)


@pytest.mark.parametrize("lang", sorted(QUESTIONS))
def test_every_scripted_turn_passes_in_its_own_language_and_fails_in_another(check, lang):
    for text in [*FOLLOW_UPS[lang], ANSWERS[lang]]:
        v = check.check(text, lang)
        assert v.checked and v.ok and v.detected == lang, (text, v)
        other = "en" if lang != "en" else "de"
        wrong = check.check(text, other)
        assert wrong.checked and not wrong.ok and wrong.detected == lang


def test_near_languages_pass_and_short_or_code_only_turns_are_not_judged(check):
    # Bosnian and Croatian are one near-language group: a Croatian answer in a Bosnian chat passes.
    v = check.check("Stavite lonac na svijetlo mjesto bez jakog podnevnog sunca i zalijevajte ga.", "bs")
    assert v.checked and v.ok
    assert not check.check("OK, danke!", "de").checked
    code = "```python\nprint(sorted(values, key=lambda v: v.weight))\n```"
    assert not check.check(code, "ja").checked
