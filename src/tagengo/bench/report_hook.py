"""bench's sections for ``tagengo report``. A bench folder has no manifest: the page shows a
folder in FastChat's layout (``question.jsonl``, ``model_answer/``, ``model_judgment/``: models ×
languages, intervals, heatmap, radar charts, judge parse failures, position consistency), and
the output folder of ``bench show`` through the bench folders its ``provenance.json`` names
(the tables are recomputed from them, as ``bench show`` computed them)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tagengo.bench.report_section import bench_roots, bench_sections
from tagengo.io.bench_layout import QUESTION_FILE
from tagengo.run.blocks import NotShown, Section


def folder_sections(folder: Path) -> list[Section] | None:
    """The sections of a bench folder or of ``bench show``'s output; None when it is neither."""
    if bench_roots(folder):
        return bench_sections(folder)
    prov = folder / "provenance.json"
    if not prov.exists():
        return None
    try:
        body = json.loads(prov.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise NotShown(f"{prov} cannot be read as JSON ({exc})") from None
    if not isinstance(body, dict) or body.get("command") != "bench show":
        return None
    paths = [Path(b["path"]) for b in body.get("benches") or [] if isinstance(b, dict) and "path" in b]
    gone = [str(p) for p in paths if not (p / QUESTION_FILE).exists()]
    if not paths:
        raise NotShown(f"{prov} (bench show's output) names no bench folder to build the tables from")
    if gone:
        raise NotShown(
            f"{folder} is the output of bench show, whose tables the page rebuilds from the bench "
            f"folders it names; {', '.join(gone)} {'is' if len(gone) == 1 else 'are'} not here "
            "(give the bench folder instead)"
        )
    common = Path(os.path.commonpath([p.resolve() for p in paths]))
    if sorted(bench_roots(common)) == sorted(p.resolve() for p in paths):
        return bench_sections(common)
    return [s for p in paths for s in bench_sections(p)]
