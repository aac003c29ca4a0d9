"""Match training texts against benchmark questions with four checks.

Every question turn of every benchmark is a *target*; every compared user turn of a training
row is a *segment* (``compare_turns="all"``: each user turn; ``"first"``: the first only). A row
matches a target under a check when one of its segments does:

* ``exact``: the segment equals the question turn, leading/trailing whitespace aside;
* ``normalised``: equal after :func:`tagengo.contamination.normalise.normalise` (NFKC,
  case folding, punctuation/whitespace runs to one space);
* ``ngram``: after normalisation they share at least ``min_shared`` distinct ``n``-grams, or
  shared n-grams cover at least ``min_share`` of the question's units (word n-grams, character
  n-grams for questions in scripts written without spaces; :mod:`tagengo.contamination.ngrams`);
* ``embedding``: the cosine similarity of their embeddings is strictly above the threshold
  (the bundled multilingual e5 puts a question and its translation close, so a translated
  question counts), and the question is the segment's clear nearest: its cosine is at least
  ``margin`` above the segment's best cosine to any other question (another question id, in any
  of the benchmarks: parallel benches share ids; margin 0: the cosine alone decides). A segment
  in the benchmark's own language needs ``same_language_threshold`` instead of ``threshold``.

For each row, check and benchmark the *best* target is kept: the first in question order for
exact and normalised, the one sharing the most n-grams (then the highest share of the
question covered), the most similar embedding. A row can match several benchmarks (a
translated question matches every parallel version of it). For the report, every row's highest cosine
similarity to each benchmark is kept too, matched or not.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tagengo.contamination.config import CALIBRATED, CONFIRMED, ContaminationConfig
from tagengo.contamination.ngrams import NgramIndex
from tagengo.contamination.normalise import exact_text, normalise
from tagengo.errors import ConfigError
from tagengo.io.bench_layout import Bench, open_benches
from tagengo.io.fastchat import QuestionId


@dataclass(frozen=True)
class Target:
    """One turn of one benchmark question."""

    bench: str
    language: str | None
    question_id: QuestionId
    turn: int  # 0-based, as in the file's ``turns`` list
    text: str


@dataclass
class Match:
    """Why a row matches a target under one check. ``similarity``: 1.0 for exact and
    normalised, the share of the question's words (characters) inside an n-gram the row shares
    for ngram, the cosine for embedding. ``shared``: distinct shared n-grams (ngram only). ``row_turn``: which user
    turn of the row (0-based)."""

    check: str
    target: Target
    row_turn: int
    similarity: float
    shared: int | None = None
    margin: float | None = None  # embedding: cosine minus the best cosine to another question

    def reason(self) -> str:
        t = self.target
        what = {
            "exact": "same text",
            "normalised": "same text after normalisation",
            "ngram": f"{self.shared} shared n-gram{'' if self.shared == 1 else 's'} covering "
            f"{self.similarity:.0%} of the question",
            "embedding": f"cosine {self.similarity:.4f}"
            + (f", {self.margin:.3f} above any other question" if self.margin is not None else ""),
        }[self.check]
        return (
            f"contamination ({self.check}): user turn {self.row_turn + 1} matches {t.bench} "
            f"question {t.question_id} turn {t.turn + 1} ({what})"
        )

    def to_json(self) -> dict[str, Any]:
        t = self.target
        d = {
            "check": self.check,
            "bench": t.bench,
            "bench_language": t.language,
            "question_id": t.question_id,
            "turn": t.turn + 1,
            "row_turn": self.row_turn + 1,
            "similarity": round(float(self.similarity), 4),
        }
        if self.shared is not None:
            d["shared_ngrams"] = self.shared
        if self.margin is not None:
            d["margin"] = round(float(self.margin), 4)
        return d


def _better(a: Match, b: Match | None) -> bool:
    """Whether ``a`` beats ``b`` for the same check: more shared n-grams, then higher similarity;
    on a tie the one seen first (earlier segment, earlier target) stays."""
    if b is None:
        return True
    return (a.shared or 0, a.similarity) > (b.shared or 0, b.similarity)


@dataclass
class RowResult:
    """``matches[check][bench]``: the row's best match per check and benchmark (checks that fired,
    in CHECKS order); ``best_cosine[bench]``: its highest cosine to any of that bench's questions."""

    matches: dict[str, dict[str, Match]] = field(default_factory=dict)
    best_cosine: dict[str, float] = field(default_factory=dict)

    @property
    def first(self) -> Match | None:
        """The match that names the row's reason: the first check in CHECKS order that fired,
        and its best benchmark (first bench on a tie)."""
        for per_bench in self.matches.values():
            best: Match | None = None
            for m in per_bench.values():
                if _better(m, best):
                    best = m
            return best
        return None


def load_targets(paths: Sequence[str | Path]) -> tuple[list[Bench], list[Target]]:
    """Every question turn of the benches under ``paths`` (see ``tagengo.io.bench_layout``)."""
    if not paths:
        raise ConfigError(
            "no benchmark given; pass --bench DIR (a folder with question.jsonl, or one holding such folders)."
        )
    benches = open_benches([Path(p) for p in paths])
    targets = [
        Target(b.name, b.language, q.question_id, t, text)
        for b in benches
        for q in b.questions
        for t, text in enumerate(q.turns)
    ]
    return benches, targets


def bench_fingerprint(benches: Sequence[Bench]) -> str:
    """Hash of the benches' names and question files: a changed question is a new run."""
    h = hashlib.sha256()
    for b in benches:
        h.update(b.name.encode() + b"\0" + (b.language or "").encode() + b"\0")
        h.update(b.question_file.read_bytes())
    return h.hexdigest()[:32]


def resolve_threshold(cfg: ContaminationConfig, embedder: Any) -> tuple[float, str]:
    """(cosine threshold, where it comes from): the config's, else the embedder's calibrated one
    for the rule in use (with a margin, or the cosine alone when ``margin`` is 0)."""
    if cfg.embedding.threshold is not None:
        return cfg.embedding.threshold, "config"
    key = getattr(embedder, "calibration_key", None)
    if cfg.embedding.margin == 0:
        if key in CALIBRATED:
            return CALIBRATED[key]
    elif key in CONFIRMED:
        return CONFIRMED[key][0], CONFIRMED[key][3]
    raise ConfigError(
        f"no calibrated contamination threshold for embedder {embedder.id}; pass --embedding-threshold "
        "and --embedding-margin (docs/contamination.md says how the bundled model's were chosen)."
    )


def resolve_margin(cfg: ContaminationConfig, embedder: Any) -> tuple[float, str]:
    """(margin, where it comes from): the config's, else the embedder's calibrated one."""
    if cfg.embedding.margin is not None:
        return cfg.embedding.margin, "config"
    key = getattr(embedder, "calibration_key", None)
    if key in CONFIRMED:
        return CONFIRMED[key][2], CONFIRMED[key][3]
    raise ConfigError(
        f"no calibrated contamination margin for embedder {embedder.id}; pass --embedding-margin "
        "(0 lets the cosine alone decide; docs/contamination.md says how the bundled model's was chosen)."
    )


def resolve_same_language_threshold(cfg: ContaminationConfig, embedder: Any, threshold: float) -> float:
    """The line for a row's turn in the benchmark's own language: the config's, else the
    embedder's calibrated one, else (with margin 0, or an embedder without one) ``threshold``."""
    if cfg.embedding.same_language_threshold is not None:
        return cfg.embedding.same_language_threshold
    key = getattr(embedder, "calibration_key", None)
    if cfg.embedding.margin != 0 and cfg.embedding.threshold is None and key in CONFIRMED:
        return CONFIRMED[key][1]
    return threshold


def detect_language(texts: Sequence[str]) -> list[str]:
    """The language code of each text by the project's language ID (lid.176)."""
    from tagengo.lang.langid import LanguageIdentifier

    lid = _LID.get("lid")
    if lid is None:
        lid = _LID["lid"] = LanguageIdentifier()
    return [lid.detect(t).top for t in texts]


_LID: dict[str, Any] = {}


class Matcher:
    """All checks of ``cfg`` against ``targets``. Build once, then ``match`` batches of rows.

    ``embed`` is needed only when the embedding check is on: a function from texts to unit
    float32 vectors (e.g. the embedder with the embedding cache in between). ``threshold``,
    ``same_language_threshold`` and ``margin``: the embedding rule (module doc; margin 0 lets the
    cosine alone decide; no same-language line: ``threshold`` for every row). ``languages``
    gives each compared turn's language code (language ID), used only with a same-language line
    that differs from ``threshold``."""

    def __init__(
        self,
        targets: Sequence[Target],
        cfg: ContaminationConfig,
        *,
        embed: Callable[[Sequence[str]], np.ndarray] | None = None,
        threshold: float | None = None,
        margin: float = 0.0,
        same_language_threshold: float | None = None,
        languages: Callable[[Sequence[str]], list[str]] = detect_language,
    ) -> None:
        self.targets = list(targets)
        self.cfg = cfg
        self.checks = list(cfg.checks)
        self._exact: dict[str, list[int]] = {}
        self._normal: dict[str, list[int]] = {}
        for i, t in enumerate(self.targets):
            self._exact.setdefault(exact_text(t.text), []).append(i)
            self._normal.setdefault(normalise(t.text), []).append(i)
        self._index = (
            NgramIndex(
                [normalise(t.text) for t in self.targets],
                cfg.ngram.n,
                cfg.ngram.unit,
                cfg.ngram.n_unspaced,
            )
            if "ngram" in self.checks
            else None
        )
        self._embed = embed
        self.threshold = threshold
        self.margin = margin
        self.same_language_threshold = (
            threshold if same_language_threshold is None else same_language_threshold
        )
        self._languages = languages
        self._vectors: np.ndarray | None = None
        self._bench_cols: dict[str, np.ndarray] = {}
        if "embedding" in self.checks:
            if embed is None or threshold is None:
                raise ValueError("the embedding check needs an embed function and a threshold")
            self._vectors = embed([t.text for t in self.targets])
            names = list(dict.fromkeys(t.bench for t in self.targets))
            self._bench_cols = {
                b: np.array([i for i, t in enumerate(self.targets) if t.bench == b], dtype=np.int64)
                for b in names
            }
            # Each target's question, to find a segment's best *other* question. One id is one
            # question in every bench (parallel benches share ids: a translation of question 7
            # is no other question than 7), so the margin is taken over every bench loaded.
            qkey: dict[str, int] = {}
            self._target_question = np.array(
                [qkey.setdefault(str(t.question_id), len(qkey)) for t in self.targets], dtype=np.int64
            )

    def segments(self, messages: Sequence[dict[str, str]]) -> list[str]:
        """The user turns of a row that are compared (``cfg.compare_turns``)."""
        users = [m["content"] for m in messages if m["role"] == "user"]
        return users[:1] if self.cfg.compare_turns == "first" else users

    def match(self, rows: Sequence[Sequence[str]]) -> list[RowResult]:
        """One RowResult per row; ``rows[i]`` holds row i's compared texts (``segments``)."""
        flat = [(r, k, text) for r, texts in enumerate(rows) for k, text in enumerate(texts)]
        found: list[dict[str, dict[str, Match]]] = [{} for _ in rows]
        results = [RowResult() for _ in rows]
        for check, table, key in (
            ("exact", self._exact, exact_text),
            ("normalised", self._normal, normalise),
        ):
            if check not in self.checks:
                continue
            for r, k, text in flat:
                for i in table.get(key(text), ()):
                    self._offer(found[r], Match(check, self.targets[i], k, 1.0))
        if self._index is not None:
            self._match_ngrams(flat, found)
        if self._vectors is not None:
            self._match_embeddings(flat, found, results)
        for res, f in zip(results, found, strict=True):
            res.matches = {c: f[c] for c in self.checks if c in f}
        return results

    @staticmethod
    def _offer(found: dict[str, dict[str, Match]], m: Match) -> None:
        per_bench = found.setdefault(m.check, {})
        if _better(m, per_bench.get(m.target.bench)):
            per_bench[m.target.bench] = m

    def _match_ngrams(
        self, flat: list[tuple[int, int, str]], found: list[dict[str, dict[str, Match]]]
    ) -> None:
        assert self._index is not None
        need = self.cfg.ngram.min_shared
        share = self.cfg.ngram.min_share
        for (r, k, _), overlaps in zip(
            flat, self._index.overlaps([normalise(t) for _, _, t in flat]), strict=True
        ):
            for qi, o in sorted(overlaps.items()):
                if o.shared >= need or (share is not None and o.share >= share):
                    self._offer(found[r], Match("ngram", self.targets[qi], k, o.share, o.shared))

    def _match_embeddings(
        self,
        flat: list[tuple[int, int, str]],
        found: list[dict[str, dict[str, Match]]],
        results: list[RowResult],
    ) -> None:
        assert self._vectors is not None and self._embed is not None and self.threshold is not None
        if not flat:
            return
        t = np.float32(self.threshold)
        t_same = np.float32(self.same_language_threshold)
        margin = np.float32(self.margin)
        texts = [text for _, _, text in flat]
        seg = self._embed(texts)
        seg_lang = self._languages(texts) if t_same != t else [None] * len(texts)
        sims = seg @ self._vectors.T  # segments x targets, float32: few targets, so no blocking
        for bench, cols in self._bench_cols.items():
            bench_lang = self.targets[int(cols[0])].language
            block = sims[:, cols]
            best = block.argmax(axis=1)  # the earliest target on a tie
            top = block[np.arange(len(flat)), best]
            # The best cosine to a turn of any other question (the threshold when there is no
            # other question: the margin is then counted from the line).
            own = self._target_question[cols[best]]
            other = np.where(self._target_question[None, :] == own[:, None], -np.inf, sims).max(axis=1)
            other = np.where(np.isfinite(other), other, t).astype(np.float32)
            for j, (r, k, _) in enumerate(flat):
                v = top[j]
                if float(v) > results[r].best_cosine.get(bench, -np.inf):
                    results[r].best_cosine[bench] = float(v)
                # A turn in the bench's own language (or a bench of unknown language) needs the
                # higher line: same-language prompts on one topic are close without being rewordings.
                line = t_same if bench_lang is None or seg_lang[j] == bench_lang else t
                # compared in float32, the precision the vectors have
                if v > line and v - other[j] >= margin:
                    qi = int(cols[best[j]])
                    gap = float(v - other[j]) if self.margin else None
                    self._offer(found[r], Match("embedding", self.targets[qi], k, float(v), margin=gap))
