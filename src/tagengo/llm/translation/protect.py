"""Protected spans: the parts of a message a translation must leave exactly as they are.

Code (fenced blocks, with backticks or tildes, indented blocks and inline code), URLs
(parentheses inside them included: ``https://en.wikipedia.org/wiki/Gestalt_(psychology)``),
placeholders (``{name}``, ``{{var}}``, ``%s``, ``${VAR}``, ``<tag>``), LaTeX (``$...$``,
``$$...$$``, ``\\(...\\)``, ``\\[...\\]``, ``\\begin{env}...\\end{env}``) and numbers inside
formulas (``3x + 2 = 11``) are swapped for numbered markers (``⟦0⟧``) before the text goes to the
translator; the translator is told to copy the markers. Afterwards each marker is replaced
by its original span, and ``restore`` reports every span whose marker did not come back
exactly once, so the caller can reject the translation with a reason instead of shipping
broken code or a changed number.

Lima-X (arXiv 2402.13703) keeps code and formulas untranslated for the same reason; the
marker scheme and the patterns are ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MARK_OPEN, MARK_CLOSE = "⟦", "⟧"
_MARKER = re.compile(re.escape(MARK_OPEN) + r"(\d+)" + re.escape(MARK_CLOSE))

# A URL: characters up to white space or a bracket, where a balanced pair of parentheses is
# part of it (Wikipedia's ``Gestalt_(psychology)``) and an unbalanced one is not (``(see
# https://x.org/a)``); trailing punctuation is left to the sentence.
_URL_PAREN = r"\([^\s()<>\[\]{}\"']*\)"
_URL = (
    r"(?:https?://|www\.)"
    rf"(?:{_URL_PAREN}|[^\s<>()\[\]{{}}\"'])*"
    rf"(?:{_URL_PAREN}|[^\s<>()\[\]{{}}\"'.,;:!?])"
)

#: (kind, pattern), tried in this order; earlier kinds win where spans overlap.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # Fences of three or more backticks or tildes, closed by the same fence (or the end).
    ("code_block", re.compile(r"(?P<fence>`{3,}|~{3,}).*?(?:(?P=fence)|\Z)", re.S)),
    ("inline_code", re.compile(r"`[^`\n]+`")),
    ("url", re.compile(_URL, re.I)),
    # LaTeX: \begin{env}...\end{env}, display \[...\] and $$...$$, inline \(...\) and $...$.
    # Inline $ math opens with a non-space (not "${", a shell variable) and closes after one, so
    # prices ("$5 and $10") are left alone.
    (
        "latex",
        re.compile(
            r"\\begin\{(?P<env>[A-Za-z]+\*?)\}.*?\\end\{(?P=env)\}"
            r"|\\\[.+?\\\]|\$\$.+?\$\$"
            # inline math stays within a paragraph: no blank line inside
            r"|\\\((?:[^\n]|\n(?![ \t]*\n))+?\\\)"
            r"|\$(?![{\s])[^$\n]{0,200}?[^$\s\\]\$",
            re.S,
        ),
    ),
    (
        "placeholder",
        re.compile(r"\{\{[^{}\n]{1,80}\}\}|\$\{[^{}\n]{1,80}\}|\{[A-Za-z_][A-Za-z0-9_.]{0,40}\}"),
    ),
    ("placeholder", re.compile(r"%(?:\([A-Za-z_]+\))?[-+ 0#]?\d*(?:\.\d+)?[sdifxr]\b")),
    ("placeholder", re.compile(r"<[A-Za-z_][A-Za-z0-9_-]{0,40}>")),
    # A formula: number (operator number)+, with at least one arithmetic or comparison
    # operator, e.g. "3x + 2 = 11", "12 * 4 = 48", "2^10". Plain prose numbers ("3 apples")
    # are translated with their sentence.
    (
        "formula",
        re.compile(
            r"(?<![\w.])\(?\d+(?:[.,]\d+)?[a-z]?\)?(?:\s*[-+*/×÷^=<>≤≥]\s*\(?\d+(?:[.,]\d+)?[a-z]?\)?)+(?![\w])"
        ),
    ),
)


@dataclass
class Protected:
    """A text with its spans replaced by markers. ``spans[i]`` is what ``⟦i⟧`` stands for."""

    text: str
    spans: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)


_INDENT = re.compile(r"(?: {4}|\t)")
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")


def indented_blocks(text: str) -> list[tuple[int, int]]:
    """(start, end) of each Markdown indented code block of ``text``: lines indented by four
    spaces or a tab, after a blank line (or at the start), from the first indented line's start
    to the end of the last one (blank lines between indented lines belong to the block).

    Indented lines that continue a list item are not code (Markdown reads them as part of the
    item): a block counts only when the last unindented line before it is not a list item and its
    own first line starts with no list marker. Lines right after a paragraph line are that
    paragraph's continuation, never code."""
    out: list[tuple[int, int]] = []
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    blank = [not line.strip() for line in lines]
    indented = [not b and _INDENT.match(line) is not None for line, b in zip(lines, blank, strict=True)]
    last_text = ""  # the last non-blank line before line i that is not in a block
    i = 0
    while i < len(lines):
        opens = (
            indented[i]
            and (i == 0 or blank[i - 1])
            and not _LIST_ITEM.match(lines[i])
            and not (last_text and (_INDENT.match(last_text) or _LIST_ITEM.match(last_text)))
        )
        if not opens:
            if not blank[i]:
                last_text = lines[i]
            i += 1
            continue
        end = i
        j = i + 1
        while j < len(lines) and (indented[j] or blank[j]):
            if indented[j]:
                end = j
            j += 1
        out.append((starts[i], starts[end] + len(lines[end])))
        last_text = ""
        i = end + 1
    return out


def protect(text: str) -> Protected:
    """Replace every protected span of ``text`` with a numbered marker (left to right)."""
    taken: list[tuple[int, int, str]] = []

    def take(s: int, e: int, kind: str) -> None:
        if s != e and not any(s < te and ts < e for ts, te, _ in taken):
            taken.append((s, e, kind))

    for kind, pattern in PATTERNS:
        for m in pattern.finditer(text):
            take(*m.span(), kind)
        if kind == "code_block" and ("    " in text or "\t" in text):
            for s, e in indented_blocks(text):  # after the fences (a fence's body is indented too)
                take(s, e, "code_block")
    taken.sort()
    out: list[str] = []
    spans: list[str] = []
    kinds: list[str] = []
    pos = 0
    for s, e, kind in taken:
        out.append(text[pos:s])
        out.append(f"{MARK_OPEN}{len(spans)}{MARK_CLOSE}")
        spans.append(text[s:e])
        kinds.append(kind)
        pos = e
    out.append(text[pos:])
    return Protected("".join(out), spans, kinds)


def restore(translated: str, protected: Protected) -> tuple[str, list[str]]:
    """(text with markers replaced by their spans, problems). A problem names a span whose
    marker is missing or repeated, or a marker the source never had."""
    problems: list[str] = []
    seen = [0] * len(protected.spans)
    for m in _MARKER.finditer(translated):
        i = int(m.group(1))
        if i < len(seen):
            seen[i] += 1
        else:
            problems.append(f"unknown marker {m.group(0)}")
    for i, n in enumerate(seen):
        if n != 1:
            what = "lost" if n == 0 else f"repeated {n} times"
            problems.append(f"{protected.kinds[i]} {_short(protected.spans[i])} {what}")

    def put(m: re.Match[str]) -> str:
        i = int(m.group(1))
        return protected.spans[i] if i < len(protected.spans) else m.group(0)

    restored = _MARKER.sub(put, translated)
    if not problems:
        # The check the reader cares about: every span is in the result, verbatim.
        for i, span in enumerate(protected.spans):
            if span not in restored:
                problems.append(f"{protected.kinds[i]} {_short(span)} not found verbatim")
    return restored, problems


def _short(span: str, n: int = 40) -> str:
    one = " ".join(span.split())
    return repr(one if len(one) <= n else one[: n - 1] + "…")
