"""Fixtures for the generate stage: the fault-injecting OpenAI-compatible server on loopback
and small input files written per test."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


@pytest.fixture
def prompts(tmp_path: Path) -> Callable[..., Path]:
    """``prompts(n)`` -> a prompts JSONL of n rows in several languages."""

    def make(n: int, name: str = "prompts.jsonl") -> Path:
        # English prompts, as the fake server answers in English whatever the label (a row labelled
        # another language would fail the answer-language check, --gate).
        langs = ["en"] * 5
        rows = [
            {"id": f"p{i:05d}", "prompt": f"prompt {i}: tell me something", "language": langs[i % 5]}
            for i in range(n)
        ]
        return write_jsonl(tmp_path / name, rows)

    return make
