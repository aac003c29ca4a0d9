"""Grouping rejection reasons: real reasons of the dedup step, ids kept whole."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tagengo.dedup.config import DedupConfig, MinHashConfig
from tagengo.dedup.step import NearDuplicateFilter
from tagengo.records import Record
from tagengo.run.reasons import reason_pattern, top_reasons

PROMPTS = Path(__file__).parents[1] / "dedup" / "fixtures" / "prompts.jsonl"


def hex_id(old: str) -> str:
    """An id like the ones hashed sources carry: letters and digits mixed ("7c86e98c…")."""
    return hashlib.sha1(old.encode()).hexdigest()[:16]


def fixture_rows() -> list[Record]:
    rows = []
    for line in PROMPTS.read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        rows.append(
            Record(id=hex_id(d["id"]), source="t", language=d.get("language"), messages=d["messages"])
        )
    return rows


def test_numbers_fold_but_ids_and_names_stay_whole():
    ids = {"7c868e98c9352a25", "p01"}
    assert (
        reason_pattern("near-duplicate of 7c868e98c9352a25 (cosine 0.9512 > 0.935)", ids)
        == "near-duplicate of <id> (cosine # > #)"
    )
    assert reason_pattern("exact duplicate of p01 (same first user turn)", ids) == (
        "exact duplicate of <id> (same first user turn)"
    )
    assert reason_pattern("per-language cap: ja has 1,234 rows; a seeded sample of 500 was kept") == (
        "per-language cap: ja has # rows; a seeded sample of # was kept"
    )
    # digits inside a word are not numbers: an id this folder does not hold, a model, a version
    assert reason_pattern("failed: gpt-4o at v1.2.3 said HTTP 503 for 9f3ab2c1") == (
        "failed: gpt-4o at v1.2.3 said HTTP # for 9f3ab2c1"
    )


def test_real_dedup_reasons_group_by_kind_with_hex_ids():
    rows = fixture_rows()
    step = NearDuplicateFilter(
        # Pure MinHash: with the request check p12 (p11 with another number) stays.
        DedupConfig(
            method="minhash", minhash=MinHashConfig(threshold=0.7, ngram=3), cache=False, content_check=False
        ),
        progress=False,
    )
    kept, rejected = step.process(rows)
    reasons = [r.reason for r in rejected]
    # The real reasons name the ids of other rows, mixed letters and digits.
    assert any(hex_id("p01") in r for r in reasons) and any(hex_id("p11") in r for r in reasons)
    ids = {r.id for r in rows}
    top = top_reasons([r.step for r in rejected], reasons, ids)
    assert top == {
        "dedup": [
            ("exact duplicate of <id> (same first user turn)", 3),
            ("lexical near-duplicate of <id> (MinHash Jaccard # > #)", 1),
        ]
    }
    # Without the ids, a reason names no row but still keeps the id whole (never "#c#e#…").
    for pattern, _ in top_reasons(["dedup"] * len(reasons), reasons)["dedup"]:
        assert "#c#" not in pattern and "of <id>" not in pattern
    assert len(kept) + len(rejected) == len(rows)


def test_top_n_and_long_reasons():
    steps = ["a", "a", "a", "b"]
    reasons = ["too long: 900 tokens", "too long: 700 tokens", "empty", "x" * 300]
    assert top_reasons(steps, reasons, n=1) == {"a": [("too long: # tokens", 2)], "b": [("x" * 100, 1)]}
