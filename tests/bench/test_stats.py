"""Bootstrap intervals, run medians, Spearman and Cohen's kappa against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tagengo.bench.stats import cohen_kappa, rankdata, score_interval, spearman


def test_rankdata_averages_ties() -> None:
    assert rankdata([10, 20, 20, 5]).tolist() == [2.0, 3.5, 3.5, 1.0]


def test_spearman_by_hand() -> None:
    # judge [8,5,4,10,9,7] vs human [7,5,3,9,9,6]: rank deviations give 17 / sqrt(17.5 * 17)
    assert spearman([8, 5, 4, 10, 9, 7], [7, 5, 3, 9, 9, 6]) == pytest.approx(17 / math.sqrt(17.5 * 17))
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_cohen_kappa_by_hand() -> None:
    judge = ["a", "a", "tie", "tie", "b", "b", "tie"]
    human = ["a", "b", "a", "tie", "b", "b", "a"]
    # p_o = 4/7; p_e = (2*3 + 2*3 + 3*1) / 49 = 15/49; kappa = (28-15)/(49-15)
    assert cohen_kappa(judge, human) == pytest.approx(13 / 34)
    assert cohen_kappa(["x", "y"], ["x", "y"]) == pytest.approx(1.0)
    assert math.isnan(cohen_kappa(["x", "x"], ["x", "x"]))  # one label only: undefined


def test_weighted_kappa_penalises_far_disagreements_more() -> None:
    judge = [1, 2, 3, 4, 5, 5]
    near = [1, 2, 3, 4, 4, 5]
    far = [1, 2, 3, 4, 1, 5]
    assert cohen_kappa(judge, near, "quadratic") > cohen_kappa(judge, far, "quadratic")
    assert cohen_kappa(judge, near) == pytest.approx(cohen_kappa(judge, far), abs=0.2)


def test_interval_of_one_run_pools_turns_and_covers_the_estimate() -> None:
    # 4 questions, both turns pooled: sums and counts per question
    sums = np.array([[14.0, 4.0, 7.0, 9.0]])
    counts = np.array([[2, 1, 1, 1]])
    iv = score_interval(sums, counts, n_boot=500, seed=1)
    assert iv.estimate == pytest.approx(34 / 5)
    assert iv.low <= iv.estimate <= iv.high
    assert iv.low >= 4.0 and iv.high <= 9.0
    assert (iv.runs, iv.n, iv.spread) == (1, 5, 0.0)
    again = score_interval(sums, counts, n_boot=500, seed=1)
    assert (again.low, again.high) == (iv.low, iv.high)  # seeded


def test_several_runs_give_the_median_and_the_spread() -> None:
    sums = np.array([[8.0, 6.0], [9.0, 6.0], [4.0, 6.0]])
    counts = np.ones((3, 2))
    iv = score_interval(sums, counts, n_boot=200)
    # per-run averages 7.0, 7.5, 5.0 -> median 7.0, spread 2.5
    assert iv.estimate == pytest.approx(7.0) and iv.spread == pytest.approx(2.5) and iv.runs == 3


def test_interval_without_bootstrap() -> None:
    iv = score_interval(np.array([[3.0, 5.0]]), np.array([[1, 1]]), n_boot=0)
    assert iv.estimate == 4.0 and math.isnan(iv.low)
    assert iv.fmt() == "4.00"


def test_round_half_up_sends_every_half_the_same_way() -> None:
    from tagengo.bench.stats import round_half_up

    # round() sends halves to the even neighbour: 6.5 -> 6 but 7.5 -> 8
    assert [round_half_up(x) for x in (0.5, 1.5, 6.5, 7.5, 8.5, 9.5)] == [1, 2, 7, 8, 9, 10]
    assert [round_half_up(x) for x in (6.0, 6.49, 6.51, 7)] == [6, 6, 7, 7]
