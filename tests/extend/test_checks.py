"""The checks of `tagengo extend`: turn order, echoes, and language with the real lid.176."""

from __future__ import annotations

import pytest

from servers.scripted_extend import ANSWERS, FOLLOW_UP_ANSWERS, FOLLOW_UPS, QUESTIONS, answer_text
from tagengo.extend.checks import LanguageCheck, echo_of, order_problem, repeat_of, user_turns
from tagengo.lang.langid import LanguageIdentifier


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


ANSWER = (
    "Place the pot where it gets plenty of light but no harsh midday sun. Water when the top of the soil "
    "feels dry, and never let the pot stand in water. Pinch off the flower buds so that the leaves keep "
    "growing. Turn the pot every few days so that the plant grows evenly. Feed it a little liquid "
    "fertiliser once a month in summer."
)


@pytest.mark.parametrize(
    "copy",
    [
        ANSWER,
        ANSWER.upper(),  # the same after case folding
        "  " + ANSWER.replace(" ", "\n  ") + "\n",  # ... and spacing
        ANSWER.replace(".", "!"),  # ... and punctuation
        ANSWER + " I hope this helps!",  # a greeting more
        "Sure! " + ANSWER,
        ANSWER.replace("every few days", "every week"),  # a detail changed
        ANSWER.replace("once a month", "twice a month").replace("plenty of", "a lot of"),
    ],
)
def test_a_repeat_is_the_answer_before_again_whatever_its_case_spacing_or_a_few_words(copy):
    ratio = repeat_of(copy, ANSWER, 0.8)
    assert ratio is not None and 0.8 <= ratio <= 1.0
    if copy.casefold().split() == ANSWER.casefold().split():
        assert ratio == 1.0


@pytest.mark.parametrize(
    "answer",
    [
        # A shorter version, as a "change constraints" follow-up asks for: half the text is new.
        "Keep it simple: a bright spot without midday sun, water only when the soil is dry, and pinch off "
        "the flowers.",
        # An example, as "ask example" asks for: the same topic and words, another text.
        "For example: on a south window, put the pot half a metre back from the glass, water it on "
        "Monday and Thursday, and cut the flower buds each Sunday.",
        # Going deeper into one part of the answer, quoting it.
        "Pinch off the flower buds so that the leaves keep growing: once basil flowers, it puts its energy "
        "into seeds, and the leaves turn small and bitter.",
        "",
    ],
)
def test_a_real_answer_to_the_follow_up_is_no_repeat_even_on_the_same_topic(answer):
    assert repeat_of(answer, ANSWER, 0.8) is None


@pytest.mark.parametrize("lang", sorted(QUESTIONS))
def test_no_scripted_answer_repeats_the_one_before_in_any_language(lang):
    for turn in range(2, 6):
        assert repeat_of(answer_text(lang, turn), answer_text(lang, turn - 1), 0.8) is None
    # ... but the same answer again is caught in every script (Japanese has no spaces to split on).
    assert repeat_of(answer_text(lang, 2) + " ", answer_text(lang, 2), 0.8) == 1.0


@pytest.fixture(scope="module")
def check() -> LanguageCheck:
    return LanguageCheck(LanguageIdentifier(), min_score=0.5, min_letters=20)


@pytest.mark.parametrize("lang", sorted(QUESTIONS))
def test_every_scripted_turn_passes_in_its_own_language_and_fails_in_another(check, lang):
    for text in [*FOLLOW_UPS[lang], ANSWERS[lang], *FOLLOW_UP_ANSWERS[lang]]:
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
