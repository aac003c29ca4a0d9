"""The decision rules (kept / chain, strict '>', dup_of) on hand-built vectors."""

from __future__ import annotations

import numpy as np
import pytest

from tagengo.dedup.decide import Decisions, agreement, brute_force_decide, decide_from_pairs

from .conftest import clustered, unit

# A ~ B (0.9), B ~ C (0.9), A vs C = cos(2 * 25.84 deg) ~ 0.62: a chain A-B-C.
ANGLE = np.arccos(0.9)
CHAIN = unit([1, 0], [np.cos(ANGLE), np.sin(ANGLE)], [np.cos(2 * ANGLE), np.sin(2 * ANGLE)])


def test_kept_semantics_keeps_the_end_of_a_chain():
    d = brute_force_decide(CHAIN, 0.8, "kept")
    # B is dropped (0.9 to kept A); C is only similar to B, which was dropped: C stays.
    assert d.kept.tolist() == [True, False, True]
    assert d.dup_of.tolist() == [-1, 0, -1]
    assert d.similarity[1] == pytest.approx(0.9, abs=1e-6)
    assert np.isnan(d.similarity[0]) and np.isnan(d.similarity[2])


def test_chain_semantics_drops_the_whole_chain():
    d = brute_force_decide(CHAIN, 0.8, "chain")
    # C is above the threshold to B, an earlier row; that B was dropped does not matter.
    assert d.kept.tolist() == [True, False, False]
    assert d.dup_of.tolist() == [-1, 0, 1]


def test_comparison_is_strictly_above_the_threshold():
    # (1, 0) . (0.8, 0.6) is exactly 0.8 in float32.
    x = np.array([[1, 0], [0.8, 0.6]], dtype=np.float32)
    assert (x[0] @ x[1]) == np.float32(0.8)
    assert brute_force_decide(x, 0.8).kept.tolist() == [True, True]
    assert brute_force_decide(x, 0.79).kept.tolist() == [True, False]
    assert decide_from_pairs(2, [1], [0], [np.float32(0.8)], 0.8).kept.tolist() == [True, True]


def test_dup_of_is_the_most_similar_kept_row_earliest_on_ties():
    # Rows 0 and 1 are far apart; row 2 is close to both, closer to 1; row 3 copies row 0.
    x = unit([1, 0, 0], [0, 1, 0], [0.3, 1, 0], [1, 0, 0])
    d = brute_force_decide(x, 0.2)
    assert d.kept.tolist() == [True, True, False, False]
    assert d.dup_of[2] == 1
    assert d.dup_of[3] == 0
    # Ties: row 2 equally similar to rows 0 and 1 -> the earlier one.
    y = unit([1, 0, 0], [0, 1, 0], [1, 1, 0])
    assert brute_force_decide(y, 0.5).dup_of.tolist() == [-1, -1, 0]


def test_walk_follows_input_order():
    # The same three vectors in reverse order: now C and A are kept and B is dropped,
    # pointing at C (the first row walked).
    d = brute_force_decide(CHAIN[::-1].copy(), 0.8, "kept")
    assert d.kept.tolist() == [True, False, True]
    assert d.dup_of[1] == 0


@pytest.mark.parametrize("semantics", ["kept", "chain"])
def test_pairs_give_the_same_decisions_as_brute_force(semantics):
    x = clustered(400, 16, centres=40, spread=0.4, seed=3)
    ref = brute_force_decide(x, 0.8, semantics)
    assert 50 < ref.n_removed < 350  # the data actually exercises the rule
    sims = x @ x.T
    rows, cols = np.nonzero(sims > -2)  # every pair, both directions: the function filters
    d = decide_from_pairs(len(x), rows, cols, sims[rows, cols], 0.8, semantics)
    assert np.array_equal(d.kept, ref.kept)
    assert np.array_equal(d.dup_of, ref.dup_of)


def test_chain_removes_at_least_as_much_as_kept():
    x = clustered(300, 8, centres=20, spread=0.5, seed=5)
    kept, chain = brute_force_decide(x, 0.85, "kept"), brute_force_decide(x, 0.85, "chain")
    assert chain.n_removed > kept.n_removed
    assert not np.any(chain.kept & ~kept.kept)  # chain never keeps a row kept-mode drops


def test_agreement_and_errors():
    a = Decisions.all_kept(4)
    b = Decisions.all_kept(4)
    b.kept[1] = False
    assert agreement(a, b) == 0.75
    with pytest.raises(ValueError):
        agreement(a, Decisions.all_kept(3))
    with pytest.raises(ValueError, match="semantics"):
        brute_force_decide(CHAIN, 0.8, "greedy")


def test_groups_split_a_chain_and_are_never_compared():
    # B is A's duplicate by similarity but in another content group: nothing is dropped in
    # B's group, and C, in A's group, is too far from A.
    d = brute_force_decide(CHAIN, 0.8, "kept", groups=["x", "y", "x"])
    assert d.kept.tolist() == [True, True, True]
    d = brute_force_decide(CHAIN, 0.8, "kept", groups=["x", "x", "y"])
    assert d.kept.tolist() == [True, False, True]


@pytest.mark.parametrize("semantics", ["kept", "chain"])
def test_decide_in_groups_matches_brute_force_with_groups(semantics):
    from tagengo.dedup.decide import decide_in_groups
    from tagengo.dedup.search import exact_decide

    x = clustered(400, 16, centres=12, spread=0.25, seed=3)
    groups = [("k", i % 3) for i in range(len(x))]  # hashable labels, interleaved in walk order
    ref = brute_force_decide(x, 0.8, semantics, groups=groups)
    got = decide_in_groups(groups, lambda idx: exact_decide(x[idx], 0.8, semantics, block=64))
    assert ref.n_removed > 20  # the groups still hold duplicates
    assert got.kept.tolist() == ref.kept.tolist()
    assert got.dup_of.tolist() == ref.dup_of.tolist()
    for g, r in zip(got.dup_of, ref.dup_of):
        if r >= 0:
            assert groups[g] == groups[r]
