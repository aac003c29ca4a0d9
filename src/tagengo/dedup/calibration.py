"""Choosing a similarity threshold for an embedder, with the evidence kept.

The calibration set (``tagengo/data/calibration/pairs.jsonl``, written for this purpose)
holds prompt pairs in ten languages, each labelled:

* ``rewording``: the same request said again: case, punctuation, filler words ("please",
  "bitte", greetings, thanks), a phrase moved, du/Sie (six languages): must be merged;
* ``paraphrase``: the same request in other words, content words included: merged if possible;
* ``near_miss``: the same template with another topic, object, number, constraint or order of
  roles ("a poem about autumn" / "… about spring", "5 tips" / "10 tips") (six languages): keep both;
* ``related``: same topic, different request ("reverse a list" / "sort a list"): keep both;
* ``unrelated``: different topics: keep both.

For an embedder we embed both sides of every pair and take the cosine. Two thresholds:

* embeddings alone (``content_check`` off): the threshold that best separates paraphrases
  from related and unrelated pairs, maximising Youden's J (share of paraphrase pairs above it
  minus share of the others above it), halfway between the two observed similarities where J
  is best, rounded to 0.005 (:func:`choose_threshold`). Near-miss pairs cannot be kept apart
  this way: many score higher than paraphrases;
* with the content check (the default): a pair can only merge when both sides have the same
  content key (:mod:`tagengo.dedup.content`), so the threshold only decides among those pairs
  (:func:`choose_content_threshold`).

Both report, per kind and per language, the share of pairs merged. ``tagengo dedup
--calibrate`` runs this for any embedder; the numbers shipped for the bundled model live in
``tagengo/data/calibration/<key>.json`` and are shown in docs/dedup.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from tagengo.dedup.request import RATIO_UNSPACED
from tagengo.llm.embedders import Embedder

KINDS = (
    "rewording",
    "paraphrase",
    "post_edit",
    "translation",
    "surface",
    "near_miss",
    "related",
    "unrelated",
)
#: Kinds that are the same request (should be merged); the others should be kept apart.
SAME_REQUEST = ("rewording", "paraphrase", "post_edit", "translation", "surface")
#: Same-request kinds the request check is meant to merge (goals of issue 21): everything but
#: ``paraphrase`` (the same request in quite other words, which no rule here promises).
MUST_MERGE = ("rewording", "post_edit", "translation", "surface")
#: The request check may merge at most this share of the near-miss (and related, unrelated)
#: tuning pairs: the issue's own bound.
NEAR_MISS_BUDGET = 0.05
#: The band edge keeps at least this share of the same-request tuning pairs above it.
BAND_COVERAGE = 0.99
#: With the content check and no same-key pair of another request to place it against, the
#: threshold sits this far under the lowest same-key pair of the same request, so the ~1e-3
#: differences between CPUs and rewordings a little further out still merge.
CONTENT_MARGIN = 0.02


def _request_merged(
    p: dict[str, Any],
    ratio: float | None,
    ratio_spread: float | None = None,
    spread_edge: float | None = None,
) -> bool:
    """The request check's verdict on a pair measured by :func:`calibrate`: a swap against
    ``ratio``; spread differences against ``ratio_spread`` (``ratio`` when None) or, above
    ``spread_edge``, merged on their cosine."""
    if "check" not in p:
        return False
    if p["model_free"]:
        return bool(p["same_words"])
    spread = p.get("shape") == "spread"
    if spread and spread_edge is not None and p["similarity"] > spread_edge:
        return True
    limit = ratio_spread if spread and ratio_spread is not None else ratio
    if p.get("shape") == "unspaced" and limit is not None:
        limit = min(limit, RATIO_UNSPACED)  # a swap in a script without spaces: its own bar
    return limit is not None and p["ratio"] is not None and p["ratio"] <= limit


def calibration_dir() -> Path:
    return Path(str(resources.files("tagengo").joinpath("data", "calibration")))


def load_pairs(path: str | Path | None = None) -> list[dict[str, str]]:
    """The labelled pairs: dicts with ``lang``, ``kind``, ``a``, ``b``."""
    from tagengo.io.text import read_labelled_jsonl

    return read_labelled_jsonl(path or calibration_dir() / "pairs.jsonl", ("lang", "kind", "a", "b"), KINDS)


def choose_threshold(positive: np.ndarray, negative: np.ndarray, step: float = 0.005) -> float:
    """The threshold maximising Youden's J = TPR - FPR for the rule ``similarity > t``.

    Candidates are the midpoints between consecutive observed similarities; among the
    best ones the middle of the best run is taken, then rounded to ``step``.
    """
    pos = np.sort(np.asarray(positive, dtype=np.float64))
    neg = np.sort(np.asarray(negative, dtype=np.float64))
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("calibration needs at least one paraphrase pair and one related or unrelated pair")
    values = np.unique(np.r_[pos, neg])
    cands = np.r_[values[0] - 1e-6, (values[1:] + values[:-1]) / 2, values[-1] + 1e-6]
    tpr = 1 - np.searchsorted(pos, cands, side="right") / len(pos)
    fpr = 1 - np.searchsorted(neg, cands, side="right") / len(neg)
    j = tpr - fpr
    best = np.flatnonzero(j >= j.max() - 1e-12)
    t = float(np.median(cands[best]))
    return round(round(t / step) * step, 6)


def choose_content_threshold(
    same_request: np.ndarray, other: np.ndarray, step: float = 0.005, margin: float = CONTENT_MARGIN
) -> float:
    """The threshold for pairs whose content keys are equal (the only ones it still decides).

    ``same_request``/``other``: similarities of the equal-key pairs of the same request and of
    different requests. With some of both, Youden's J as in :func:`choose_threshold`; with no
    equal-key pair of a different request, ``margin`` under the lowest same-request one,
    rounded down to ``step``.
    """
    pos = np.asarray(same_request, dtype=np.float64)
    if len(pos) == 0:
        raise ValueError(
            "content calibration needs at least one rewording or paraphrase pair with equal content"
        )
    if len(other):
        return choose_threshold(pos, other, step)
    return round(float(np.floor((pos.min() - margin) / step) * step), 6)


@dataclass
class Calibration:
    embedder_id: str
    threshold: float  # embeddings alone
    pairs: list[dict[str, Any]]  # the input pairs plus "similarity" and "same_content"
    content_threshold: float | None = None  # with the request check (the default): the band edge
    ratio: float | None = None  # the request check's substitution ratio for a swap
    ratio_spread: float | None = None  # ... for spread differences (None: ``ratio``)
    spread_edge: float | None = None  # spread differences above this cosine: one request
    judge: str | None = None  # --judge-band: the judge asked about the pairs the check kept apart

    def judged(self, kind: str | None = None, lang: str | None = None, split: str | None = None):
        """The judge's counts (tagengo.dedup.judge.Tally) over the pairs it was asked about."""
        from tagengo.dedup.judge import Answer, Tally

        t = Tally()
        t.add(
            [
                Answer(p["judge"] if p["judge"] in ("SAME", "DIFFERENT") else None, p.get("judge_failure"))
                for p in self._select(kind, lang)
                if "judge" in p and (split is None or p.get("split", "tune") == split)
            ]
        )
        return t

    def _select(self, kind: str | None, lang: str | None) -> list[dict[str, Any]]:
        return [
            p
            for p in self.pairs
            if (kind is None or p["kind"] == kind) and (lang is None or p["lang"] == lang)
        ]

    def similarities(self, kind: str | None = None, lang: str | None = None) -> np.ndarray:
        return np.array([p["similarity"] for p in self._select(kind, lang)], dtype=np.float64)

    def merged(self, content_check: bool = False, threshold: float | None = None) -> list[bool]:
        """Per pair: would dedup merge it? Embeddings alone, or with the content check."""
        if content_check:
            t = self.content_threshold if threshold is None else threshold
            if t is None:  # calibrated without the check: its band edge is the plain threshold
                t = self.threshold
            return [
                p["similarity"] > t
                and (
                    _request_merged(p, self.ratio, self.ratio_spread, self.spread_edge)
                    or p.get("judge") == "SAME"  # only pairs the check kept apart were asked
                )
                for p in self.pairs
            ]
        t = self.threshold if threshold is None else threshold
        return [p["similarity"] > t for p in self.pairs]

    def rates(
        self,
        threshold: float | None = None,
        content_check: bool = False,
        lang: str | None = None,
        split: str | None = None,
    ) -> dict[str, float]:
        """Share of each kind of pair merged (same-request kinds: removed as hoped; the others:
        removed by mistake); NaN for a kind with no pair. ``split``: only pairs of that split
        (``tune`` or ``held_out``; pairs without one count as ``tune``)."""
        m = self.merged(content_check, threshold)
        out = {}
        for k in KINDS:
            sel = [
                x
                for p, x in zip(self.pairs, m)
                if p["kind"] == k
                and (lang is None or p["lang"] == lang)
                and (split is None or p.get("split", "tune") == split)
            ]
            out[k] = float(np.mean(sel)) if sel else float("nan")
        return out

    def counts(self, kind: str, lang: str | None = None, split: str | None = None) -> tuple[int, int]:
        """(merged, pairs) of one kind under the default rule (the request check)."""
        m = self.merged(True)
        sel = [
            x
            for p, x in zip(self.pairs, m)
            if p["kind"] == kind
            and (lang is None or p["lang"] == lang)
            and (split is None or p.get("split", "tune") == split)
        ]
        return int(sum(sel)), len(sel)

    def splits(self) -> list[str]:
        return list(dict.fromkeys(p.get("split", "tune") for p in self.pairs))

    def languages(self) -> list[str]:
        return list(dict.fromkeys(p["lang"] for p in self.pairs))

    def to_json(self) -> dict[str, Any]:
        by_kind = {}
        for k in KINDS:
            s = self.similarities(k)
            if len(s) == 0:
                by_kind[k] = {"n": 0}
                continue
            same = [p["same_content"] for p in self._select(k, None)]
            by_kind[k] = {
                "n": int(len(s)),
                "min": float(s.min()),
                "p10": float(np.quantile(s, 0.1)),
                "median": float(np.median(s)),
                "p90": float(np.quantile(s, 0.9)),
                "max": float(s.max()),
                "above_threshold": float((s > self.threshold).mean()),
                "same_content": float(np.mean(same)),
            }

        def rates(**kw: Any) -> dict[str, float | None]:  # JSON has no NaN: a kind with no pair is null
            return {k: (None if v != v else v) for k, v in self.rates(**kw).items()}

        merged = {"embedding_only": rates(), "content_check": rates(content_check=True)}
        by_language = {
            lang: {"embedding_only": rates(lang=lang), "content_check": rates(content_check=True, lang=lang)}
            for lang in self.languages()
        }
        by_split = {
            split: {
                lang: rates(content_check=True, lang=lang, split=split) for lang in [None, *self.languages()]
            }
            for split in self.splits()
        }
        judge = {}
        if self.judge is not None:
            judge = {
                "judge": self.judge,
                "judge_counts": {
                    split: {
                        (lang or "all"): {
                            kind: self.judged(kind, lang, split).to_json()
                            for kind in (*MUST_MERGE, "near_miss")
                        }
                        for lang in [None, *self.languages()]
                    }
                    for split in self.splits()
                },
            }
        return {
            "embedder": self.embedder_id,
            **judge,
            "threshold": self.threshold,
            "content_threshold": self.content_threshold,
            "ratio": self.ratio,
            "ratio_spread": self.ratio_spread,
            "spread_edge": self.spread_edge,
            "rule": "similarity > threshold; threshold maximises TPR - FPR of paraphrase vs related+unrelated",
            "content_rule": "similarity > content_threshold (the band edge: keeps "
            f"{BAND_COVERAGE:.0%} of the same-request tuning pairs above it) and the request check "
            "(tagengo.dedup.request) finds one request: no hard stop, and the same content words or a "
            "substitution ratio <= ratio for a swap (one run of words against another); for spread "
            "differences ratio <= ratio_spread or similarity > spread_edge (each the loosest value merging "
            f"<= {NEAR_MISS_BUDGET:.0%} of the other-request tuning pairs of that shape that reach the check)",
            "by_kind": by_kind,
            "merged": merged,
            "by_language": by_language,
            "by_split": {sp: {(lang or "all"): r for lang, r in v.items()} for sp, v in by_split.items()},
            "pairs": self.pairs,
        }


def calibrate(
    embedder: Embedder,
    pairs: list[dict[str, str]] | None = None,
    band: float | None = None,
    ratio: float | None = None,
    check: bool = True,
    embed: Callable[[list[str]], np.ndarray] | None = None,
    ratio_spread: float | None = None,
    spread_edge: float | None = None,
    judge: Any = None,
) -> Calibration:
    """Embed the calibration pairs with ``embedder``, choose its thresholds and run the
    request check (:mod:`tagengo.dedup.request`) on every pair above the band edge.

    The band edge and the substitution ratio are chosen on the pairs whose ``split`` is
    ``tune`` (all pairs when none has a split) unless given: :func:`choose_band` and
    :func:`choose_ratio`. Pairs of the other split are only measured.

    ``judge`` (a :class:`tagengo.dedup.judge.BandJudge`, ``--judge-band``): asked about every
    pair above the band edge that the check, with the values chosen, keeps apart for a soft
    reason (its ratio); its verdict is stored as the pair's ``judge`` (``SAME``, ``DIFFERENT``
    or ``failed``) and a SAME counts as merged. The values are chosen without it."""
    from tagengo.dedup.content import content_key

    pairs = pairs if pairs is not None else load_pairs()
    embed = embed or embedder.embed
    a = embed([p["a"] for p in pairs])
    b = embed([p["b"] for p in pairs])
    sims = (a * b).sum(axis=1)
    scored = [
        dict(
            p,
            similarity=round(float(s), 6),
            same_content=content_key(p["a"], p["lang"]) == content_key(p["b"], p["lang"]),
        )
        for p, s in zip(pairs, sims)
    ]
    kind = np.array([p["kind"] for p in pairs])
    pos = sims[kind == "paraphrase"]
    neg = sims[(kind == "related") | (kind == "unrelated")]
    if len(pos) == 0 or len(neg) == 0:  # a set of only the new kinds: same request vs the rest
        pos = sims[np.isin(kind, SAME_REQUEST)]
        neg = sims[~np.isin(kind, SAME_REQUEST)]
    tuning = np.array([p.get("split", "tune") == "tune" for p in pairs], dtype=bool)
    want = np.isin(kind, MUST_MERGE)
    if check and band is None and (want & tuning).any():
        band = choose_band(sims[want & tuning])
    if check and band is not None:
        _measure_check(pairs, scored, sims, a, b, band, embed)
        tuned = [p for p, t in zip(scored, tuning) if t]
        if ratio is None:
            ratio = choose_ratio([p for p in tuned if p.get("shape") != "spread"])
        if ratio_spread is None:
            spread = [p for p in tuned if p.get("shape") == "spread"]
            has_bad = any(p["kind"] not in SAME_REQUEST for p in spread) and any(
                p["kind"] in MUST_MERGE for p in spread
            )
            # No spread pair of another request to place it against: as strict as a swap.
            ratio_spread = choose_ratio(spread) if has_bad else ratio
        if spread_edge is None:
            spread_edge = choose_spread_edge([p for p in tuned if p.get("shape") == "spread"])
        if judge is not None:
            _ask_judge(judge, scored, ratio, ratio_spread, spread_edge)
    return Calibration(
        embedder.id,
        choose_threshold(pos, neg),
        scored,
        band,
        ratio,
        ratio_spread,
        spread_edge,
        judge.name if judge is not None else None,
    )


def _measure_check(
    pairs: list[dict[str, str]],
    scored: list[dict[str, Any]],
    sims: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    band: float,
    embed: Callable[[list[str]], np.ndarray],
) -> None:
    """The request check on every pair above the band edge, its ratio measured (decided
    later, with the values chosen), written into ``scored``."""
    from tagengo.dedup import request

    idx = [i for i, s in enumerate(sims) if s > np.float32(band)]
    verdicts = request.check_pairs(
        [(pairs[i]["a"], pairs[i]["b"]) for i in idx],
        None,
        sims[idx],
        a[idx],
        b[idx],
        embed,
        ratio=float("inf"),
        langs=[pairs[i]["lang"] for i in idx],
    )
    for i, v in zip(idx, verdicts):
        scored[i]["check"] = v.why.split(" ratio")[0] if v.ratio is not None else v.why
        scored[i]["ratio"] = v.ratio
        scored[i]["model_free"] = v.ratio is None
        scored[i]["same_words"] = v.same if v.ratio is None else None
        scored[i]["shape"] = v.shape


def _ask_judge(
    judge: Any, scored: list[dict[str, Any]], ratio: float, ratio_spread: float, spread_edge: float
) -> None:
    """``--judge-band``: the judge's verdict on every pair the check keeps apart for a soft
    reason (its ratio), stored as the pair's ``judge`` (a failure with its kind and detail)."""
    soft = [
        p
        for p in scored
        if "check" in p and not p["model_free"] and not _request_merged(p, ratio, ratio_spread, spread_edge)
    ]
    for p, ans in zip(soft, judge.ask([(p["a"], p["b"]) for p in soft], desc="calibration: judge")):
        p["judge"] = ans.verdict or "failed"
        if ans.verdict is None:
            p["judge_failure"] = ans.failure
            p["judge_detail"] = ans.detail


def choose_spread_edge(
    pairs: list[dict[str, Any]], step: float = 0.005, budget: float = NEAR_MISS_BUDGET
) -> float | None:
    """The cosine above which a pair with spread differences is one request: the lowest
    multiple of ``step`` that at most ``budget`` of the spread pairs of another request among
    ``pairs`` exceed; None (no such edge) without any such pair to place it against."""
    bad = np.sort([p["similarity"] for p in pairs if p["kind"] not in SAME_REQUEST])
    if len(bad) == 0:
        return None
    allowed = int(np.floor(budget * len(bad)))
    highest_kept = bad[len(bad) - 1 - allowed]
    return round(float(np.floor(highest_kept / step) * step + step), 6)


def choose_band(same_request: np.ndarray, coverage: float = BAND_COVERAGE, step: float = 0.005) -> float:
    """The band edge: the highest multiple of ``step`` that keeps at least ``coverage`` of the
    same-request (tuning) pairs strictly above it. Everything above is handed to the request
    check, so a low edge costs time, not near misses."""
    s = np.sort(np.asarray(same_request, dtype=np.float64))
    if len(s) == 0:
        raise ValueError("the band needs at least one same-request pair")
    lowest_kept = s[int(np.floor((1 - coverage) * len(s)))]
    return round(float(np.ceil(lowest_kept / step) * step - step), 6)


def choose_ratio(pairs: list[dict[str, Any]], step: float = 0.05, budget: float = NEAR_MISS_BUDGET) -> float:
    """The substitution ratio: the largest value of the grid ``step``, 2 ``step``, ... 2 that
    merges at most ``budget`` of the near-miss, related and unrelated pairs among ``pairs``
    (which carry the request check's measurements). The must-merge share is what it buys;
    docs/dedup.md reports it on the held-out pairs."""
    grid = np.round(np.arange(step, 2 + 1e-9, step), 6)
    bad = [p for p in pairs if p["kind"] not in SAME_REQUEST]
    if not bad or not any(p["kind"] in MUST_MERGE for p in pairs):
        raise ValueError("the ratio needs must-merge pairs and near-miss, related or unrelated pairs")

    def merged(p: dict[str, Any], r: float) -> bool:
        if "check" not in p:
            return False  # under the band edge
        return bool(p["same_words"]) if p["model_free"] else p["ratio"] <= r

    ok = [r for r in grid if np.mean([merged(p, r) for p in bad]) <= budget]
    return float(max(ok)) if ok else float(grid[0])


def plot_calibration(cal: Calibration, path: str | Path, title: str | None = None) -> Path:
    """Histogram of the similarities of each kind of pair, with the chosen threshold drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    all_s = cal.similarities()
    lo, hi = float(all_s.min()) - 0.01, min(1.0, float(all_s.max()) + 0.01)
    bins = np.linspace(lo, hi, 40)
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=120)
    colours = {
        "rewording": "#ff7f0e",
        "paraphrase": "#d62728",
        "post_edit": "#e377c2",
        "translation": "#8c564b",
        "surface": "#bcbd22",
        "near_miss": "#9467bd",
        "related": "#1f77b4",
        "unrelated": "#7f7f7f",
    }
    for k in KINDS:
        s = cal.similarities(k)
        ax.hist(s, bins=bins, alpha=0.55, color=colours[k], label=f"{k} (n={len(s)})")
    ax.axvline(cal.threshold, color="black", linestyle="--", linewidth=1.2)
    if cal.content_threshold is not None:
        ax.axvline(cal.content_threshold, color="black", linestyle=":", linewidth=1.2)

    def pct(x: float) -> str:
        return "-" if x != x else f"{x:.0%}"

    alone, content = cal.rates(), cal.rates(content_check=True)
    lines = [f" merged: embeddings alone > {cal.threshold:.3f}"]
    if cal.content_threshold is not None:
        lines[0] += f" | content check, > {cal.content_threshold:.3f}"
    for k in KINDS:
        line = f" {k}: {pct(alone[k])}"
        if cal.content_threshold is not None:
            line += f" | {pct(content[k])}"
        lines.append(line)
    ax.text(lo + 0.005, ax.get_ylim()[1] * 0.95, "\n".join(lines), va="top", fontsize=7)
    ax.set_xlabel("cosine similarity of the pair")
    ax.set_ylabel("pairs")
    ax.set_title(title or f"Calibration pairs: {cal.embedder_id}", fontsize=9)
    ax.legend(fontsize=7, loc="center left")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
