"""Statistics for judge noise and agreement: run medians, bootstrap intervals, Cohen's kappa,
Spearman's rho. numpy only; written for small inputs (hundreds to thousands of verdicts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Interval:
    """A point estimate with a percentile bootstrap interval."""

    estimate: float
    low: float
    high: float
    runs: int  # judge runs behind the estimate
    n: int  # verdicts behind the estimate (all runs)
    spread: float = 0.0  # max - min of the per-run averages (0 for one run)

    def fmt(self, digits: int = 2) -> str:
        if np.isnan(self.estimate):
            return "-"
        if np.isnan(self.low):
            return f"{self.estimate:.{digits}f}"
        return f"{self.estimate:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def score_interval(
    sums: np.ndarray,
    counts: np.ndarray,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Median over judge runs of the pooled mean, with a bootstrap interval over questions.

    ``sums[r, q]`` / ``counts[r, q]``: the sum and number of usable scores of question q (both
    turns pooled, as FastChat averages) in run r. One replicate draws the questions with
    replacement and recomputes every run's pooled mean on that draw, then takes their median;
    so the interval reflects which questions were asked, and the median damps judge noise."""
    sums = np.atleast_2d(np.asarray(sums, dtype=float))
    counts = np.atleast_2d(np.asarray(counts, dtype=float))
    runs, nq = sums.shape
    total = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_run = sums.sum(axis=1) / total
    good = total > 0
    if not good.any():
        return Interval(float("nan"), float("nan"), float("nan"), 0, 0)
    estimate = float(np.median(per_run[good]))
    spread = float(per_run[good].max() - per_run[good].min())
    n = int(total.sum())
    if nq < 2 or n_boot <= 0:
        return Interval(estimate, float("nan"), float("nan"), int(good.sum()), n, spread)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, nq, size=(n_boot, nq))
    # (runs, n_boot): each run's sums/counts over the drawn questions.
    s = sums[:, idx].sum(axis=2)
    c = counts[:, idx].sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(c > 0, s / np.where(c > 0, c, 1), np.nan)
    reps = np.nanmedian(means, axis=0) if runs > 1 else means[0]
    reps = reps[~np.isnan(reps)]
    if reps.size == 0:
        return Interval(estimate, float("nan"), float("nan"), int(good.sum()), n, spread)
    alpha = (1 - level) / 2
    low, high = np.quantile(reps, [alpha, 1 - alpha])
    return Interval(estimate, float(low), float(high), int(good.sum()), n, spread)


def round_half_up(x: float) -> int:
    """``x`` to the nearest whole number, halves up: 6.5 -> 7 and 7.5 -> 8 alike. Python's
    ``round`` sends halves to the even neighbour (6.5 -> 6 but 7.5 -> 8), so whether a judge's
    [[6.5]] matched a human 7 would depend on the parity of the grade."""
    return math.floor(x + 0.5)


def rankdata(x: Sequence[float]) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (scipy's 'average' method)."""
    a = np.asarray(x, dtype=float)
    order = np.argsort(a, kind="mergesort")
    ranks = np.empty(len(a), dtype=float)
    sorted_a = a[order]
    i = 0
    n = len(a)
    while i < n:
        j = i
        while j + 1 < n and sorted_a[j + 1] == sorted_a[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    if len(a) < 2:
        return float("nan")
    a = a - a.mean()
    b = b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else float("nan")


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rho: Pearson correlation of the average ranks (NaN when a side is constant)."""
    if len(x) != len(y):
        raise ValueError("spearman: x and y differ in length")
    return pearson(rankdata(x), rankdata(y))


def cohen_kappa(a: Sequence[object], b: Sequence[object], weights: str | None = None) -> float:
    """Cohen's kappa of two raters over the same items. ``weights``: None (nominal),
    'linear' or 'quadratic' (ordinal labels: numbers)."""
    if len(a) != len(b):
        raise ValueError("cohen_kappa: the two raters rated different numbers of items")
    if not a:
        return float("nan")
    labels = sorted(set(a) | set(b), key=lambda v: (str(type(v)), v))
    index = {v: i for i, v in enumerate(labels)}
    k = len(labels)
    obs = np.zeros((k, k))
    for x, y in zip(a, b, strict=True):
        obs[index[x], index[y]] += 1
    obs /= obs.sum()
    expected = np.outer(obs.sum(axis=1), obs.sum(axis=0))
    if weights is None:
        w = 1.0 - np.eye(k)
    else:
        values = np.asarray(labels, dtype=float)
        diff = np.abs(values[:, None] - values[None, :])
        span = values.max() - values.min()
        if span == 0:
            w = np.zeros((k, k))
        elif weights == "linear":
            w = diff / span
        elif weights == "quadratic":
            w = (diff / span) ** 2
        else:
            raise ValueError(f"cohen_kappa: unknown weights {weights!r}")
    denom = (w * expected).sum()
    if denom == 0:  # both raters used one and the same label throughout: kappa is undefined
        return float("nan")
    return float(1.0 - (w * obs).sum() / denom)
