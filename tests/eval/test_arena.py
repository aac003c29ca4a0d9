"""Win rates against a baseline with bootstrap intervals and the length-controlled rate, on
pair judgments in FastChat's format written here."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tagengo.eval.arena import Game, lc_intercept, win_rate, win_rates


def _bench(tmp_path: Path, verdicts: list[tuple[str, str]], long_model: bool) -> Path:
    bench = tmp_path / "de_mini"
    (bench / "model_judgment").mkdir(parents=True)
    (bench / "model_answer").mkdir()
    pairs, answers = [], {"sft": [], "base": []}
    for i, (g1, g2) in enumerate(verdicts, 1):
        pairs.append(
            {
                "question_id": i,
                "model_1": "sft",
                "model_2": "base",
                "g1_winner": g1,
                "g2_winner": g2,
                "judge": ["j", "pair-v2"],
                "turn": 1,
            }
        )
        for m in answers:
            words = 40 if long_model and m == "sft" else 10
            answers[m].append(
                {"question_id": i, "model_id": m, "choices": [{"index": 0, "turns": ["wort " * words]}]}
            )
    (bench / "question.jsonl").write_text("")
    (bench / "model_judgment" / "j_pair.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))
    for m, rows in answers.items():
        (bench / "model_answer" / f"{m}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return bench


def test_win_rate_counts_both_orders_with_ties_as_half(tmp_path: Path) -> None:
    verdicts = [("model_1", "model_1")] * 6 + [("model_1", "tie")] * 2 + [("model_2", "model_2")] * 2
    verdicts.append(("error", "model_1"))
    (wr,) = win_rates(_bench(tmp_path, verdicts, long_model=False), "j", "base", n_boot=200)
    # 12 + 2*1.5 + 0 + 1 (the error's other order) = 16 points over 21 games
    assert wr.model == "sft" and wr.games == 21 and wr.errors == 1
    assert wr.win_rate == pytest.approx(16 / 21)
    assert wr.low <= wr.win_rate <= wr.high and wr.high - wr.low > 0.05
    # answers of equal length: the length-controlled rate is the plain one
    assert wr.lc_win_rate == pytest.approx(16 / 21, abs=1e-6)


def test_a_model_that_wins_only_by_writing_longer_loses_that_edge_under_length_control() -> None:
    rng = np.random.default_rng(1)
    games = []
    for q in range(300):
        diff = float(rng.uniform(-0.3, 1.0))  # the model mostly writes longer
        p = 1 / (1 + math.exp(-(4 * diff)))  # the judge prefers longer answers, nothing else
        games.append(Game(str(q), 1, float(rng.random() < p), diff))
    wr = win_rate(games, "sft", "base", n_boot=100)
    assert wr.win_rate > 0.65
    assert abs(wr.lc_win_rate - 0.5) < 0.12 and wr.lc_low < 0.5 < wr.lc_high


def test_the_logistic_fit_recovers_a_known_intercept() -> None:
    diffs = np.linspace(-1, 1, 401)
    scores = 1 / (1 + np.exp(-(0.7 + 2.0 * diffs)))  # expected outcomes, as soft labels
    assert lc_intercept(scores, diffs) == pytest.approx(0.7, abs=1e-4)
