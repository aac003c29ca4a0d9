"""What "near-duplicate removal" decides, stated once, and a brute-force reference.

Rows are walked in a fixed order: **input order** (the order the runner hands them over,
which is chunk order then row order, so it does not depend on the number of workers).
``s(i, j)`` is the similarity of rows ``i`` and ``j``; a pair counts when
``s(i, j) > threshold`` (strictly above, as in the paper's "above 0.8"). The comparison is
made in float32, the precision the vectors are stored in.

``kept`` (the default)
    Row ``i`` is dropped when some *kept* row ``j < i`` has ``s(i, j) > threshold``. Every
    kept row is then more than ``threshold`` away from every other kept row, and a dropped
    row always points at a row that survives.
``chain`` (the ``tagengo-2024`` preset)
    Row ``i`` is dropped when *any* row ``j < i``, kept or not, has ``s(i, j) > threshold``,
    as the released Tagengo code does. Chains A~B~C drop both B and C even when A and C
    are far apart, so it removes more than ``kept``.

**Content groups** (``content_check``, the default): a pair counts only when both rows also
have the same content key (:func:`tagengo.dedup.content.content_key`: content words in order,
fillers, case and punctuation ignored), so rows are split into groups by key and each group
is walked on its own, in input order, exactly as a language is (:func:`decide_in_groups`).
Embeddings cannot keep "a poem about autumn" and "… about spring" apart (cosine 0.965 with
the bundled model); the key can.

A dropped row records ``dup_of``: among the rows that caused the drop, the most similar
one (the earliest on a tie), and that similarity.

Every search backend (exact blocked, approximate, MinHash) produces a :class:`Decisions`;
:func:`brute_force_decide` is the O(n^2)-memory reference the tests and the benchmark
compare them with.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Semantics = Literal["kept", "chain"]
SEMANTICS: tuple[str, ...] = ("kept", "chain")


@dataclass
class Decisions:
    """Per-row outcome of a dedup pass over ``n`` rows (in walk order)."""

    kept: np.ndarray  # bool (n,)
    dup_of: np.ndarray  # int64 (n,): index of the row this one duplicates, -1 when kept
    similarity: np.ndarray  # float32 (n,): s(row, dup_of), NaN when kept

    @classmethod
    def all_kept(cls, n: int) -> Decisions:
        return cls(
            kept=np.ones(n, dtype=bool),
            dup_of=np.full(n, -1, dtype=np.int64),
            similarity=np.full(n, np.nan, dtype=np.float32),
        )

    def __len__(self) -> int:
        return len(self.kept)

    @property
    def n_removed(self) -> int:
        return int((~self.kept).sum())


def check_semantics(semantics: str) -> None:
    if semantics not in SEMANTICS:
        raise ValueError(f"semantics must be one of {', '.join(SEMANTICS)}, not {semantics!r}")


def as_float32_threshold(threshold: float) -> np.float32:
    """The threshold as the float32 the similarities are compared with (see module doc)."""
    return np.float32(threshold)


def brute_force_decide(
    vectors: np.ndarray,
    threshold: float,
    semantics: Semantics = "kept",
    groups: Sequence[Hashable] | None = None,
) -> Decisions:
    """Reference implementation: the full n x n similarity matrix, then the walk. With
    ``groups`` (one label per row), pairs across groups never count.

    Memory is n^2 floats, so only for tests and the benchmark's 10,000-row check.
    """
    check_semantics(semantics)
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(x)
    t = as_float32_threshold(threshold)
    sims = x @ x.T
    if groups is not None:
        ids: dict[Hashable, int] = {}
        label = np.array([ids.setdefault(g, len(ids)) for g in groups], dtype=np.int64)
        sims = np.where(label[:, None] == label[None, :], sims, np.float32(-np.inf))
    out = Decisions.all_kept(n)
    for i in range(1, n):
        row = sims[i, :i]
        allowed = out.kept[:i] if semantics == "kept" else np.ones(i, dtype=bool)
        cand = np.flatnonzero(allowed & (row > t))
        if cand.size:
            j = cand[np.argmax(row[cand])]  # argmax returns the first (earliest) on a tie
            out.kept[i] = False
            out.dup_of[i] = j
            out.similarity[i] = row[j]
    return out


def decide_from_pairs(
    n: int,
    rows: np.ndarray,
    cols: np.ndarray,
    sims: np.ndarray,
    threshold: float,
    semantics: Semantics = "kept",
) -> Decisions:
    """Decisions from a list of candidate pairs (``rows[k]`` vs earlier ``cols[k]``).

    Pairs with ``cols >= rows`` or a similarity not above the threshold are ignored, so a
    search may hand over everything it found. Exact when the list holds every pair above
    the threshold; the approximate and MinHash searches feed it what they find.
    """
    check_semantics(semantics)
    t = as_float32_threshold(threshold)
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    sims = np.asarray(sims, dtype=np.float32)
    keep = (cols < rows) & (sims > t)
    rows, cols, sims = rows[keep], cols[keep], sims[keep]
    out = Decisions.all_kept(n)
    if rows.size == 0:
        return out
    # Sort by row, then similarity descending, then column ascending: the first allowed
    # pair of each row is its dup_of (most similar, earliest on a tie).
    order = np.lexsort((cols, -sims, rows))
    rows, cols, sims = rows[order], cols[order], sims[order]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    if semantics == "chain":
        # Any earlier row counts, kept or not: no walk needed.
        out.kept[rows[starts]] = False
        out.dup_of[rows[starts]] = cols[starts]
        out.similarity[rows[starts]] = sims[starts]
        return out
    ends = np.r_[starts[1:], len(rows)]
    kept = out.kept
    # Rows are visited in increasing order, so kept[j] for j < i is already final.
    cols_l = cols.tolist()
    for s, e in zip(starts.tolist(), ends.tolist()):
        i = int(rows[s])
        for k in range(s, e):
            if kept[cols_l[k]]:
                kept[i] = False
                out.dup_of[i] = cols_l[k]
                out.similarity[i] = sims[k]
                break
    return out


def decide_in_groups(groups: Sequence[Hashable], decide: Callable[[np.ndarray], Decisions]) -> Decisions:
    """Decisions when rows are compared only within their group (one hashable label per row).

    ``decide(idx)`` decides the rows ``idx`` (increasing positions, so walk order is kept) and
    returns their Decisions, whose ``dup_of`` indexes into ``idx``; it is not called for groups
    of one row, which are always kept. The result is over all rows, ``dup_of`` in row positions.
    """
    n = len(groups)
    out = Decisions.all_kept(n)
    members: dict[Hashable, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    for rows in members.values():
        if len(rows) < 2:
            continue
        idx = np.asarray(rows, dtype=np.int64)
        d = decide(idx)
        gone = np.flatnonzero(~d.kept)
        out.kept[idx[gone]] = False
        out.dup_of[idx[gone]] = idx[d.dup_of[gone]]
        out.similarity[idx[gone]] = d.similarity[gone]
    return out


def agreement(a: Decisions, b: Decisions) -> float:
    """Fraction of rows on which two runs made the same keep/drop decision."""
    if len(a) != len(b):
        raise ValueError(f"cannot compare decisions over {len(a)} and {len(b)} rows")
    if len(a) == 0:
        return 1.0
    return float((a.kept == b.kept).mean())
