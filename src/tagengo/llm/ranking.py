"""The judge's ranking line and its strict parser.

A ranking names every answer label once, best first, separated by ``>`` (better than) or
``=`` (as good as): ``C>A=B>D``. The judge's reply ends with one line ``Ranking: C>A=B>D``
(spaces around the signs are allowed). Anything else is a parse failure with a reason
that the stage hands back to the judge when it asks again:

* no line starting with ``Ranking:``, or text after that line;
* a label that is not one of the answers' (``E`` with four answers, ``a`` for ``A``);
* a label missing, or named twice;
* any other character in the ranking (``,``, ``>>``, ``<``, words).

Markdown emphasis is the one decoration read through, as judges bold the verdict line:
``**Ranking:** A>B``, ``**Ranking**: A>B``, ``**Ranking: A>B**``, ``Ranking: **A>B**``,
``Ranking: `A>B` `` and ``**A** > **B**`` are ``A>B``. A marker must close where it opened
(``**Ranking: A>B`` is refused: where the emphasis ends is a guess), and the rules above hold
for what is inside.

Ranks are tier positions, best first and counting from 1: in ``C>A=B>D`` C has rank 1, A and
B rank 2, D rank 3. Tied answers share a rank and never make a preference pair. Where one
member of a tier must be picked (the worst of several wrong-language answers, the best of a tied
top), :func:`tie_order` orders the tier without favouring any ``--model`` position.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass

#: Labels the answers get, in order: A, B, C ...
LABELS = string.ascii_uppercase
RANKING_PREFIX = "Ranking:"
# The label, in an emphasis marker that closes before or after the colon (``**Ranking:**``,
# ``**Ranking**:``) or, when neither, at the end of the line (``**Ranking: A>B**``).
_PREFIX = re.compile(
    r"^\s*(?P<open>\*{1,3}|_{1,3})?\s*ranking\s*(?P<shut>(?P=open))?\s*:\s*(?(shut)|(?P<shut2>(?P=open))?)",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"\s*([^\s>=]+|[>=])")
#: The whole ranking, or one label, in one emphasis or code marker: ``**A>B**``, ```A>B```, ``*A*``.
_WRAPPED = re.compile(r"^(?P<m>\*{1,3}|_{1,3}|`)(?P<inner>[^*_`]+)(?P=m)$")


class RankingError(ValueError):
    """The judge's reply holds no valid ranking; the message says why (sent back on a re-ask)."""


def tie_order(models: list[str], seed: int, row_id: str) -> list[str]:
    """The members of one tier in an order of their own: by a hash of (``seed``, row id, model
    name). Every model comes first in about 1/n of the rows, whatever its ``--model`` position,
    and a re-run (same seed, same row) orders the tier the same."""

    def key(model: str) -> bytes:
        return hashlib.blake2b(f"{seed}\x00{row_id}\x00{model}".encode(), digest_size=8).digest()

    return sorted(models, key=key)


def labels_for(n: int) -> list[str]:
    """The first ``n`` labels: ``labels_for(3) == ['A', 'B', 'C']``. At most 26 answers."""
    if not 1 <= n <= len(LABELS):
        raise ValueError(f"between 1 and {len(LABELS)} answers can be ranked, not {n}")
    return list(LABELS[:n])


@dataclass(frozen=True, slots=True)
class Ranking:
    """Tiers of labels, best first: ``(("C",), ("A", "B"), ("D",))`` for ``C>A=B>D``."""

    tiers: tuple[tuple[str, ...], ...]

    def __str__(self) -> str:
        return ">".join("=".join(t) for t in self.tiers)

    def rank(self) -> dict[str, int]:
        """label -> rank (1 = best; tied labels share one)."""
        return {label: i + 1 for i, tier in enumerate(self.tiers) for label in tier}


def parse_ranking(reply: str, labels: list[str]) -> tuple[Ranking, str]:
    """(the ranking, the reasons: the reply's text before the ranking line).

    ``labels``: the labels shown to the judge (``['A', 'B', 'C']``). Raises ``RankingError``
    for any reply that is not exactly one valid ranking of those labels on its last line."""
    lines = reply.strip().splitlines()
    at = next((i for i in range(len(lines) - 1, -1, -1) if _PREFIX.match(lines[i])), None)
    if at is None:
        raise RankingError(f"no line starting with '{RANKING_PREFIX}'")
    if any(line.strip() for line in lines[at + 1 :]):
        raise RankingError(f"text after the '{RANKING_PREFIX}' line")
    ranking = parse_ranking_line(_after_label(lines[at]), labels)
    return ranking, "\n".join(lines[:at]).strip()


def _after_label(line: str) -> str:
    """The ranking text of a ``Ranking:`` line, its label's emphasis markers removed (see the
    module doc). Raises ``RankingError`` for a marker left open."""
    m = _PREFIX.match(line)
    assert m is not None  # the caller found the line with _PREFIX
    rest = line[m.end() :].strip()
    mark = m["open"]
    if mark and not (m["shut"] or m["shut2"]):
        if not (rest.endswith(mark) and not rest.endswith(mark + mark[0])):
            raise RankingError(f"'{mark}' opens the '{RANKING_PREFIX}' line and is never closed")
        rest = rest[: -len(mark)].strip()
    return rest


def parse_ranking_line(text: str, labels: list[str]) -> Ranking:
    """``'C > A = B > D'`` -> Ranking. Raises ``RankingError`` (see the module doc)."""
    text = _unwrapped(text.strip())
    if not text:
        raise RankingError("the ranking is empty")
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:  # only trailing white space is left
            break
        tokens.append(_unwrapped(m.group(1)))
        pos = m.end()
    known = set(labels)
    tiers: list[list[str]] = [[]]
    expect_label = True
    for tok in tokens:
        if expect_label:
            if tok in ("<", ">", "="):
                raise RankingError(f"'{tok}' where a label was expected")
            if tok not in known:
                raise RankingError(f"unknown label '{tok}' (the answers are {', '.join(labels)})")
            tiers[-1].append(tok)
        elif tok == ">":
            tiers.append([])
        elif tok != "=":
            raise RankingError(f"'{tok}' where '>' or '=' was expected")
        expect_label = not expect_label
    if expect_label:
        raise RankingError("the ranking ends with a sign, not a label")
    seen = [label for tier in tiers for label in tier]
    twice = sorted({label for label in seen if seen.count(label) > 1})
    if twice:
        raise RankingError(f"label{'s' if len(twice) > 1 else ''} named more than once: {', '.join(twice)}")
    missing = [label for label in labels if label not in seen]
    if missing:
        raise RankingError(f"label{'s' if len(missing) > 1 else ''} missing: {', '.join(missing)}")
    return Ranking(tuple(tuple(t) for t in tiers))


def _unwrapped(text: str) -> str:
    """``text`` without one emphasis or code marker around all of it (``**A>B**`` -> ``A>B``);
    anything else as it is, for the parser to judge."""
    m = _WRAPPED.match(text)
    return m["inner"].strip() if m else text
