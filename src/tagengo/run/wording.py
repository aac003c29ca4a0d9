"""Counts in sentences: "1 row", "2 rows", and how rows spread over languages.

Rows without a language (``language`` None, counted under ``"(none)"`` in manifests) are no
language of their own: a sentence calls them unlabelled instead of counting a language named
None. Every place that prints "N rows in M languages" says it through :func:`rows_in_languages`.
"""

from __future__ import annotations

from collections.abc import Mapping

from tagengo.records import NO_LANGUAGE


def plural(n: int, word: str, words: str | None = None) -> str:
    """``n`` and the noun that goes with it: ``plural(1, "row")`` is "1 row", ``plural(1234,
    "row")`` "1,234 rows"; ``words`` for a plural that is not ``word + "s"``."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def is_unlabelled(language: str | None) -> bool:
    """Whether a language key stands for rows without a language (None, "" or "(none)")."""
    return not language or language == NO_LANGUAGE


def rows_in_languages(
    by_language: Mapping[str | None, int], noun: str = "row", nouns: str | None = None
) -> str:
    """The rows of ``by_language`` (language -> row count; zero counts ignored) in words:

    * ``{"de": 3}``: "3 rows in 1 language";
    * ``{"de": 3, "fr": 2}``: "5 rows in 2 languages";
    * ``{"de": 3, None: 2}``: "5 rows (3 in 1 language, 2 unlabelled)";
    * ``{"(none)": 2}``: "2 unlabelled rows";
    * ``{}``: "0 rows".

    ``noun``/``nouns`` name the rows ("prompt", "conversation", "pair" ...)."""
    labelled = {k: n for k, n in by_language.items() if n and not is_unlabelled(k)}
    unlabelled = sum(n for k, n in by_language.items() if n and is_unlabelled(k))
    n_rows = sum(labelled.values())
    languages = plural(len(labelled), "language")
    if not unlabelled:
        return f"{plural(n_rows, noun, nouns)} in {languages}" if labelled else plural(0, noun, nouns)
    if not labelled:
        return f"{unlabelled:,} unlabelled {noun if unlabelled == 1 else (nouns or noun + 's')}"
    return (
        f"{plural(n_rows + unlabelled, noun, nouns)} ({n_rows:,} in {languages}, {unlabelled:,} unlabelled)"
    )
