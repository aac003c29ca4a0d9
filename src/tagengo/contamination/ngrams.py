"""n-gram overlap between training text and benchmark questions, vectorised.

The rule (docs/contamination.md). Texts are first normalised
(:func:`tagengo.contamination.normalise.normalise`), then cut into *units*:

* ``unit="words"`` (the default): a word of a script written with spaces (Latin, Cyrillic,
  Greek, Arabic, Devanagari, Hangul …) is one unit; every character of a script written
  without spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar, Tibetan, Bopomofo) is one
  unit of its own. "开发一个python程序" is 开 发 一 个 python 程 序.
* ``unit="chars"``: every code point is a unit, the single spaces between words included (the
  loose rule of earlier versions).

A text's n-grams are its runs of exactly ``n`` consecutive units; a text with fewer than ``n``
units has none. With words, a question written mostly (more than half of its units) in a script
without spaces gets its own length, ``n_unspaced`` characters, instead of ``n`` words: a Chinese
character carries about as much as half an English word, not a whole one. A training text and
a question *share* an n-gram when the same run of units occurs in both; the overlap is the
number of distinct shared n-grams.

How it is fast: every unit is hashed (``numpy.add.reduceat`` over its code points, each weighted
by a constant of its position), every window of ``n`` unit hashes is hashed again with a
polynomial (``n`` vectorised passes over a whole batch of texts, modulo 2**64), and looked up in
the sorted array of the questions' hashes behind a 1 MiB bit table. Only the few windows whose
hash is a question's are looked at in Python, and each is compared unit by unit with the
question's n-gram, so a hash collision can never make a match. :func:`shared_ngrams` is the plain
set version the tests compare with.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# An odd 64-bit multiplier (the golden-ratio constant): with wrap-around arithmetic modulo
# 2**64, distinct n-grams collide rarely, and collisions are checked anyway.
_BASE = np.uint64(0x9E3779B97F4A7C15)
#: Entries of the prefilter (a power of two): 1 MiB of booleans.
_FILTER_SIZE = 1 << 20
#: Characters hashed per batch (a few MB of hashes).
_BATCH_CHARS = 1 << 18
#: Position weights of a word's code points (a word longer than this reuses them cyclically).
_WEIGHTS = np.random.default_rng(13).integers(1, 2**63, 64, dtype=np.uint64) * np.uint64(2) + np.uint64(1)

UNITS = ("words", "chars")


@dataclass(frozen=True)
class Overlap:
    """What a text shares with one question: ``shared`` distinct n-grams, which cover
    ``covered`` of the question's ``units`` units (words or characters)."""

    shared: int
    covered: int
    units: int

    @property
    def share(self) -> float:
        """The share of the question's units inside a shared n-gram."""
        return self.covered / self.units if self.units else 0.0


#: Scripts written without spaces between words: each of their characters is a unit.
UNSPACED_RANGES: tuple[tuple[int, int], ...] = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x19E0, 0x19FF),  # Khmer symbols
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x312F),  # Bopomofo
    (0x31A0, 0x31FF),  # Bopomofo extended, Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)
_UNSPACED_CLASS = "".join(f"{chr(a)}-{chr(b)}" for a, b in UNSPACED_RANGES)
_UNIT_RE = re.compile(f"[{_UNSPACED_CLASS}]|[^\\s{_UNSPACED_CLASS}]+")
_UNSPACED_RE = re.compile(f"[{_UNSPACED_CLASS}]")


@lru_cache(maxsize=1)
def _classes() -> np.ndarray:
    """Class of every code point: 0 separator (whitespace), 1 unspaced-script character, 2 other."""
    table = np.full(0x110000, 2, dtype=np.uint8)
    for a, b in UNSPACED_RANGES:
        table[a : b + 1] = 1
    for c in range(0x3000 + 1):
        if chr(c).isspace():
            table[c] = 0
    for c in (0x3000, 0x2028, 0x2029, 0x205F, 0x1680, *range(0x2000, 0x200B)):
        table[c] = 0
    return table


def units(text: str, unit: str = "chars") -> list[str]:
    """The units of an (already normalised) text, in order (module doc)."""
    if unit == "chars":
        return list(text)
    if unit == "words":
        return _UNIT_RE.findall(text)
    raise ValueError(f"unknown n-gram unit {unit!r}; choose from {', '.join(UNITS)}")


def mostly_unspaced(text: str) -> bool:
    """Whether more than half of a text's word units are characters of a script without spaces."""
    us = _UNIT_RE.findall(text)
    return 2 * sum(1 for u in us if _UNSPACED_RE.fullmatch(u)) > len(us)


def question_n(text: str, unit: str, n: int, n_unspaced: int | None) -> int:
    """The n-gram length a question is cut with: ``n``, or ``n_unspaced`` for a question
    written mostly in a script without spaces (words only)."""
    if unit == "words" and n_unspaced is not None and mostly_unspaced(text):
        return n_unspaced
    return n


def _key(us: Sequence[str], unit: str) -> str:
    # Units never hold a space (words) or are single code points (chars), so these joins are
    # unambiguous: two n-grams have one key exactly when their units are equal.
    return "".join(us) if unit == "chars" else " ".join(us)


def ngram_set(text: str, n: int, unit: str = "chars") -> set[str]:
    """The distinct n-grams of an (already normalised) text, as keys (units joined: nothing
    between characters, one space between words); empty when it has fewer than n units."""
    us = units(text, unit)
    return {_key(us[i : i + n], unit) for i in range(len(us) - n + 1)}


def shared_ngrams(a: str, b: str, n: int, unit: str = "chars") -> set[str]:
    """The n-grams two normalised texts share (the reference the vectorised index must equal)."""
    return ngram_set(a, n, unit) & ngram_set(b, n, unit)


def _codepoints(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, str]:
    """All texts' code points end to end (uint64), each text's start offset (len+1 entries),
    and the joined text."""
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    joined = "".join(texts)
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.uint64)
    return codes, offsets, joined


class _Units:
    """The units of a batch of texts: ``hashes`` (one uint64 per unit), ``start``/``end`` (code
    point positions in ``joined``) and ``offsets`` (each text's first unit; len+1 entries)."""

    def __init__(self, texts: Sequence[str], unit: str) -> None:
        codes, char_offsets, self.joined = _codepoints(texts)
        self.unit = unit
        if unit == "chars":
            self.hashes = codes
            self.start = np.arange(len(codes), dtype=np.int64)
            self.end = self.start + 1
            self.offsets = char_offsets
            return
        if unit != "words":
            raise ValueError(f"unknown n-gram unit {unit!r}; choose from {', '.join(UNITS)}")
        cls = _classes()[codes.astype(np.int64)] if len(codes) else np.empty(0, dtype=np.uint8)
        prev = np.empty_like(cls)
        if len(cls):
            prev[0] = 0
            prev[1:] = cls[:-1]
        prev[char_offsets[:-1][char_offsets[:-1] < len(cls)]] = 0  # a text's first character starts a unit
        is_start = (cls == 1) | ((cls == 2) & (prev != 2))
        inside = np.flatnonzero(cls != 0)
        self.start = np.flatnonzero(is_start).astype(np.int64)
        if not len(self.start):
            self.hashes = np.empty(0, dtype=np.uint64)
            self.end = self.start.copy()
            self.offsets = np.zeros(len(texts) + 1, dtype=np.int64)
            return
        first = np.searchsorted(inside, self.start)  # where each unit begins in `inside`
        unit_of = np.cumsum(is_start[inside]) - 1
        pos = inside - self.start[unit_of]
        with np.errstate(over="ignore"):
            vals = (codes[inside] + np.uint64(1)) * _WEIGHTS[pos % len(_WEIGHTS)]
            self.hashes = np.add.reduceat(vals, first)
        last = np.append(first[1:], len(inside)) - 1
        self.end = inside[last] + 1
        text_of = np.searchsorted(char_offsets, self.start, side="right") - 1
        self.offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(np.bincount(text_of, minlength=len(texts)), out=self.offsets[1:])

    def key(self, u: int, n: int) -> str:
        """The key of the n-gram of units u .. u+n-1 (as ``ngram_set`` writes it)."""
        if self.unit == "chars":
            return self.joined[self.start[u] : self.start[u] + n]
        return " ".join(
            self.joined[s:e] for s, e in zip(self.start[u : u + n].tolist(), self.end[u : u + n].tolist())
        )


def window_hashes(codes: np.ndarray, n: int) -> np.ndarray:
    """Hash of every window of ``n`` consecutive values (len(codes) - n + 1 values)."""
    m = len(codes) - n + 1
    if m <= 0:
        return np.empty(0, dtype=np.uint64)
    h = np.zeros(m, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):  # in place: no temporaries the size of the batch
            np.multiply(h, _BASE, out=h)
            np.add(h, codes[k : k + m], out=h)
    return h


class _Table:
    """The n-grams of one length ``n`` of the questions cut with it."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.grams: dict[int, str] = {}
        # hash -> {question index: start positions (in units) of that n-gram in the question}
        self.owners: dict[int, dict[int, list[int]]] = {}

    def add(self, qi: int, units_: _Units, text_index: int) -> int:
        lo, hi = int(units_.offsets[text_index]), int(units_.offsets[text_index + 1])
        h = window_hashes(units_.hashes[lo:hi], self.n)
        keys = set()
        for pos, hv in enumerate(h.tolist()):
            gram = units_.key(lo + pos, self.n)
            keys.add(gram)
            # Two different question n-grams with one hash: keep the first; the other is
            # then never matched. With 64-bit hashes over a few thousand n-grams this does
            # not happen in practice, and the direct comparison in the query keeps it exact.
            if self.grams.setdefault(hv, gram) == gram:
                self.owners.setdefault(hv, {}).setdefault(qi, []).append(pos)
        return len(keys)

    def freeze(self) -> None:
        self.sorted = np.array(sorted(self.grams), dtype=np.uint64)
        # A bit table over the low bits of the hashes: one gather per window rules out almost
        # every window before the (slower, cache-unfriendly) binary search in the sorted array.
        self.filter = np.zeros(_FILTER_SIZE, dtype=bool)
        self.filter[(self.sorted & np.uint64(_FILTER_SIZE - 1)).astype(np.int64)] = True


class NgramIndex:
    """The n-grams of a fixed set of (normalised) question texts, queried by batches of texts.

    ``unit``: ``"chars"`` or ``"words"`` (module doc); with words, ``n_unspaced`` is the length
    in characters for questions written mostly without spaces (default: ``n``).
    ``query(texts)`` returns, for every text, ``{question index: distinct shared n-grams}``
    (questions sharing none are absent); ``overlaps(texts)`` returns ``{question index:
    Overlap}``, which adds how many of the question's units lie inside a shared n-gram.
    ``sizes[q]`` is question q's number of distinct n-grams, ``units[q]`` its number of units
    and ``lengths[q]`` the n it was cut with.
    """

    def __init__(
        self, questions: Sequence[str], n: int, unit: str = "chars", n_unspaced: int | None = None
    ) -> None:
        if n < 1 or (n_unspaced is not None and n_unspaced < 1):
            raise ValueError(f"n-gram length must be 1 or more, not {n if n < 1 else n_unspaced}")
        if unit not in UNITS:
            raise ValueError(f"unknown n-gram unit {unit!r}; choose from {', '.join(UNITS)}")
        self.n = n
        self.unit = unit
        self.lengths = [question_n(q, unit, n, n_unspaced) for q in questions]
        self._tables = {k: _Table(k) for k in dict.fromkeys(self.lengths)}
        qunits = _Units(questions, unit)
        self.sizes = [self._tables[k].add(qi, qunits, qi) for qi, k in enumerate(self.lengths)]
        self.units = np.diff(qunits.offsets).tolist()
        for t in self._tables.values():
            t.freeze()

    def __len__(self) -> int:
        return sum(len(t.grams) for t in self._tables.values())

    def query(self, texts: Sequence[str]) -> list[dict[int, int]]:
        """``{question index: distinct shared n-grams}`` for every text."""
        return [{q: o.shared for q, o in row.items()} for row in self.overlaps(texts)]

    def overlaps(self, texts: Sequence[str]) -> list[dict[int, Overlap]]:
        """``{question index: Overlap}`` for every text (questions sharing nothing are absent)."""
        out: list[dict[int, Overlap]] = []
        # Batches of about _BATCH_CHARS characters: the hash arrays stay in the CPU caches.
        start, chars = 0, 0
        for i, t in enumerate(texts):
            chars += len(t)
            if chars >= _BATCH_CHARS:
                out += self._query(texts[start : i + 1])
                start, chars = i + 1, 0
        return out + self._query(texts[start:])

    def _query(self, texts: Sequence[str]) -> list[dict[int, Overlap]]:
        found: list[dict[int, tuple[int, set[int]]]] = [{} for _ in texts]
        if texts and len(self):
            u = _Units(texts, self.unit)
            for table in self._tables.values():
                if len(table.sorted):
                    self._lookup(u, table, found)
        return [
            {q: Overlap(shared, len(covered), self.units[q]) for q, (shared, covered) in row.items()}
            for row in found
        ]

    @staticmethod
    def _lookup(u: _Units, table: _Table, found: list[dict[int, tuple[int, set[int]]]]) -> None:
        n = table.n
        h = window_hashes(u.hashes, n)
        if not len(h):
            return
        # The low 20 bits pick the filter slot (every unit reaches them: the base is odd).
        cand = np.flatnonzero(table.filter[(h & np.uint64(_FILTER_SIZE - 1)).astype(np.int64)])
        hc = h[cand]
        idx = np.searchsorted(table.sorted, hc)
        idx[idx == len(table.sorted)] = 0
        # A window belongs to the text it starts in and counts only when it ends there too.
        row = np.searchsorted(u.offsets, cand, side="right") - 1
        hit = (table.sorted[idx] == hc) & (cand + n <= u.offsets[row + 1])
        seen: dict[int, set[str]] = {}
        for j in np.flatnonzero(hit).tolist():
            pos = int(cand[j])
            r = int(row[j])
            gram = u.key(pos, n)
            key = int(h[pos])
            if table.grams[key] != gram:  # a hash collision, not a shared n-gram
                continue
            if gram in seen.setdefault(r, set()):
                continue
            seen[r].add(gram)
            for qi, starts in table.owners[key].items():
                shared, covered = found[r].get(qi, (0, set()))
                for p in starts:
                    covered.update(range(p, p + n))
                found[r][qi] = (shared + 1, covered)
