"""Checks shared by the stage tests: a dataset folder is complete, also when nothing survived."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from tagengo.records import QUARANTINE_SCHEMA, RECORD_SCHEMA, REJECTED_SCHEMA


def assert_complete_folder(out: Path, *, kept: int, rejected: int, quarantined: int) -> dict:
    """Manifest, funnel, and data/rejected/quarantine parts with their schemas, counts as given
    and reconciled. Returns the manifest."""
    manifest = json.loads((out / "manifest.json").read_text())
    c = manifest["counts"]
    assert (c["kept"], c["rejected"], c["quarantined"]) == (kept, rejected, quarantined), c
    assert c["kept"] + c["rejected"] == c["read"]
    if manifest["stage"] == "translate":  # each input line becomes a row per target language
        assert c["read"] + c["quarantined"] >= c["lines"]
    else:
        assert c["read"] + c["quarantined"] == c["lines"]
    assert (out / "funnel.md").is_file() and (out / "funnel.json").is_file()
    for sub, schema, n in (
        ("data", RECORD_SCHEMA, kept),
        ("rejected", REJECTED_SCHEMA, rejected),
        ("quarantine", QUARANTINE_SCHEMA, quarantined),
    ):
        parts = sorted((out / sub).glob("part-*.parquet"))
        assert parts, f"{sub}/ has no part file"
        assert all(pq.read_schema(p).equals(schema) for p in parts), sub
        assert sum(pq.read_metadata(p).num_rows for p in parts) == n, sub
    if manifest["steps"]:
        assert manifest["steps"][-1]["out"] == kept
    return manifest
