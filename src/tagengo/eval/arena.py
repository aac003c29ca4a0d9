"""Win rates against a baseline with bootstrap intervals, and a length-controlled win rate
(Arena-Hard-Auto's style control, reduced to one style feature), from what ``tagengo bench
judge --mode pairwise-baseline`` writes (FastChat's pair judgments: each question judged in
both orders) and the bench's answer files (for the answer lengths).

* **Games**: every order of every (question, turn) pair judgment is one game, scored for the
  model 1 (win), 0.5 (tie) or 0 (loss) against the baseline; a game whose verdict is an error
  is left out (counted).
* **Win rate**: the mean score; its 95% interval is the percentile bootstrap over questions
  (a question's games stay together), ``n_boot`` resamples with a fixed seed.
* **Length-controlled win rate**: a logistic regression of the score on the normalised
  difference of answer lengths (o200k tokens, model minus baseline, divided by their sum),
  ties as half a win and half a loss; the length-controlled rate is the fitted probability at
  equal length, ``sigmoid(intercept)``, with its interval from the same bootstrap.

Library only for now (no command yet): ``win_rates(bench_folder, judge, baseline)``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_SCORE = {"model_1": 1.0, "model_2": 0.0, "tie": 0.5}


@dataclass(frozen=True)
class Game:
    question: str
    turn: int
    score: float  # for the model: 1 win, 0.5 tie, 0 loss
    length_diff: float  # (model - baseline) / (model + baseline), in [-1, 1]


@dataclass(frozen=True)
class WinRate:
    model: str
    baseline: str
    games: int
    errors: int
    win_rate: float
    low: float
    high: float
    lc_win_rate: float
    lc_low: float
    lc_high: float


def games_of(
    rows: Sequence[object], model: str, baseline: str, lengths: dict[tuple[str, str, int], int]
) -> tuple[list[Game], int]:
    """The games of ``model`` against ``baseline`` from pair judgments (either seat), and the
    number of error verdicts left out. ``lengths``: (model, question key, turn) -> tokens."""
    out, errors = [], 0
    for r in rows:
        pair = (r.model_1, r.model_2)  # type: ignore[attr-defined]
        if set(pair) != {model, baseline}:
            continue
        flip = r.model_1 == baseline  # type: ignore[attr-defined]
        q, turn = r.key, r.turn  # type: ignore[attr-defined]
        lm, lb = lengths.get((model, q, turn)), lengths.get((baseline, q, turn))
        diff = 0.0 if not lm or not lb else (lm - lb) / (lm + lb)
        for verdict in (r.g1_winner, r.g2_winner):  # type: ignore[attr-defined]
            if verdict not in _SCORE:
                errors += 1
                continue
            s = _SCORE[verdict]
            out.append(Game(q, turn, 1.0 - s if flip else s, diff))
    return out, errors


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def lc_intercept(scores: np.ndarray, diffs: np.ndarray, iters: int = 50, ridge: float = 1e-6) -> float:
    """Logistic regression score ~ a + b * diff (scores in [0, 1]: a tie counts half each way),
    by Newton's method; returns a (the log-odds of a win at equal length)."""
    x = np.column_stack([np.ones_like(diffs), diffs])
    w = np.zeros(2)
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (scores - p) - ridge * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + ridge * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(w[0])


def win_rate(
    games: list[Game], model: str, baseline: str, *, errors: int = 0, n_boot: int = 1000, seed: int = 0
) -> WinRate:
    """The point estimates and percentile bootstrap intervals (95%, resampling questions)."""
    nan = float("nan")
    if not games:
        return WinRate(model, baseline, 0, errors, nan, nan, nan, nan, nan, nan)
    by_q: dict[tuple[str, int], list[Game]] = defaultdict(list)
    for g in games:
        by_q[(g.question, g.turn)].append(g)
    groups = list(by_q.values())
    scores = [np.array([g.score for g in grp]) for grp in groups]
    diffs = [np.array([g.length_diff for g in grp]) for grp in groups]

    def stats(idx: np.ndarray) -> tuple[float, float]:
        s = np.concatenate([scores[i] for i in idx])
        d = np.concatenate([diffs[i] for i in idx])
        return float(s.mean()), _sigmoid(lc_intercept(s, d))

    wr, lc = stats(np.arange(len(groups)))
    rng = np.random.default_rng(seed)
    boots = (
        np.array([stats(rng.integers(0, len(groups), len(groups))) for _ in range(n_boot)])
        if n_boot
        else None
    )
    lo, hi = np.percentile(boots, [2.5, 97.5], axis=0) if boots is not None else np.full((2, 2), nan)
    return WinRate(
        model, baseline, len(games), errors, wr, float(lo[0]), float(hi[0]), lc, float(lo[1]), float(hi[1])
    )


def win_rates(
    bench: str | Path, judge: str, baseline: str, *, n_boot: int = 1000, seed: int = 0
) -> list[WinRate]:
    """Every model of a bench's pairwise-baseline judgments (``model_judgment/<judge>_pair.jsonl``)
    against ``baseline``, with answer lengths from ``model_answer/<model>.jsonl``."""
    from tagengo.bench.formats import read_answers, read_pair_judgments
    from tagengo.llm.answer import count_prompt_tokens

    bench = Path(bench)
    rows = read_pair_judgments(bench / "model_judgment" / f"{judge}_pair.jsonl")
    models = sorted({m for r in rows for m in (r.model_1, r.model_2)} - {baseline})
    lengths: dict[tuple[str, str, int], int] = {}
    for name in [*models, baseline]:
        path = bench / "model_answer" / f"{name}.jsonl"
        if not path.exists():
            continue
        for key, ans in read_answers(path).items():
            for t, text in enumerate((ans.choices[0].get("turns") if ans.choices else None) or [], 1):
                lengths[(name, key, t)] = count_prompt_tokens([str(text)])
    out = []
    for m in models:
        games, errors = games_of(rows, m, baseline, lengths)
        out.append(win_rate(games, m, baseline, errors=errors, n_boot=n_boot, seed=seed))
    return out
