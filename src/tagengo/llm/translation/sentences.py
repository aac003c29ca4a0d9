"""Sentence counts of a source and its translation: a translation that dropped (or added)
sentences passes the length and language checks when what is left is long enough (the
newcomer trial's translator kept the first of three sentences), so the two counts must agree
up to the merges and splits translators make.

A unit is a sentence of a line: every non-empty line (a list item, a heading) is at least one,
and a line holds one more per sentence end (``.`` ``!`` ``?`` ``…`` followed by a space and
a letter, digit or opening quote; ``。`` ``！`` ``？`` anywhere, as those scripts put no space
after them). Not ends: abbreviations (``e.g.``, ``z. B.``, ``Dr.``, ``etc.`` before a lower-case
word), a list number at the start of a line (``1.``), a decimal point, an initial (``J. Smith``).
Counted on the texts with their protected spans as markers, so code lines count nothing.
"""

from __future__ import annotations

import re

_MARKER = re.compile(r"⟦\d+⟧")
# A list marker at the start of a line: "1.", "a)", "-", "*", "•", "1)" — not a sentence end.
_LIST_START = re.compile(r"^\s*(?:[-*•+]|\d{1,3}[.)]|[a-zA-Z][.)])\s+")
# Words that end with a full stop without ending the sentence, lower-cased, without the stop.
_ABBREVIATIONS = frozenset(
    [
        "e.g",
        "i.e",
        "etc",
        "vs",
        "cf",
        "approx",
        "ca",
        "dr",
        "mr",
        "mrs",
        "ms",
        "prof",
        "st",
        "no",
        "nr",
        "fig",
        "eq",
        "vol",
        "pp",
        "z.b",
        "d.h",
        "u.a",
        "usw",
        "bzw",
        "ggf",
        "evtl",
        "inkl",
        "ca",
        "s.o",
        "s.u",
        "vgl",
        "jh",
        "jhd",
        "mio",
        "mrd",
        "p.ex",
        "c.-à-d",
        "env",
        "cf",
        "art",
        "sig",
        "sr",
        "sra",
        "ecc",
        "es",
        "p.es",
        "dott",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "okt",
        "nov",
        "dec",
        "dez",
    ]
)
# A stop, closing quotes, a space, then a letter (or an opening quote and a letter): a number
# after a stop ("... costs 3. 12 pens") is not counted as a sentence of its own.
_WESTERN_END = re.compile(r"([.!?…]+)[\"'”’»)\]]*\s+(?=[\"'“‘«(\[¿¡]?[^\W\d_])")
_CJK_END = re.compile(r"[。！？]+[」』”’）)]*")


def _line_units(line: str) -> int:
    line = _LIST_START.sub("", _MARKER.sub(" ", line)).strip()
    if not any(c.isalnum() for c in line):
        return 0
    units = 1
    for m in _WESTERN_END.finditer(line):
        before = line[: m.start()].split()
        word = before[-1].lower() if before else ""
        stop = m.group(1)
        if (
            stop == "."
            and (
                word.rstrip(".") in _ABBREVIATIONS
                or (len(word) == 1 and word.isalpha())  # an initial: "J. Smith"
                or line[m.end() : m.end() + 1].islower()  # "etc. and", "z. B. die": no new sentence
            )
        ):
            continue
        if line[m.end() :].strip():
            units += 1
    # Sentence ends of scripts written without spaces, each followed by more text.
    for m in _CJK_END.finditer(line):
        if any(c.isalnum() for c in line[m.end() :]):
            units += 1
    return units


def sentence_count(text: str) -> int:
    """Units of ``text``: sentences, each non-empty line at least one (module doc)."""
    return sum(_line_units(line) for line in text.splitlines())


def allowed_difference(count: int) -> int:
    """How many units a translation may have more or fewer than its source: one (a merge or a
    split), and one per four more (a long answer's translator merges several)."""
    return max(1, count // 4)


def sentence_problem(source: str, translated: str) -> str | None:
    """'dropped: 3 in the source, 1 in the translation' (or 'added'), or None when the counts
    agree within :func:`allowed_difference` of the larger one."""
    n_src, n_tr = sentence_count(source), sentence_count(translated)
    if abs(n_src - n_tr) <= allowed_difference(max(n_src, n_tr)):
        return None
    what = "dropped" if n_tr < n_src else "added"
    return f"{what}: {n_src} in the source, {n_tr} in the translation"
