"""The one "is this a real preference" rule: same text after normalisation, or near-identical."""

from __future__ import annotations

import difflib
import json
from collections import defaultdict

import pytest

from tagengo.dedup.calibration import calibration_dir
from tagengo.pairs_check import NEAR, SAME_ANSWER, normalise, same_answer, similarity


@pytest.mark.parametrize(
    ("chosen", "rejected"),
    [
        ("Paris is the capital of France.", "Paris is the capital of France."),
        ("Paris is the capital of France.", "paris is the capital of france"),
        ("Paris  is the\ncapital of France!", "Paris is the capital of France."),
        ("ＰＡＲＩＳ　ｉｓ　ｔｈｅ　ｃａｐｉｔａｌ", "Paris is the capital"),  # full-width (NFKC)
        ("Die Straße ist lang.", "DIE STRASSE IST LANG"),  # case folding, not lower()
        ("「東京」です。", "東京です"),
    ],
)
def test_the_same_answer_after_normalisation_is_no_preference(chosen: str, rejected: str) -> None:
    reason = same_answer(chosen, rejected)
    assert reason is not None and reason.startswith(f"{SAME_ANSWER}: ")


def test_near_identical_long_answers_are_no_preference_but_short_real_differences_are() -> None:
    long = " ".join(f"Step {i}: mix the flour, the water and the salt, then wait." for i in range(20))
    assert same_answer(long, long.replace("wait.", "rest.", 1)).startswith(
        f"{SAME_ANSWER}: chosen and rejected are near"
    )
    # A wrong number in a short answer is exactly what a preference should teach.
    assert same_answer("The answer is 4.", "The answer is 5.") is None
    assert same_answer("Berlin.", "Munich.") is None
    assert same_answer("Paris is the capital of France.", "Lyon is the capital of France.") is None


def test_similarity_bounds_agree_with_the_full_ratio_around_the_threshold() -> None:
    a = normalise("abcdefghij" * 10)
    for b in (a, a[:-1], a[:-3] + "xyz", a[:50], "z" * 100):
        full = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
        got = similarity(a, b)
        assert got >= full - 1e-12  # never below the ratio: a bound only ever rules out
        assert (got >= NEAR) == (full >= NEAR)


def test_threshold_measured_on_the_calibration_pairs() -> None:
    """The figures quoted in pairs_check's docstring: real differences (near misses: another
    number, object or constraint) stay under the threshold; re-typed requests mostly do not."""
    rows = [
        json.loads(line)
        for line in (calibration_dir() / "pairs.jsonl").read_text("utf-8").split("\n")
        if line
    ]
    scores: dict[str, list[float]] = defaultdict(list)
    equal: dict[str, int] = defaultdict(int)
    for r in rows:
        a, b = normalise(r["a"]), normalise(r["b"])
        scores[r["kind"]].append(difflib.SequenceMatcher(None, a, b, autojunk=False).ratio())
        equal[r["kind"]] += a == b
    assert len(rows) == 313
    for kind in ("near_miss", "related", "paraphrase", "unrelated"):
        assert max(scores[kind]) < NEAR, kind
        assert equal[kind] == 0
    assert round(max(scores["near_miss"]), 3) == 0.959
    assert round(max(scores["related"]), 3) == 0.923
    assert equal["rewording"] == 17 and sum(s >= NEAR for s in scores["rewording"]) == 18
