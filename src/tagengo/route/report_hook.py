"""route's section in ``tagengo report``: language -> teacher with each teacher's win rate,
interval and cost (``routing.json``), the comparisons by outcome (``manifest.json``) and the
warnings of the run. A route folder is no dataset folder (no funnel, no rows)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tagengo.run.blocks import Note, NotShown, Section, Table
from tagengo.run.routing_table import TABLE_FILE
from tagengo.run.stage_blocks import anchor


def _cell(s: dict[str, Any]) -> str:
    if s.get("win_rate") is None:
        return "-"
    ci = f" [{s['ci'][0]:.2f}, {s['ci'][1]:.2f}]" if s.get("ci") else ""
    return f"{s['win_rate']:.2f}{ci}"


def report_blocks(folder: Path, m: dict[str, Any]) -> list[Section]:
    try:
        table = json.loads((folder / TABLE_FILE).read_text(encoding="utf-8"))
        names = list(table["teachers"])
        rows = [
            [lang, e["prompts"], e["teacher"], e["undecided"], *(_cell(e["teachers"][n]) for n in names)]
            for lang, e in table["languages"].items()
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise NotShown(f"{folder / TABLE_FILE} is not a routing table this report reads ({exc!r})") from None
    rows += [
        [lang, "", f"{table['default']} (default)", "", *("" for _ in names)]
        for lang in table.get("unrouted") or {}
    ]
    blocks: list[Any] = [
        Table(
            "routing table",
            ["language", "prompts", "teacher", "undecided", *(f"{n} win rate" for n in names)],
            rows,
            f"{TABLE_FILE} (languages; win rate [interval])",
        ),
        Table(
            "comparisons",
            ["outcome", "count"],
            [[k, v] for k, v in (m.get("counts") or {}).items()],
            "manifest.json (counts)",
        ),
    ]
    blocks += [
        Note(f"warning: {w}", "manifest.json (warnings)", kind="warning") for w in m.get("warnings") or []
    ]
    langs = len(table["languages"])
    return [
        Section(
            anchor(folder, "route"),
            f"route · {folder.name}",
            str(folder),
            "route",
            blocks,
            summary=f"{langs} language{'s' if langs != 1 else ''} routed; default teacher {table['default']}",
        )
    ]


__all__ = ["report_blocks"]
