"""Grouping rejection reasons: alike reasons counted together, row ids left readable.

A reason names what is particular to its row: a token count, a score, and for a duplicate
the id of the row it duplicates ("near-duplicate of 7c86e98c (cosine 0.9512 > 0.935)").
To count alike reasons together, the row ids a reason names are replaced by ``<id>`` and
standalone numbers by ``#``. Digits *inside* a word are left alone, so an id or a model
name ("cl100k", "gpt-4o") is never cut into pieces ("#c#b#…") that match nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Container, Iterable

#: A number that is a word of its own (not digits inside an id or a name): 7, 1,234, 0.9512.
_NUMBER = re.compile(r"(?<![\w.])\d(?:[\d,]*\d)?(?:\.\d+)?(?![\w.]*\w)")
_TOKEN = re.compile(r"\S+")
#: Punctuation that may wrap an id in a reason: "of abc123," or "(abc123)".
_WRAP = "()[]{}<>,;:'\"`"

ID = "<id>"


def reason_pattern(reason: str, ids: Container[str] = frozenset()) -> str:
    """``reason`` with the row ids it names (members of ``ids``, matched as whole words)
    replaced by ``<id>`` and standalone numbers by ``#``.

    >>> reason_pattern("near-duplicate of c3b2a1 (cosine 0.9512 > 0.935)", {"c3b2a1"})
    'near-duplicate of <id> (cosine # > #)'
    """

    def one_token(m: re.Match[str]) -> str:
        tok = m.group()
        core = tok.strip(_WRAP)
        if core and core in ids:
            start = tok.index(core)
            return tok[:start] + ID + tok[start + len(core) :]
        return tok

    return _NUMBER.sub("#", _TOKEN.sub(one_token, reason))


def top_reasons(
    steps: Iterable[str],
    reasons: Iterable[str],
    ids: Container[str] = frozenset(),
    n: int = 5,
    max_chars: int = 100,
) -> dict[str, list[tuple[str, int]]]:
    """Per step, its ``n`` most frequent reason patterns (see ``reason_pattern``, cut to
    ``max_chars`` so long error messages group by their start) with their row counts, most
    frequent first; steps in order of first appearance."""
    by_step: dict[str, Counter[str]] = {}
    for step, reason in zip(steps, reasons):
        by_step.setdefault(step, Counter())[reason_pattern(reason or "", ids)[:max_chars]] += 1
    return {step: counter.most_common(n) for step, counter in by_step.items()}
