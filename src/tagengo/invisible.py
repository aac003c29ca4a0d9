"""Characters that take no visible place in a text: a prompt made of them is an empty prompt.

Counted as invisible:

* whitespace (Unicode categories Zs, Zl, Zp, and the control characters, Cc);
* format characters (Cf): zero-width space, joiners (ZWJ, ZWNJ), word joiner, the byte-order
  mark U+FEFF, soft hyphen, bidirectional marks and isolates, invisible operators, tag
  characters;
* default-ignorable marks and fillers outside those categories: variation selectors, the
  combining grapheme joiner, Mongolian free variation selectors, the Hangul fillers and the
  blank Braille pattern, which render as nothing (or as a blank) yet are letters or symbols
  to Unicode.

Everything else counts, combining marks included (they are part of Indic and Thai letters).
"""

from __future__ import annotations

import unicodedata

_INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})
_FILLERS = frozenset(
    [0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164, 0xFFA0]
    + list(range(0x180B, 0x1810))  # Mongolian free variation selectors, vowel separator
    + list(range(0xFE00, 0xFE10))  # variation selectors 1-16
    + list(range(0xE0100, 0xE01F0))  # variation selectors 17-256
)


def is_invisible(ch: str) -> bool:
    """True for one character that shows nothing (see module doc)."""
    return ord(ch) in _FILLERS or unicodedata.category(ch) in _INVISIBLE_CATEGORIES


def visible_length(text: str) -> int:
    """Characters of ``text`` that are not invisible: what a minimum prompt length counts."""
    if text.isascii():  # the common case, without a lookup per character
        return sum(1 for ch in text if ch.isprintable() and not ch.isspace())
    return sum(1 for ch in text if not is_invisible(ch))


def is_blank(text: str | None) -> bool:
    """True when ``text`` is None, empty, or made only of invisible characters."""
    if not text:
        return True
    # Stops at the first visible character: one look for any real answer, not one per character.
    if text.isascii():
        return not any(ch.isprintable() and not ch.isspace() for ch in text)
    return all(is_invisible(ch) for ch in text)


def show_invisible(text: str) -> str:
    """``text`` as one terminal line that says what it holds: line breaks and tabs become spaces,
    and every other invisible character except a space (zero-width, bidirectional controls that
    would reorder the rest of the line, fillers) becomes ``<U+200B>``, so a row that looks empty
    or reversed shows why."""
    if text.isascii() and text.isprintable():
        return text
    out = []
    for ch in text:
        if ch in "\n\r\t":
            out.append(" ")
        elif unicodedata.category(ch) != "Zs" and is_invisible(ch):
            out.append(f"<U+{ord(ch):04X}>")
        else:
            out.append(ch)
    return "".join(out)
