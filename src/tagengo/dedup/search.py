"""Blocked near-duplicate search: the decision of :mod:`tagengo.dedup.decide` without n x n memory.

Rows are taken in blocks of ``block`` rows, in walk order. For each block:

1. every row is compared with the *reference set* built from the blocks before it: the
   rows kept so far (``kept`` semantics) or all earlier rows (``chain``). The reference set
   answers "the most similar reference row above the threshold" for a block of queries;
2. the rows inside the block are compared with each other (a ``block x block`` product)
   and walked in order, which settles the rows that depend on earlier rows of the same
   block;
3. the block's kept rows (``kept``) or all its rows (``chain``) join the reference set.

Memory is O(n·d) for the vectors and the reference set, plus O(block · col_block) for one
product at a time: never n x n. The reference set is:

* :class:`NumpyFlat`: exact, float32 matrix products in column blocks (numpy + BLAS);
* :class:`FaissFlat`: exact, faiss ``IndexFlatIP.range_search`` (BLAS inside, multi-threaded,
  and it only hands back pairs above the threshold). Measured slower than numpy here
  (benchmarks/dedup_bench.py), so not the default.

Approximate search for very large languages lives in :mod:`tagengo.dedup.approx`.

With ``kept`` semantics the reference set only ever holds kept rows, so the more a
language repeats itself, the less work the later blocks do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from tagengo.dedup.decide import Decisions, Semantics, as_float32_threshold, check_semantics

ProgressFn = Callable[[int], None]


class Reference(Protocol):
    """A growing set of reference rows that answers best-match queries."""

    def best_above(self, queries: np.ndarray, threshold: np.float32) -> tuple[np.ndarray, np.ndarray]:
        """For each query: (the highest similarity above ``threshold`` to a reference row, that
        row's id); (-inf, -1) when none is above. Ties go to the smallest row id."""
        ...

    def add(self, vectors: np.ndarray, row_ids: np.ndarray) -> None:
        """Add rows (in increasing row-id order, after every row already added)."""
        ...


def faiss_available() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


class NumpyFlat:
    """Exact reference set: a preallocated float32 matrix, compared in column blocks."""

    def __init__(self, dim: int, capacity: int, col_block: int = 16_384) -> None:
        self._x = np.empty((capacity, dim), dtype=np.float32)
        self._ids = np.empty(capacity, dtype=np.int64)
        self._n = 0
        self._col_block = col_block

    def __len__(self) -> int:
        return self._n

    def add(self, vectors: np.ndarray, row_ids: np.ndarray) -> None:
        k = len(vectors)
        self._x[self._n : self._n + k] = vectors
        self._ids[self._n : self._n + k] = row_ids
        self._n += k

    def best_above(self, queries: np.ndarray, threshold: np.float32) -> tuple[np.ndarray, np.ndarray]:
        best = np.full(len(queries), -np.inf, dtype=np.float32)
        where = np.full(len(queries), -1, dtype=np.int64)
        for c in range(0, self._n, self._col_block):
            sims = queries @ self._x[c : min(c + self._col_block, self._n)].T
            top = sims.max(axis=1)
            # Strictly greater: an earlier column block wins a tie (rows are added in order).
            # Only rows above the threshold need their argmax, which keeps this pass cheap.
            better = (top > best) & (top > threshold)
            if better.any():
                best[better] = top[better]
                where[better] = c + sims[better].argmax(axis=1)
        hit = best > threshold
        ids = np.full(len(queries), -1, dtype=np.int64)
        ids[hit] = self._ids[where[hit]]
        return best, ids


def _best_from_ranges(
    lims: np.ndarray, dist: np.ndarray, labels: np.ndarray, ids: np.ndarray, nq: int
) -> tuple[np.ndarray, np.ndarray]:
    """Reduce faiss range-search results to (best similarity, row id) per query."""
    best = np.full(nq, -np.inf, dtype=np.float32)
    out = np.full(nq, -1, dtype=np.int64)
    if len(dist) == 0:
        return best, out
    q = np.repeat(np.arange(nq), np.diff(lims.astype(np.int64)))
    rows = ids[labels]
    order = np.lexsort((rows, -dist, q))  # per query: most similar first, then earliest row
    q, dist, rows = q[order], dist[order], rows[order]
    first = np.r_[True, q[1:] != q[:-1]]
    best[q[first]] = dist[first]
    out[q[first]] = rows[first]
    return best, out


class FaissFlat:
    """Exact reference set on faiss ``IndexFlatIP``: only pairs above the threshold come back."""

    def __init__(self, dim: int) -> None:
        import faiss

        self._index = faiss.IndexFlatIP(dim)
        self._ids: list[np.ndarray] = []
        self._id_arr = np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, vectors: np.ndarray, row_ids: np.ndarray) -> None:
        if len(vectors):
            self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))
            self._ids.append(np.asarray(row_ids, dtype=np.int64))
            self._id_arr = np.empty(0, dtype=np.int64)  # rebuilt lazily

    def _all_ids(self) -> np.ndarray:
        if len(self._id_arr) != self._index.ntotal:
            self._id_arr = np.concatenate(self._ids) if self._ids else np.empty(0, dtype=np.int64)
            self._ids = [self._id_arr]
        return self._id_arr

    def best_above(self, queries: np.ndarray, threshold: np.float32) -> tuple[np.ndarray, np.ndarray]:
        nq = len(queries)
        if self._index.ntotal == 0:
            return np.full(nq, -np.inf, dtype=np.float32), np.full(nq, -1, dtype=np.int64)
        # faiss keeps inner-product results strictly above the radius, as the walk requires.
        lims, dist, labels = self._index.range_search(np.ascontiguousarray(queries), float(threshold))
        return _best_from_ranges(lims, dist, labels, self._all_ids(), nq)


def _intra_block(
    sims: np.ndarray,
    best: np.ndarray,
    where: np.ndarray,
    first_row: int,
    t: np.float32,
    semantics: Semantics,
) -> np.ndarray:
    """Settle a block against its own earlier rows; returns the block's kept mask.

    ``best``/``where`` hold each row's best match among earlier blocks and are updated in
    place. Rows of earlier blocks precede the block's rows, so they win ties (strict >).
    """
    b = len(sims)
    lower = np.tri(b, b, -1, dtype=bool)
    if semantics == "chain":
        masked = np.where(lower, sims, -np.inf)
        top = masked.max(axis=1) if b else np.empty(0, np.float32)
        better = (top > best) & (top > t)
        best[better] = top[better]
        where[better] = first_row + masked[better].argmax(axis=1)
        return ~(best > t)
    keep = np.zeros(b, dtype=bool)
    has_intra = ((sims > t) & lower).any(axis=1)
    for i in range(b):
        if has_intra[i]:
            row = np.where(keep[:i], sims[i, :i], -np.inf)
            j = int(row.argmax())
            if row[j] > best[i]:
                best[i] = row[j]
                where[i] = first_row + j
        keep[i] = not best[i] > t
    return keep


def blocked_decide(
    vectors: np.ndarray,
    threshold: float,
    semantics: Semantics,
    reference: Reference,
    block: int = 1024,
    progress: ProgressFn | None = None,
) -> Decisions:
    """Walk ``vectors`` in blocks against ``reference`` (see module doc)."""
    check_semantics(semantics)
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(x)
    t = as_float32_threshold(threshold)
    out = Decisions.all_kept(n)
    for s in range(0, n, block):
        e = min(n, s + block)
        xb = x[s:e]
        best, where = reference.best_above(xb, t)
        keep = _intra_block(xb @ xb.T, best, where, s, t, semantics)
        dropped = ~keep
        out.kept[s:e] = keep
        out.dup_of[s:e][dropped] = where[dropped]
        out.similarity[s:e][dropped] = best[dropped]
        if semantics == "kept":
            reference.add(xb[keep], np.arange(s, e, dtype=np.int64)[keep])
        else:
            reference.add(xb, np.arange(s, e, dtype=np.int64))
        if progress is not None:
            progress(e - s)
    return out


def exact_decide(
    vectors: np.ndarray,
    threshold: float,
    semantics: Semantics = "kept",
    block: int = 1024,
    backend: str = "auto",
    progress: ProgressFn | None = None,
) -> Decisions:
    """Exact decisions in O(n·d + block·col_block) memory. ``backend``: auto (= numpy), numpy or faiss."""
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    if backend == "auto":
        # numpy+BLAS measured faster than faiss range search for this (benchmarks/dedup_bench.py).
        backend = "numpy"
    if backend == "faiss":
        ref: Reference = FaissFlat(x.shape[1])
    elif backend == "numpy":
        ref = NumpyFlat(x.shape[1], len(x))
    else:
        raise ValueError(f"exact backend must be auto, numpy or faiss, not {backend!r}")
    return blocked_decide(x, threshold, semantics, ref, block=block, progress=progress)


def nearest_neighbour_similarity(vectors: np.ndarray, block: int = 1024) -> np.ndarray:
    """Each row's highest similarity to any *other* row (NaN for a single row). Exact,
    blocked (O(n^2·d) time, O(block·n) memory); approx.py has the cell-based version."""
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(x)
    out = np.full(n, np.nan, dtype=np.float32)
    if n < 2:
        return out
    for s in range(0, n, block):
        e = min(n, s + block)
        sims = x[s:e] @ x.T
        sims[np.arange(e - s), np.arange(s, e)] = -np.inf
        out[s:e] = sims.max(axis=1)
    return out


#: With the request check, each row's candidates are its this-many most similar earlier rows
#: above the band edge (the check runs on these only; see docs/dedup.md).
CANDIDATES = 4


def top_per_row(
    rows: np.ndarray, cols: np.ndarray, sims: np.ndarray, k: int = CANDIDATES
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of pairs (row, earlier col, similarity), each row's ``k`` most similar (earliest col on a
    tie), sorted by row, then similarity descending."""
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    sims = np.asarray(sims, dtype=np.float32)
    keep = cols < rows
    rows, cols, sims = rows[keep], cols[keep], sims[keep]
    # The same pair may come twice (approx search: two rows sharing two cells).
    if len(rows):
        _, first = np.unique(rows * (int(rows.max()) + 1) + cols, return_index=True)
        rows, cols, sims = rows[first], cols[first], sims[first]
    order = np.lexsort((cols, -sims, rows))
    rows, cols, sims = rows[order], cols[order], sims[order]
    if len(rows) == 0:
        return rows, cols, sims
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    rank = np.arange(len(rows)) - np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
    sel = rank < k
    return rows[sel], cols[sel], sims[sel]


def candidate_pairs(
    vectors: np.ndarray,
    threshold: float,
    block: int = 1024,
    k: int = CANDIDATES,
    progress: ProgressFn | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact: every row's ``k`` most similar earlier rows with similarity strictly above
    ``threshold`` (``top_per_row`` order). Blocked: O(block · n) memory for one product."""
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(x)
    t = as_float32_threshold(threshold)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    out_s: list[np.ndarray] = []
    for s in range(0, n, block):
        e = min(n, s + block)
        sims = x[s:e] @ x[:e].T
        qi, cj = np.nonzero(sims > t)
        earlier = cj < qi + s
        qi, cj = qi[earlier], cj[earlier]
        r, c, v = top_per_row(qi + s, cj, sims[qi, cj], k)
        rows.append(r)
        cols.append(c)
        out_s.append(v)
        if progress is not None:
            progress(e - s)
    if not rows:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(out_s)
