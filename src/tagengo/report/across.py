"""What the page shows across folders: the λ sweep of every reverse folder in one table and one
figure, after the last of them (tagengo.reverse.report_hook draws each folder's own).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from tagengo.reverse.report_hook import LAMBDAS, sweep_figure
from tagengo.run.blocks import Figure, Section, Table
from tagengo.run.stage_blocks import pct


def lambda_across(sections: list[Section]) -> Section | None:
    """One λ sweep over every reverse folder in the report (a reverse run makes one language,
    so languages meet only here); None with fewer than two. Read from each folder's own
    λ sweep table, so the numbers are the ones shown there."""
    found = [(s, s.tables().get("λ sweep")) for s in sections if s.kind == "instructions"]
    found = [(s, t) for s, t in found if t is not None]
    if len(found) < 2:
        return None
    rows: list[list[Any]] = []
    series: list[tuple[str, dict[str, int]]] = []
    chosen: set[int] = set()
    langs = Counter(r[0] for _, t in found for r in t.rows if r[0] != "all")
    for sec, t in found:
        lam = sec.data.get("min_score")
        if lam is not None:
            chosen.add(lam)
        name = Path(sec.folder).name
        for r in t.rows:
            if r[0] == "all":
                continue
            d = {"judged": r[3], **{str(x): v for x, v in zip(LAMBDAS, r[4:], strict=True)}}
            series.append((r[0] if langs[r[0]] == 1 else f"{r[0]} ({name})", d))
            kept = d.get(str(lam)) if lam is not None else None
            rows.append(
                [name, r[0], r[1], lam, r[2], r[3], *r[4:], pct(kept, r[3]) if kept is not None else None]
            )
    series.sort(key=lambda kv: -kv[1]["judged"])
    src = "; ".join(t.source for _, t in found)
    return Section(
        "lambda-sweep-all",
        "λ sweep · all reverse folders",
        ", ".join(s.folder for s, _ in found),
        "lambda",
        [
            Figure("λ sweep, every language", sweep_figure(series, chosen), src),
            Table(
                "λ sweep, every language",
                ["folder", "language", "name", "chosen λ", "sent to the judge", "judged"]
                + [f"λ={x}" for x in LAMBDAS]
                + ["kept at the chosen λ, % of judged"],
                rows,
                src,
                note="Each reverse folder's λ sweep (its own section has it too), side by side: the right "
                "panel's shares compare languages of different sizes.",
            ),
        ],
        summary=f"{len(rows)} language run(s) in {len(found)} folders; chosen λ "
        + ", ".join(str(x) for x in sorted(chosen)),
    )
