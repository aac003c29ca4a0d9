"""Content keys: what stays the same under a rewording and what changes with another request."""

from __future__ import annotations

import pytest

from tagengo.dedup.content import FILLERS, content_key, content_words


@pytest.mark.parametrize(
    "lang, a, b",
    [
        ("en", "Write a poem about autumn.", "write a poem about autumn"),  # case, punctuation
        ("en", "Explain how photosynthesis works.", "Please, could you explain how photosynthesis works?"),
        ("en", "In Python, how do I read a CSV file?", "How do I read a CSV file in Python?"),  # moved
        ("de", "Schreibe ein Gedicht über den Herbst.", "Bitte schreib mir ein Gedicht über den Herbst!"),
        ("de", "Kannst du mir helfen?", "Können Sie mir helfen?"),
        ("fr", "Écris un poème sur l'automne.", "ECRIS UN POÈME SUR L'AUTOMNE !"),
        ("es", "Explica la fotosíntesis.", "Explícame la fotosíntesis, por favor."),  # enclitic
        ("ru", "Дай рецепт блинов.", "Привет! Можешь дать рецепт блинов? Спасибо!"),
        ("pt", "Qual é a capital do Peru?", "qual é a capital do peru?!"),
        ("zh", "红烧肉怎么做？", "红烧肉怎么做"),
    ],
)
def test_rewordings_keep_the_key(lang: str, a: str, b: str) -> None:
    assert content_key(a, lang) == content_key(b, lang)


@pytest.mark.parametrize(
    "lang, a, b",
    [
        ("de", "Schreibe ein Gedicht über den Herbst.", "Schreibe ein Gedicht über den Frühling."),  # topic
        ("en", "Give me a recipe for pancakes.", "Give me a recipe for waffles."),  # object
        ("en", "List 5 tips for learning to cook.", "List 10 tips for learning to cook."),  # number
        ("en", "Write a poem about autumn.", "Write a poem about autumn in four lines."),  # constraint
        ("en", "What happened before World War I?", "What happened after World War I?"),
        ("en", "Is Python faster than Java?", "Is Java faster than Python?"),  # roles
        ("en", "Can I eat this?", "Can't I eat this?"),  # negation
        ("fr", "Traduis « bonne nuit » en espagnol.", "Traduis « bonne nuit » en allemand."),
        ("zh", "房租会晚交一周。", "房租会晚交两周。"),
    ],
)
def test_other_requests_change_the_key(lang: str, a: str, b: str) -> None:
    assert content_key(a, lang) != content_key(b, lang)


def test_words_are_stemmed_and_digits_kept() -> None:
    assert content_words("Lists of 12 poems", "en") == ["list", "12", "poem"]
    assert content_words("日本語", "ja") == ["日", "本", "語"]  # unspaced script: one word per character


def test_fillers_hold_no_negation_number_or_order_word() -> None:
    meaningful = {"not", "no", "never", "nicht", "kein", "pas", "jamais", "nunca", "não", "не", "нет",
                  "before", "after", "vor", "nach", "avant", "après", "antes", "después", "depois", "до", "после",
                  "without", "ohne", "sans", "sin", "sem", "без", "one", "two", "eins", "zwei", "un", "deux"}  # fmt: skip
    for lang, words in FILLERS.items():
        # French/Spanish "un" is the article; Portuguese "no" is "em o" (in the).
        clash = words & meaningful - {"un"} - ({"no"} if lang == "pt" else set())
        assert not clash, (lang, clash)


def test_unknown_language_still_gets_a_key() -> None:
    assert content_key("Hello there!", None) == content_key("hello there", None)
    assert content_key("", "en") == ()
