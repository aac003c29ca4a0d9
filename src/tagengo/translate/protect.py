"""Protected spans: the parts of a message a translation must leave exactly as they are.

Code (fenced blocks and inline), URLs, placeholders (``{name}``, ``{{var}}``, ``%s``,
``${VAR}``, ``<tag>``), inline LaTeX (``$...$``) and numbers inside formulas
(``3x + 2 = 11``) are swapped for numbered markers (``⟦0⟧``) before the text goes to the
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

#: (kind, pattern), tried in this order; earlier kinds win where spans overlap.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("code_block", re.compile(r"```.*?(?:```|\Z)", re.S)),
    ("inline_code", re.compile(r"`[^`\n]+`")),
    ("url", re.compile(r"(?:https?://|www\.)[^\s<>()\[\]{}\"']+[^\s<>()\[\]{}\"'.,;:!?]", re.I)),
    # Inline math opens with a non-space (not "${", a shell variable) and closes after one, so
    # prices ("$5 and $10") are left alone.
    ("latex", re.compile(r"\$\$.+?\$\$|\$(?![{\s])[^$\n]{0,200}?[^$\s\\]\$", re.S)),
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


def protect(text: str) -> Protected:
    """Replace every protected span of ``text`` with a numbered marker (left to right)."""
    taken: list[tuple[int, int, str]] = []
    for kind, pattern in PATTERNS:
        for m in pattern.finditer(text):
            s, e = m.span()
            if s == e or any(s < te and ts < e for ts, te, _ in taken):
                continue
            taken.append((s, e, kind))
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
