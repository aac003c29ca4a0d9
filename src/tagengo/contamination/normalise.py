"""The text every lexical check compares: exact text, and the normalised form.

``exact_text``: the text with leading and trailing whitespace removed (a trailing newline
is how a pasted question usually differs from the file), nothing else changed.

``normalise``: what the normalised match and the character n-gram check read:

1. Unicode NFKC (full-width and half-width forms, ligatures and compatibility characters
   become their plain form: "ﾍﾞﾝ" -> "ベン", "Ｐｙｔｈｏｎ" -> "python" after step 2);
2. case folding (``str.casefold``: "Straße" and "STRASSE" compare equal);
3. every run of characters that are not letters, digits or combining marks (punctuation,
   symbols, whitespace, control characters) becomes one space; leading and trailing spaces go.

So "Who is the youngest?!" and "who is the  youngest" are equal, while words and word order
still count. Marks (category M) stay so that Devanagari, Thai and Korean jamo keep their vowels.
"""

from __future__ import annotations

import unicodedata


class _Separators(dict):
    """A ``str.translate`` table: every code point that is not a letter (L), digit or number
    (N) or mark (M) maps to a space. Filled lazily (a text meets few distinct characters), so
    ``translate`` stays in C after the first sight of each character. Python's ``\\W`` would
    not do: it counts combining marks (the Devanagari virama, Thai tone marks) as separators."""

    def __missing__(self, code: int) -> int:
        value = code if unicodedata.category(chr(code))[0] in "LNM" else 32
        self[code] = value
        return value


_TABLE = _Separators()


def exact_text(text: str) -> str:
    """``text`` without leading/trailing whitespace (the exact check's key)."""
    return text.strip()


def normalise(text: str) -> str:
    """NFKC, case-folded, punctuation/symbol/whitespace runs collapsed to one space (module doc)."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_TABLE)
    return " ".join(folded.split())
