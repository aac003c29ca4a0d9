"""Counts in sentences: singular and plural, and rows without a language called unlabelled."""

from __future__ import annotations

import pytest

from tagengo.run.wording import is_unlabelled, plural, rows_in_languages


@pytest.mark.parametrize(
    ("n", "word", "words", "text"),
    [
        (0, "row", None, "0 rows"),
        (1, "row", None, "1 row"),
        (1234, "row", None, "1,234 rows"),
        (2, "query", "queries", "2 queries"),
    ],
)
def test_plural(n, word, words, text):
    assert plural(n, word, words) == text


@pytest.mark.parametrize(
    ("counts", "text"),
    [
        ({}, "0 rows"),
        ({"de": 0}, "0 rows"),
        ({"de": 1}, "1 row in 1 language"),
        ({"de": 3}, "3 rows in 1 language"),
        ({"de": 3, "fr": 2, "ja": 0}, "5 rows in 2 languages"),
        ({"de": 3, None: 2}, "5 rows (3 in 1 language, 2 unlabelled)"),
        ({"de": 1, "(none)": 1}, "2 rows (1 in 1 language, 1 unlabelled)"),
        ({"de": 2, "fr": 1, "": 1}, "4 rows (3 in 2 languages, 1 unlabelled)"),
        ({"(none)": 2}, "2 unlabelled rows"),
        ({None: 1}, "1 unlabelled row"),
    ],
)
def test_rows_in_languages(counts, text):
    assert rows_in_languages(counts) == text


def test_rows_in_languages_names_the_rows():
    assert rows_in_languages({"de": 1}, "conversation") == "1 conversation in 1 language"
    assert rows_in_languages({"(none)": 3, "en": 1}, "prompt") == "4 prompts (1 in 1 language, 3 unlabelled)"


def test_unlabelled_keys():
    assert all(is_unlabelled(k) for k in (None, "", "(none)"))
    assert not is_unlabelled("de")
