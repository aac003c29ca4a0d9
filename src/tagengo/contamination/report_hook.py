"""contamination's blocks for ``tagengo report``: the runner's section, and for its matching step
the matches per benchmark and kind (tagengo.contamination.report reads ``report/``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tagengo.contamination.report import report_blocks as match_blocks
from tagengo.run.blocks import Section
from tagengo.run.stage_blocks import anchor, stage_section


def report_blocks(folder: Path, manifest: dict[str, Any]) -> list[Section]:
    return [stage_section(folder, manifest)]


def step_blocks(folder: Path, m: dict[str, Any], step: dict[str, Any]) -> list[Section]:
    s = step.get("summary") or {}
    return [
        Section(
            anchor(folder, "benchmark-matches"),
            f"benchmark contamination · {folder.name}",
            str(folder),
            "benchmark contamination",
            match_blocks(folder),
            summary=f"{s.get('rows_matched', 0):,} of {step['in']:,} rows match a benchmark question",
        )
    ]
