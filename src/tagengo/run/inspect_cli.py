"""`tagengo inspect DIR`: what a dataset folder holds, without opening Parquet by hand."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import click

from tagengo.errors import InputError


@click.command(context_settings={"max_content_width": 110})
@click.argument("folder", type=click.Path())
@click.option(
    "--rows",
    "n_rows",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Sample rows of data/ to show (a train folder: its last logs).",
)
@click.option(
    "--reasons",
    "n_reasons",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Top rejection reasons per step.",
)
@click.option("--language", default=None, help="Show only rows of this language code.")
def command(folder: str, n_rows: int, n_reasons: int, language: str | None) -> None:
    """Show a dataset folder's funnel, rejection reasons and sample rows; for a `tagengo train`
    folder, its counts (steps, data), runtime, schedule, throughput and last logs."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from tagengo.invisible import show_invisible
    from tagengo.run.dataset import iter_records, read_manifest, read_table
    from tagengo.run.reasons import top_reasons
    from tagengo.run.runner import StageResult
    from tagengo.run.summary import print_stage_summary

    if not Path(folder).exists():
        raise InputError(f"{folder}: no such folder. Give the --out folder of a tagengo stage.")
    if not Path(folder).is_dir():
        raise InputError(f"{folder}: is a file, not a folder. Give the --out folder of a tagengo stage.")
    manifest = read_manifest(folder)
    if manifest is None:
        raise InputError(f"{folder}: not a complete tagengo dataset folder (no manifest.json).")
    console = Console()
    if not isinstance(manifest.get("steps"), list) and isinstance(manifest.get("counts"), dict):
        # A run, not a dataset (`tagengo train`): no funnel, rows or rejections to show.
        print_run_folder(Path(folder), manifest, console, n_logs=n_rows)
        return
    if not isinstance(manifest.get("steps"), list) or not isinstance(manifest.get("counts"), dict):
        raise InputError(
            f"{folder}: its manifest.json (stage {manifest.get('stage', '?')!r}) is not a dataset folder's "
            "(no funnel); give the --out folder of a dataset stage, or show it with `tagengo report`."
        )
    print_stage_summary(StageResult(out=Path(folder), manifest=manifest), console)

    rejected = read_table(folder, "rejected", ["id", "step", "reason"])
    if rejected.num_rows and n_reasons:
        table = Table(title="top rejection reasons")
        table.add_column("step")
        table.add_column("rows", justify="right")
        table.add_column("reason")
        # Reasons name row-specific things (token counts, scores, the id of the row a duplicate
        # duplicates): group them by pattern, with the ids of this folder's rows as <id>.
        ids = set(read_table(folder, "data", ["id"]).column("id").to_pylist()) | set(
            rejected.column("id").to_pylist()
        )
        steps, reasons = rejected.column("step").to_pylist(), rejected.column("reason").to_pylist()
        for step, top in top_reasons(steps, reasons, ids, n_reasons).items():
            for reason, n in top:
                table.add_row(step, f"{n:,}", Text(reason))  # Text: a reason's brackets are not markup
        console.print(table)

    shown = 0
    for rec in iter_records(folder):
        if language and rec.language != language:
            continue
        if shown >= n_rows:
            break
        # Text, not markup: a prompt's brackets ("[/INST]") are not rich markup. show_invisible:
        # a bidirectional control would reorder the line, a zero-width one hide what is there.
        line = Text.assemble(
            (rec.language, "bold"),
            f" {show_invisible(rec.id[:16])}  {show_invisible(rec.first_user())[:110]}",
        )
        console.print(line)
        shown += 1


#: The manifest parts of a run folder shown as tables, in order, when present.
RUN_PARTS = ("counts", "runtime", "schedule", "throughput", "final")


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_value(x)}" for k, x in v.items()) or "-"
    return str(v)


def print_run_folder(folder: Path, m: dict[str, Any], console: Any, n_logs: int = 5) -> None:
    """A folder whose manifest has counts but no funnel (a `tagengo train` run): each part of the
    manifest as a table, its warnings, and the last ``n_logs`` lines of ``metrics.jsonl``. Reads
    the manifest generically, so it knows no stage's keys (the HTML report has the train section)."""
    from rich.table import Table
    from rich.text import Text

    counts = m["counts"]
    head = f"{m.get('stage', '?')} folder {folder}"
    if m.get("method") or (m.get("config") or {}).get("method"):
        head += f" (method {m.get('method') or m['config']['method']})"
    if isinstance(counts.get("steps"), int):
        head += f": {_value(counts['steps'])} optimizer step{'s' if counts['steps'] != 1 else ''}"
    console.print(Text(head))
    for w in m.get("warnings") or []:
        console.print(Text(f"warning: {w}"), style="yellow")
    for part in RUN_PARTS:
        values = m.get(part)
        if not isinstance(values, dict) or not values:
            continue
        table = Table(title=f"{part} (manifest.json)")
        table.add_column("key")
        table.add_column("value", justify="right")
        for k, v in values.items():
            table.add_row(Text(str(k)), Text(_value(v)))
        console.print(table)
    logs: list[dict[str, Any]] = []
    metrics = folder / "metrics.jsonl"
    if metrics.exists():
        for line in metrics.read_text(encoding="utf-8", errors="replace").split("\n"):
            with contextlib.suppress(ValueError):
                if line.strip() and isinstance(obj := json.loads(line), dict):
                    logs.append(obj)
    if logs and n_logs:
        keys = list(dict.fromkeys(k for h in logs[-n_logs:] for k in h))
        table = Table(title=f"last {min(n_logs, len(logs))} of {len(logs)} logs (metrics.jsonl)")
        for k in keys:
            table.add_column(k, justify="right")
        for h in logs[-n_logs:]:
            table.add_row(*(Text(_value(h[k]) if k in h else "") for k in keys))
        console.print(table)
    if (folder / "model").is_dir():
        console.print(
            Text(f"model: {folder / 'model'} (tagengo bench answer BENCH --local-model {folder / 'model'})")
        )
