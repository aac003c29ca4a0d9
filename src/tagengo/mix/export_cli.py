"""`tagengo export`: parse options, build the config, call tagengo.mix.export.export."""

from __future__ import annotations

from typing import Any

import click

from tagengo.mix.config import ExportConfig
from tagengo.run.options import build_config, config_options


@click.command(context_settings={"max_content_width": 110})
@click.option(
    "--input",
    "input_path",
    type=click.Path(),
    required=True,
    help="A tagengo dataset folder (the output of generate or mix; of prefer: its preference pairs).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(),
    required=True,
    help="Folder for the training files, README.md (dataset card), axolotl.yaml and trl_sft.py "
    "(pairs: axolotl_dpo.yaml, axolotl_orpo.yaml, trl_preference.py).",
)
@click.option("--config", "config_file", type=click.Path(), default=None, help="YAML file of options.")
@click.option(
    "--force",
    is_flag=True,
    help="Replace another stage's folder at --out (an export always writes its files again).",
)
@click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: on a terminal).")
@config_options(ExportConfig)
def command(
    input_path: str, out: str, config_file: str | None, force: bool, progress: bool | None, **kwargs: Any
) -> None:
    """Write the training files Axolotl and TRL read directly, with a dataset card.

    Only conversations every chat template accepts are written: one optional leading system
    turn, then user/assistant alternating, ending with an assistant answer, no empty turn
    (alpaca: one user turn and one answer). The others are counted, listed with the reason in
    OUT/skipped.jsonl and reported; --repair merge-consecutive joins same-role runs first.

    The output of `tagengo prefer` exports as preference pairs instead: train.jsonl in TRL's
    conversational format (prompt, chosen, rejected), train_argilla.jsonl for Axolotl's ORPO
    loader, and Axolotl configs for DPO and ORPO. See docs/export.md.
    """
    from rich.console import Console
    from rich.table import Table

    from tagengo.mix.export import export
    from tagengo.run.wording import plural, rows_in_languages

    cfg = build_config(ExportConfig, kwargs, config_file=config_file)
    result = export(input_path, out, cfg, progress=progress, force=force)
    m = result.manifest
    c = m["counts"]
    console = Console(stderr=True)
    table = Table(title=f"export ({cfg.output_format})")
    for col in ("file", "split", "rows", "bytes"):
        table.add_column(col, justify="right" if col in ("rows", "bytes") else "left")
    for name, f in m["files"].items():
        table.add_row(name, f["split"], f"{f['rows']:,}", f"{f['bytes']:,}")
    console.print(table)
    written = {lang: v["train"] + v["validation"] for lang, v in m["languages"].items()}
    pairs = m.get("kind") == "preference"
    read = (
        f"{plural(c['input'], 'prompt')}, {plural(c['pairs'], 'pair')}"
        if pairs
        else plural(c["input"], "row")
    )
    console.print(
        f"read {read}: wrote {rows_in_languages(written, 'pair' if pairs else 'row')} "
        f"(train {c['train']:,}, validation {c['validation']:,}); skipped {c['skipped']:,}"
    )
    if c.get("repaired"):
        console.print(f"  repaired {c['repaired']:,} rows ({cfg.repair})")
    for reason, n in m["skipped_by_reason"].items():
        console.print(f"  [yellow]skipped[/] {n:,}: {reason}")
    for w in m.get("warnings") or []:
        console.print(f"warning: {w}", style="yellow", markup=False, highlight=False)
    files = [*m["files"], "README.md", *m["snippets"], "skipped.jsonl", "export.json"]
    console.print(f"→ {result.out}/ ({', '.join(files)})")
