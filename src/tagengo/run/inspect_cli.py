"""`tagengo inspect DIR`: what a dataset folder holds, without opening Parquet by hand."""

from __future__ import annotations

from pathlib import Path

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
    folder, the run (steps, tokens/s, warm-up, device), its data counts and its last logs."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from tagengo.report.reasons import top_reasons
    from tagengo.report.summary import print_stage_summary
    from tagengo.report.train_section import is_train_manifest, print_train_summary
    from tagengo.run.dataset import iter_records, read_manifest, read_table
    from tagengo.run.runner import StageResult

    if not Path(folder).exists():
        raise InputError(f"{folder}: no such folder. Give the --out folder of a tagengo stage.")
    if not Path(folder).is_dir():
        raise InputError(f"{folder}: is a file, not a folder. Give the --out folder of a tagengo stage.")
    manifest = read_manifest(folder)
    if manifest is None:
        raise InputError(f"{folder}: not a complete tagengo dataset folder (no manifest.json).")
    console = Console()
    if is_train_manifest(manifest):  # a run, not a dataset: no funnel, rows or rejections
        print_train_summary(Path(folder), manifest, console, n_logs=n_rows)
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
        text = rec.first_user().replace("\n", " ")
        console.print(f"[bold]{rec.language}[/] {rec.id[:16]}  {text[:110]}")
        shown += 1
