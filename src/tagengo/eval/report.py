"""The eval folder's blocks for ``tagengo report``: one table per task and metric, a row per
model (the base model first, as the reference row), a column per language; every cell from
``results.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tagengo.eval.stage import RESULTS_JSON


def is_eval_manifest(manifest: dict[str, Any] | None) -> bool:
    return bool(manifest) and manifest.get("stage") == "eval"


def summary(manifest: dict[str, Any]) -> str:
    """One line for the section's head: models, tasks, lm-eval version, limit."""
    models = ", ".join(f"{m['name']}{' (base)' if m['role'] == 'base' else ''}" for m in manifest["models"])
    limit = f", first {manifest['limit']} items per task" if manifest.get("limit") else ""
    return (
        f"{models} on {len(manifest['tasks'])} lm-eval tasks (lm-eval {manifest.get('lm_eval_version')}, "
        f"{manifest.get('num_fewshot', 0)}-shot{limit})"
    )


def report_blocks(folder: str | Path, manifest: dict[str, Any] | None = None) -> list[Any]:
    from tagengo.run.blocks import Note, Table

    folder = Path(folder)
    path = folder / RESULTS_JSON
    try:
        rows = json.loads(path.read_text())["rows"]
    except (OSError, ValueError, KeyError):
        return [Note(f"no readable {path} (the run did not finish)", str(path))]
    roles = {r["model"]: r["role"] for r in rows}
    models = sorted(dict.fromkeys(r["model"] for r in rows), key=lambda m: 0 if roles[m] == "base" else 1)
    base = next((m for m in models if roles[m] == "base"), None)
    blocks: list[Any] = []
    for task, metric in dict.fromkeys((r["task"], r["metric"]) for r in rows):
        sel = [r for r in rows if r["task"] == task and r["metric"] == metric]
        langs = list(dict.fromkeys(r["language"] or "-" for r in sel))
        cell = {(r["model"], r["language"] or "-"): r["value"] for r in sel}
        table_rows = []
        for m in models:
            vals = [cell.get((m, lang)) for lang in langs]
            row = [f"{m} (base)" if m == base else m, *vals]
            if base is not None and m != base:
                diffs = [
                    None if v is None or cell.get((base, lang)) is None else v - cell[(base, lang)]
                    for v, lang in zip(vals, langs)
                ]
                row += diffs
            elif base is not None:
                row += [None] * len(langs)
            table_rows.append(row)
        columns = ["model", *langs] + ([f"Δ {lang}" for lang in langs] if base is not None else [])
        blocks.append(
            Table(
                f"{task} · {metric}", columns, table_rows, f"{path} (rows: task={task!r}, metric={metric!r})"
            )
        )
    if manifest:
        blocks.append(Note(summary(manifest), str(folder / "manifest.json")))
    return blocks
