"""Character n-gram overlap between training text and benchmark questions, vectorised.

The rule (docs/contamination.md): after :func:`tagengo.contamination.normalise.normalise`,
a text's n-grams are its substrings of exactly ``n`` characters (code points; the single
spaces between words count). A training text and a question *share* an n-gram when the same
substring occurs in both; the overlap is the number of distinct shared n-grams. A text shorter
than ``n`` characters has no n-grams and shares none.

How it is fast: every window's n-gram is hashed with a polynomial rolling hash over the code
points (``n`` vectorised passes over a whole batch of texts at once, modulo 2**64), and looked
up in the sorted array of the questions' hashes with one ``searchsorted``. Only the few windows
whose hash is a question's are looked at in Python, and each is compared character by
character with the question's n-gram, so a hash collision can never make a match.
:func:`shared_ngrams` is the plain set version the tests compare with.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# An odd 64-bit multiplier (the golden-ratio constant): with wrap-around arithmetic modulo
# 2**64, distinct n-grams collide rarely, and collisions are checked anyway.
_BASE = np.uint64(0x9E3779B97F4A7C15)
#: Entries of the prefilter (a power of two): 1 MiB of booleans.
_FILTER_SIZE = 1 << 20
#: Characters hashed per batch (a few MB of hashes).
_BATCH_CHARS = 1 << 18


def ngram_set(text: str, n: int) -> set[str]:
    """The distinct n-grams of an (already normalised) text; empty when it is shorter than n."""
    return {text[i : i + n] for i in range(len(text) - n + 1)}


def shared_ngrams(a: str, b: str, n: int) -> set[str]:
    """The n-grams two normalised texts share (the reference the vectorised index must equal)."""
    return ngram_set(a, n) & ngram_set(b, n)


def _codepoints(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """All texts' code points end to end (uint64) and each text's start offset (len+1 entries)."""
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    joined = "".join(texts).encode("utf-32-le", "surrogatepass")
    return np.frombuffer(joined, dtype="<u4").astype(np.uint64), offsets


def window_hashes(codes: np.ndarray, n: int) -> np.ndarray:
    """Hash of every window of ``n`` consecutive code points (len(codes) - n + 1 values)."""
    m = len(codes) - n + 1
    if m <= 0:
        return np.empty(0, dtype=np.uint64)
    h = np.zeros(m, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):  # in place: no temporaries the size of the batch
            np.multiply(h, _BASE, out=h)
            np.add(h, codes[k : k + m], out=h)
    return h


class NgramIndex:
    """The n-grams of a fixed set of (normalised) question texts, queried by batches of texts.

    ``query(texts)`` returns, for every text, ``{question index: distinct shared n-grams}``
    (questions sharing none are absent). ``sizes[q]`` is question q's number of distinct n-grams.
    """

    def __init__(self, questions: Sequence[str], n: int) -> None:
        if n < 1:
            raise ValueError(f"n-gram length must be 1 or more, not {n}")
        self.n = n
        owners: dict[int, set[int]] = {}
        grams: dict[int, str] = {}
        self.sizes: list[int] = []
        for qi, text in enumerate(questions):
            distinct = ngram_set(text, n)
            self.sizes.append(len(distinct))
            if not distinct:
                continue
            codes, _ = _codepoints([text])
            for pos, h in enumerate(window_hashes(codes, n).tolist()):
                gram = text[pos : pos + n]
                # Two different question n-grams with one hash: keep the first; the other is
                # then never matched. With 64-bit hashes over a few thousand n-grams this does
                # not happen in practice, and the direct comparison below keeps it exact.
                if grams.setdefault(h, gram) == gram:
                    owners.setdefault(h, set()).add(qi)
        self._grams = grams
        self._owners = owners
        self._sorted = np.array(sorted(grams), dtype=np.uint64)
        # A bit table over the low bits of the hashes: one gather per window rules out almost
        # every window before the (slower, cache-unfriendly) binary search in the sorted array.
        self._filter = np.zeros(_FILTER_SIZE, dtype=bool)
        self._filter[(self._sorted & np.uint64(_FILTER_SIZE - 1)).astype(np.int64)] = True

    def __len__(self) -> int:
        return len(self._grams)

    def query(self, texts: Sequence[str]) -> list[dict[int, int]]:
        out: list[dict[int, int]] = []
        # Batches of about _BATCH_CHARS characters: the hash arrays stay in the CPU caches.
        start, chars = 0, 0
        for i, t in enumerate(texts):
            chars += len(t)
            if chars >= _BATCH_CHARS:
                out += self._query(texts[start : i + 1])
                start, chars = i + 1, 0
        return out + self._query(texts[start:])

    def _query(self, texts: Sequence[str]) -> list[dict[int, int]]:
        out: list[dict[int, int]] = [{} for _ in texts]
        if not texts or not len(self._sorted):
            return out
        codes, offsets = _codepoints(texts)
        h = window_hashes(codes, self.n)
        if not len(h):
            return out
        # The low 20 bits pick the filter slot (every character reaches them: the base is odd).
        cand = np.flatnonzero(self._filter[(h & np.uint64(_FILTER_SIZE - 1)).astype(np.int64)])
        hc = h[cand]
        idx = np.searchsorted(self._sorted, hc)
        idx[idx == len(self._sorted)] = 0
        # A window belongs to the text it starts in and counts only when it ends there too.
        row = np.searchsorted(offsets, cand, side="right") - 1
        hit = (self._sorted[idx] == hc) & (cand + self.n <= offsets[row + 1])
        seen: dict[int, set[str]] = {}
        for j in np.flatnonzero(hit).tolist():
            pos = int(cand[j])
            r = int(row[j])
            start = pos - int(offsets[r])
            gram = texts[r][start : start + self.n]
            key = int(h[pos])
            if self._grams[key] != gram:  # a hash collision, not a shared n-gram
                continue
            if gram in seen.setdefault(r, set()):
                continue
            seen[r].add(gram)
            counts = out[r]
            for qi in self._owners[key]:
                counts[qi] = counts.get(qi, 0) + 1
        return out
