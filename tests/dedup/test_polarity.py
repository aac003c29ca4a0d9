"""Negation, code and signed numbers as hard stops of the request check (tagengo.dedup.polarity,
tagengo.dedup.code_shape): what a sentence embedder barely registers. Pairs written for this test."""

from __future__ import annotations

import pytest

from tagengo.dedup import request
from tagengo.dedup.code_shape import operators
from tagengo.dedup.polarity import negations, prefix_negated


def _stop(a: str, b: str, lang: str | None) -> str | None:
    v = request.prepare(a, b, lang)
    return v.why if isinstance(v, request.Verdict) and not v.same else None


@pytest.mark.parametrize("labelled", [True, False])
@pytest.mark.parametrize(
    "lang, a, b",
    [
        ("en", "Why is the sky blue?", "Why isn't the sky blue?"),
        ("en", "Why is the sky blue?", "Why is the sky not blue?"),
        ("de", "Warum funktioniert mein Drucker?", "Warum funktioniert mein Drucker nicht?"),
        ("fr", "Pourquoi le ciel est-il bleu ?", "Pourquoi le ciel n'est-il pas bleu ?"),
        ("es", "¿Por qué funciona mi impresora?", "¿Por qué no funciona mi impresora?"),
        ("it", "Perché il cielo è blu?", "Perché il cielo non è blu?"),
        ("pt", "Por que o céu é azul?", "Por que o céu não é azul?"),
        ("ru", "Почему небо голубое?", "Почему небо не голубое?"),
        ("en", "Is it legal to drive at night?", "Is it illegal to drive at night?"),
        ("de", "Ist Kaffee gesund?", "Ist Kaffee ungesund?"),
    ],
)  # fmt: skip
def test_one_side_negated_is_another_request(lang, a, b, labelled):
    assert _stop(a, b, lang if labelled else None) == "another polarity"


@pytest.mark.parametrize(
    "lang, a, b",
    [
        ("en", "I don't know what to cook. Give me ideas.", "I do not know what to cook. Give me ideas."),
        ("en", "Write a story without dialogue.", "Write a story with no dialogue."),
        ("fr", "Je ne mange pas de viande. Que cuisiner ?", "Je ne mange jamais de viande. Que cuisiner ?"),
        ("es", "No quiero ningún color rojo.", "No quiero color rojo."),  # concord: one negation
        ("de", "Ich habe keine Kinder. Was soll ich tun?", "Ich habe null Kinder. Was soll ich tun?"),
    ],
)  # fmt: skip
def test_the_same_polarity_in_other_words_is_no_stop(lang, a, b):
    assert _stop(a, b, lang) is None


def test_negations_are_counted_per_clause():
    def count(text, lang):
        import re

        spans = [m.span() for m in re.finditer(r"\w+", text)]
        lows = [text[s:e].casefold() for s, e in spans]
        return negations(lows, text, spans, lang)

    assert count("Je ne sais pas.", "fr") == 1  # "ne … pas" is one
    assert count("Je sais pas.", "fr") == 1  # spoken, "pas" alone
    assert count("Je cherche une personne.", "fr") == 0  # "personne" alone is a noun
    assert count("Non voglio niente.", "it") == 1  # concord
    assert count("Hai mai visto Roma?", "it") == 0  # "mai" without "non" is "ever"
    assert count("Not now. Not here.", "en") == 2  # two clauses
    assert count("少ないデータで学習する", "ja") == 0  # 少ない "few" is no negation
    assert count("不过这个不同", "zh") == 0  # 不过 "however", 不同 "different"
    assert count("能不能帮我", "zh") == 0  # X不X asks


def test_prefixes_negate_only_a_real_stem():
    assert prefix_negated(["gesund"], ["ungesund"], "de", str) == (0, 1)
    assert prefix_negated(["do"], ["undo"], "en", str) == (0, 0)  # "do" is too short a stem


@pytest.mark.parametrize(
    "a, b",
    [
        ("Fix this: `return x + 1`", "Fix this: `return x - 1`"),
        ("Explain `a < b` in Python.", "Explain `a <= b` in Python."),
        ("What is 2+3?", "What is 2*3?"),
        ("Fix:\n```python\nif a == b:\n    pass\n```", "Fix:\n```python\nif a != b:\n    pass\n```"),
    ],
)
def test_other_code_is_another_request(a, b):
    assert _stop(a, b, "en") == "other code"


def test_code_renamed_recommented_or_retagged_is_the_same_shape():
    a = "Fix this code:\n```python\ndef f(x):\n    return x + 1  # add one\n```"
    b = "Please fix this code:\n```py\ndef f(y):\n    return y + 1  # plus one\n```"
    assert operators(a) == operators(b) == ("(", "+")
    assert _stop(a, b, "en") is None
    # Prose hyphens, ranges and language names written with operators are no code.
    assert operators("Write a C++ function for the n-th prime; it takes 2-3 days.") == ()


def test_a_sign_makes_another_number():
    assert (
        _stop("What is the absolute value of -7?", "What is the absolute value of 7?", "en")
        == "another number"
    )
    assert _stop("Compute x-1 for x = 4.", "Compute x-1 for x = 4!", "en") is None  # a hyphen after a name
    assert _stop("Round -0.0 please", "Round 0.0 please", "en") is None  # -0 is 0


def test_a_direction_particle_without_spaces_turns_the_request_round():
    assert _stop("駅までの行き方を教えて。", "駅からの行き方を教えて。", "ja") == "another direction"


@pytest.mark.parametrize(
    "lang, a, b, swapped",
    [
        ("zh", "从北京到上海怎么走？", "从上海到北京怎么走？", True),
        ("zh", "从北京到上海的高铁多少钱？", "从上海到北京的高铁多少钱？", True),
        ("ja", "東京から大阪までの行き方を教えて。", "大阪から東京までの行き方を教えて。", True),
        ("zh", "从北京到上海怎么走？", "从北京到上海要怎么走？", False),
        ("ja", "東京から大阪までの行き方を教えて。", "東京から大阪までの行き方を教えてください。", False),
    ],
)  # fmt: skip
def test_a_route_whose_places_trade_sides_without_spaces_is_another_request(lang, a, b, swapped):
    v = request.prepare(a, b, lang)
    if swapped:
        assert isinstance(v, request.Verdict) and not v.same and v.why == "the roles swap", v
    else:
        assert isinstance(v, request.Verdict) and v.same, v
