"""eval's section for ``tagengo report``: models × languages × tasks, the base model as the
reference row (the tables are tagengo.eval.report's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tagengo.eval.report import report_blocks as eval_blocks
from tagengo.eval.report import summary
from tagengo.run.blocks import Section
from tagengo.run.stage_blocks import anchor


def report_blocks(folder: Path, manifest: dict[str, Any]) -> list[Section]:
    return [
        Section(
            anchor(folder, "eval"),
            f"eval · {folder.name}",
            str(folder),
            "eval",
            eval_blocks(folder, manifest),
            summary=summary(manifest),
        )
    ]
