"""Lexical near-duplicates: MinHash-LSH (``rensa``) over character n-grams.

Character n-grams, not words, so that Chinese, Japanese and Thai (no spaces between
words) are compared as well as English. Text is normalised first (NFKC, lower case,
runs of whitespace to one space) so that trivial edits do not count as differences.

LSH proposes candidate pairs; each is then checked with the MinHash estimate of the
Jaccard similarity of the two n-gram sets, and the same walk as the embedding search
decides (:func:`tagengo.dedup.decide.decide_from_pairs`, ``> threshold``). It is cheap
(no model) and catches templated and copy-pasted prompts; the embedding search then
catches paraphrases. LSH can miss a pair (the band count is chosen so that a pair exactly
at the threshold is proposed with probability >= 99%).

With the request check on (``content_check``, the default), a pair above the threshold counts
only when the two prompts are one request without a model (:func:`same_request`): the request
check's hard stops (another number, language named, name, relation; swapped roles) keep it
apart, and so do another symbol (emoji, math sign) and any content word that differs:
MinHash has no substitution test to tell "austria" from a typo of "australia" ("what is the
capital of austria" / "… australia" share 82% of their 5-grams).
Measured on the bundled and held-out calibration pairs at Jaccard 0.8: hard stops alone would
still merge 182 of 767 near misses, the check merges none (docs/dedup.md, "MinHash and the
request check"). Pairs kept apart here go on to the embedding pass under ``both``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tagengo.dedup.decide import Decisions, Semantics, decide_from_pairs

_SPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def char_ngrams(text: str, n: int = 5) -> list[str]:
    """The set of character n-grams of the normalised text (the whole text if shorter)."""
    t = normalise_text(text)
    if len(t) <= n:
        return [t] if t else []
    return list({t[i : i + n] for i in range(len(t) - n + 1)})


def choose_bands(threshold: float, num_perm: int, min_recall: float = 0.99) -> int:
    """Number of LSH bands: the fewest (longest bands, fewest false candidates) that still
    propose a pair of Jaccard similarity ``threshold`` with probability >= ``min_recall``."""
    divisors = [b for b in range(1, num_perm + 1) if num_perm % b == 0]
    for b in divisors:
        r = num_perm // b
        if 1 - (1 - threshold**r) ** b >= min_recall:
            return b
    return num_perm


def minhash_pairs(
    texts: Sequence[str],
    threshold: float,
    ngram: int = 5,
    num_perm: int = 128,
    seed: int = 42,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate pairs (row, earlier row, estimated Jaccard) from MinHash-LSH."""
    from rensa import RMinHash, RMinHashLSH

    n = len(texts)
    empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32))
    if n < 2:
        return empty
    sets = [char_ngrams(t, ngram) for t in texts]
    hashes = RMinHash.from_token_sets(sets, num_perm, seed)
    digests = np.array([h.digest() for h in hashes], dtype=np.uint32)
    lsh = RMinHashLSH(threshold, num_perm, choose_bands(threshold, num_perm))
    lsh.insert_many(hashes)
    rows: list[int] = []
    cols: list[int] = []
    for i, cands in enumerate(lsh.query_all(hashes)):
        for j in cands:
            if j < i:
                rows.append(i)
                cols.append(j)
    if not rows:
        return empty
    r = np.array(rows, dtype=np.int64)
    c = np.array(cols, dtype=np.int64)
    # The MinHash estimate of Jaccard: the fraction of equal signature slots.
    sims = np.empty(len(r), dtype=np.float32)
    for s in range(0, len(r), 65_536):
        sims[s : s + 65_536] = (digests[r[s : s + 65_536]] == digests[c[s : s + 65_536]]).mean(axis=1)
    # Two texts with no n-grams at all (empty) are not similar to anything.
    no_grams = np.array([not s for s in sets])
    sims[no_grams[r] | no_grams[c]] = 0.0
    return r, c, sims


#: Why a MinHash pair whose content words differ is kept apart (the summary counts it).
CONTENT_DIFFERS = "content words differ"


def same_request(a: str, b: str, lang: str | None) -> str | None:
    """Why two prompts MinHash finds alike are different requests, decided without a model,
    or None when they are one request: the request check's hard stops, swapped roles, and
    (MinHash has no substitution test) any content word that differs."""
    from tagengo.dedup import request

    if _symbols(a) != _symbols(b):
        # Not words, so the check never sees them, but they can be the request: "a tweet about
        # ☕" / "… 🍵", "5 + 3" / "5 × 3".
        return "another symbol"
    # Everything the request check decides without a model (request.prepare): its hard stops,
    # swapped roles, another person, direction or modality; a pair it would send on to the
    # substitution test has content words that differ.
    verdict = request.prepare(a, b, lang)
    if isinstance(verdict, request.Verdict):
        return None if verdict.same else verdict.why
    return CONTENT_DIFFERS


def _symbols(text: str) -> Counter:
    """The symbols of a text (Unicode categories So, Sm, Sc: emoji, math signs, currencies)."""
    return Counter(ch for ch in text if unicodedata.category(ch) in ("So", "Sm", "Sc"))


@dataclass
class MinHashResult:
    """A MinHash pass: its decisions and, with the request check, what the check said."""

    decisions: Decisions
    #: (row, earlier row) -> why the pair is one request, for the pairs above the threshold merged
    why: dict[tuple[int, int], str] = field(default_factory=dict)
    #: why pairs above the threshold were kept apart -> how many
    stopped: Counter = field(default_factory=Counter)


def minhash_decide(
    texts: Sequence[str],
    threshold: float,
    semantics: Semantics = "kept",
    ngram: int = 5,
    num_perm: int = 128,
    seed: int = 42,
    check: bool = False,
    lang: str | None = None,
) -> Decisions:
    """Walk ``texts`` in order, dropping lexical near-duplicates (estimated Jaccard > threshold).
    ``check``: each pair above the threshold must also pass :func:`same_request` in ``lang``
    (None: guessed per prompt)."""
    return minhash_check(texts, threshold, semantics, ngram, num_perm, seed, check, lang).decisions


def minhash_check(
    texts: Sequence[str],
    threshold: float,
    semantics: Semantics = "kept",
    ngram: int = 5,
    num_perm: int = 128,
    seed: int = 42,
    check: bool = False,
    lang: str | None = None,
) -> MinHashResult:
    """:func:`minhash_decide` with the request check's verdicts: the reason of every merged
    pair and the count of pairs kept apart, by reason."""
    r, c, s = minhash_pairs(texts, threshold, ngram=ngram, num_perm=num_perm, seed=seed)
    if not check:
        return MinHashResult(decide_from_pairs(len(texts), r, c, s, threshold, semantics))
    above = np.flatnonzero(s > np.float32(threshold))
    r, c, s = r[above], c[above], s[above]
    keep = np.ones(len(r), dtype=bool)
    stopped: Counter = Counter()
    why: dict[tuple[int, int], str] = {}
    for k, (i, j) in enumerate(zip(r.tolist(), c.tolist())):
        stop = same_request(texts[i], texts[j], lang)
        if stop is None:
            why[(i, j)] = "same content words"
        else:
            keep[k] = False
            stopped[stop] += 1
    d = decide_from_pairs(len(texts), r[keep], c[keep], s[keep], threshold, semantics)
    return MinHashResult(d, why, stopped)
