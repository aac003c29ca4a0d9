"""Win rates against one baseline, Arena-Hard style: bootstrap 95% intervals and a
length-controlled rate, from the pair judgments ``tagengo bench judge --mode pairwise-baseline``
writes (FastChat's ``<judge>_pair.jsonl``: every game judged in both orders) and the answer files.

* **Games.** Each order of each (question, turn) judgment is one game, scored for the model
  1 (win), 0.5 (tie) or 0 (loss). Two orders that disagree are one win and one loss, so they
  weigh as a tie, as Arena-Hard-Auto counts them. A judgment with an error in either order is
  dropped whole (both games), as Arena-Hard-Auto drops a null score, and counted.
* **Win rate.** The mean score. Its 95% interval is the percentile bootstrap over questions:
  a question's games (both turns, both orders, every judge run) are resampled together, since
  they are not independent; the same resampled questions serve every model, with a fixed seed.
* **Length-controlled win rate.** Arena-Hard-Auto's style control with one style feature: a
  logistic (Bradley-Terry against the baseline) regression of the score on model identity
  (one coefficient per model, the baseline's fixed at 0) and a shared coefficient of the
  normalised length difference ``(model - baseline) / (model + baseline)`` in o200k tokens,
  divided by its standard deviation. The LC rate is a model's fitted probability at equal length,
  ``sigmoid(coefficient)``. Arena-Hard-Auto also centres the feature on the mean over all
  battles; tagengo does not, so the LC rate means "at the baseline's length" and a model whose
  answers are as long as the baseline's keeps its plain rate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import expit

from tagengo.io.bench_layout import Bench
from tagengo.io.fastchat import PairJudgment, read_pair_judgments

_SCORE = {"model_1": 1.0, "model_2": 0.0, "tie": 0.5}
# A weak prior on the (standardised) length slope keeps the fit finite when the longer answer
# always wins (a perfectly separated slope has no maximum-likelihood value); over a few hundred
# games it moves nothing. The model coefficients get only enough to keep Newton's steps solvable.
_SLOPE_RIDGE = 1.0
_MODEL_RIDGE = 1e-6

Lengths = dict[tuple[str, str, int], int]  # (model, question key, turn) -> answer tokens


@dataclass(frozen=True)
class Game:
    question: str
    model: str
    score: float  # for the model: 1 win, 0.5 tie, 0 loss
    length_diff: float  # (model - baseline) / (model + baseline), in [-1, 1]


@dataclass(frozen=True)
class WinRate:
    model: str
    baseline: str
    games: int
    questions: int
    dropped: int  # judgments with an error in either order (their two games left out)
    win_rate: float
    low: float
    high: float
    lc_win_rate: float
    lc_low: float
    lc_high: float


def baseline_of(rows: Iterable[PairJudgment]) -> str | None:
    """The baseline of pairwise-baseline judgments: FastChat (and tagengo) write the baseline
    as model_2 of every match, so a model_2 common to all rows is it; None for pairwise-all."""
    seconds = {r.model_2 for r in rows}
    return next(iter(seconds)) if len(seconds) == 1 else None


def games_of(
    rows: Iterable[PairJudgment], baseline: str, lengths: Lengths, models: list[str] | None = None
) -> tuple[list[Game], dict[str, int]]:
    """The games of every model against ``baseline`` (it may sit in either seat), and per model
    the number of judgments dropped for an error."""
    out: list[Game] = []
    dropped: dict[str, int] = defaultdict(int)
    for r in rows:
        if baseline not in (r.model_1, r.model_2) or r.model_1 == r.model_2:
            continue
        model = r.model_2 if r.model_1 == baseline else r.model_1
        if models is not None and model not in models:
            continue
        if r.has_error or r.g1_winner not in _SCORE or r.g2_winner not in _SCORE:
            dropped[model] += 1
            continue
        lm, lb = lengths.get((model, r.key, r.turn)), lengths.get((baseline, r.key, r.turn))
        diff = (lm - lb) / (lm + lb) if lm is not None and lb is not None and lm + lb > 0 else 0.0
        flip = r.model_1 == baseline
        for verdict in (r.g1_winner, r.g2_winner):
            s = _SCORE[verdict]
            out.append(Game(r.key, model, 1.0 - s if flip else s, diff))
    return out, dict(dropped)


def fit_length_controlled(
    model_idx: np.ndarray, diffs: np.ndarray, scores: np.ndarray, n_models: int, iters: int = 100
) -> np.ndarray:
    """Newton's method on the logistic log-likelihood of ``scores`` (soft labels: a tie is half
    a win and half a loss) given one-hot model columns and one length column (``diffs``, already
    standardised). Returns the model coefficients (log-odds against the baseline at equal length)."""
    x = np.zeros((len(scores), n_models + 1))
    x[np.arange(len(scores)), model_idx] = 1.0
    x[:, -1] = diffs
    ridge = np.full(n_models + 1, _MODEL_RIDGE)
    ridge[-1] = _SLOPE_RIDGE
    w = np.zeros(n_models + 1)
    for _ in range(iters):
        p = expit(x @ w)
        grad = x.T @ (scores - p) - ridge * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + np.diag(ridge)
        step = np.linalg.solve(hess, grad)
        w += step
        if np.max(np.abs(step)) < 1e-9:
            break
    return w[:-1]


def win_rates(
    games: list[Game],
    baseline: str,
    *,
    dropped: dict[str, int] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> list[WinRate]:
    """Per model (sorted by LC win rate, best first): the win rate and the LC win rate against
    ``baseline``, each with its percentile-bootstrap 95% interval (NaN with ``n_boot`` 0)."""
    dropped = dropped or {}
    models = sorted({g.model for g in games} | set(dropped))
    if not games:
        nan = float("nan")
        return [WinRate(m, baseline, 0, 0, dropped.get(m, 0), *[nan] * 6) for m in models]
    index = {m: i for i, m in enumerate(models)}
    idx = np.array([index[g.model] for g in games])
    scores = np.array([g.score for g in games])
    raw_diffs = np.array([g.length_diff for g in games])
    sd = float(raw_diffs.std())
    diffs = raw_diffs / sd if sd > 0 else np.zeros_like(raw_diffs)
    by_q: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(games):
        by_q[g.question].append(i)
    groups = [np.array(v) for v in by_q.values()]

    def estimate(rows: np.ndarray) -> np.ndarray:
        """[win rate per model..., LC win rate per model...] on the games ``rows``."""
        sums = np.bincount(idx[rows], weights=scores[rows], minlength=len(models))
        counts = np.bincount(idx[rows], minlength=len(models))
        with np.errstate(invalid="ignore", divide="ignore"):
            wr = np.where(counts > 0, sums / counts, np.nan)
        lc = expit(fit_length_controlled(idx[rows], diffs[rows], scores[rows], len(models)))
        return np.concatenate([wr, np.where(counts > 0, lc, np.nan)])

    point = estimate(np.arange(len(games)))
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        boots = np.array(
            [
                estimate(np.concatenate([groups[j] for j in rng.integers(0, len(groups), len(groups))]))
                for _ in range(n_boot)
            ]
        )
        lo, hi = np.nanpercentile(boots, [2.5, 97.5], axis=0)
    else:
        lo = hi = np.full(2 * len(models), np.nan)
    k = len(models)
    out = []
    for m, i in index.items():
        mine = idx == i
        out.append(
            WinRate(
                m,
                baseline,
                int(mine.sum()),
                len({g.question for g, s in zip(games, mine) if s}),
                dropped.get(m, 0),
                float(point[i]),
                float(lo[i]),
                float(hi[i]),
                float(point[k + i]),
                float(lo[k + i]),
                float(hi[k + i]),
            )
        )
    return sorted(out, key=lambda w: -w.lc_win_rate if w.lc_win_rate == w.lc_win_rate else 1.0)


def answer_lengths(bench: Bench, models: list[str], run: int = 1) -> Lengths:
    """o200k token counts of every answer turn of ``models`` (those with an answer file)."""
    from tagengo.io.fastchat import read_answers
    from tagengo.llm.answer import count_prompt_tokens

    out: Lengths = {}
    for m in models:
        path = bench.answer_file(m, run)
        if not path.exists():
            continue
        for key, ans in read_answers(path).items():
            turns = (ans.choices[0].get("turns") if ans.choices else None) or []
            for t, text in enumerate(turns, 1):
                out[(m, key, t)] = count_prompt_tokens([str(text)])
    return out


def bench_win_rates(
    bench: Bench,
    files: dict[int, Path],
    baseline: str | None = None,
    *,
    models: list[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[str | None, list[WinRate]]:
    """The baseline (given, or read from the judgments) and the win rates of one bench's pair
    judgment files (run -> file; run r's games take their lengths from answer run r). No
    baseline found (pairwise-all judgments without --baseline-model): (None, [])."""
    per_run = {run: read_pair_judgments(path) for run, path in files.items()}
    if baseline is None:
        baseline = baseline_of(r for rows in per_run.values() for r in rows)
        if baseline is None:
            return None, []
    games: list[Game] = []
    dropped: dict[str, int] = defaultdict(int)
    for run, rows in per_run.items():
        names = sorted({m for r in rows for m in (r.model_1, r.model_2)})
        g, d = games_of(rows, baseline, answer_lengths(bench, names, run), models)
        games += g
        for m, n in d.items():
            dropped[m] += n
    return baseline, win_rates(games, baseline, dropped=dict(dropped), n_boot=n_boot, seed=seed)
