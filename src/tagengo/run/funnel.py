"""The tables and the chart every stage writes next to its data.

* ``funnel.md`` / ``funnel.json``: rows remaining after each step (like Tagengo's Table 1);
* ``languages.md`` / ``languages.csv``: rows per language in and kept (its Table 3), with the
  removal rate of every step that removed anything, so users see what each step costs them;
* ``languages.png``: the kept-row distribution on a log scale (its Fig. 1).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from tagengo.run.dataset import atomic_write_bytes, atomic_write_json, atomic_write_text


def language_name(code: str) -> str:
    try:
        from tagengo.lang.languages import code_to_name

        return code_to_name(code)
    except Exception:  # unknown codes and "(none)" show as they are
        return code


def funnel_rows(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    counts = manifest["counts"]
    rows = [{"step": "read", "removed": None, "remaining": counts["read"]}]
    for s in manifest["steps"]:
        rows.append({"step": s["name"], "removed": s["removed"], "remaining": s["out"]})
    return rows


def input_unit(manifest: dict[str, Any]) -> tuple[str, str]:
    """What one input entry is called, singular and plural: a Parquet file holds rows, not
    lines, so a funnel that said "12 lines" of one sent its reader looking for a text file."""
    files = [str(f) for f in manifest.get("input", {}).get("files") or []]
    parquet = sum(f.endswith(".parquet") for f in files)
    if files and parquet == len(files):
        return "row", "rows"
    if parquet:
        return "record", "records"  # a folder of both JSONL and Parquet files
    return "line", "lines"


def _lines(manifest: dict[str, Any]) -> str:
    """The input's lines (rows for Parquet), and the rows they became where a stage makes
    several of one."""
    counts = manifest["counts"]
    rows = counts["read"] + counts["quarantined"]
    lines = counts.get("lines", rows)
    one, many = input_unit(manifest)
    said = f"{lines:,} {one if lines == 1 else many}"
    return said if lines == rows else f"{said} made into {rows:,} rows by the stage"


def funnel_markdown(manifest: dict[str, Any]) -> str:
    counts = manifest["counts"]
    lines = [
        f"# {manifest['stage']} funnel",
        "",
        f"Input: `{manifest['input']['path']}` ({manifest['input']['format']}), "
        f"{_lines(manifest)}: {counts['read']:,} read, {counts['quarantined']:,} quarantined "
        "(unreadable; see `quarantine/`).",
        "",
        "| step | removed | remaining |",
        "| --- | ---: | ---: |",
    ]
    for r in funnel_rows(manifest):
        removed = "" if r["removed"] is None else f"{r['removed']:,}"
        lines.append(f"| {r['step']} | {removed} | {r['remaining']:,} |")
    lines += [
        "",
        f"Kept {counts['kept']:,}, rejected {counts['rejected']:,} (each with its step and reason in `rejected/`).",
        "",
    ]
    return "\n".join(lines)


def language_table(manifest: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows: language, name, in, kept, then removal % for each step that removed any."""
    steps = [s for s in manifest["steps"] if s["removed"]]
    header = ["language", "name", "in", "kept"] + [f"{s['name']} removed %" for s in steps]
    rows = []
    for lang, c in manifest["languages"].items():
        row: list[Any] = [lang, language_name(lang), c["in"], c["kept"]]
        for s in steps:
            n_in = s["in_by_language"].get(lang, 0)
            n_rm = s["removed_by_language"].get(lang, 0)
            row.append(round(100 * n_rm / n_in, 1) if n_in else None)
        rows.append(row)
    return header, rows


def language_markdown(manifest: dict[str, Any]) -> str:
    header, rows = language_table(manifest)
    out = [
        f"# {manifest['stage']}: rows per language",
        "",
        "`in`: rows entering the first step; `kept`: rows in `data/`; then, per step, the share of that "
        "language's rows reaching the step that it removed.",
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(["---", "---"] + ["---:"] * (len(header) - 2)) + " |",
    ]
    for row in rows:
        cells = [f"{v:,}" if isinstance(v, int) else ("" if v is None else str(v)) for v in row]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def language_chart(manifest: dict[str, Any], path: Path) -> None:
    """``languages.png``: rows kept per language, most first, on a log scale. Nothing is
    written when no row was kept."""
    items = [(lang, c["kept"]) for lang, c in manifest["languages"].items() if c["kept"] > 0]
    items.sort(key=lambda kv: -kv[1])
    if not items:
        return
    from tagengo.run.chart import bar_chart_png
    from tagengo.run.warm import wait_for_warm_up

    # A warm-up chart may still be drawing in the background: matplotlib's text and font
    # caches are not to be shared by two threads drawing at once.
    wait_for_warm_up()
    from tagengo.run.wording import rows_in_languages

    title = f"{manifest['stage']}: {rows_in_languages(dict(items))}"
    atomic_write_bytes(path, bar_chart_png(items, title))


def write_stage_reports(out: Path, manifest: dict[str, Any]) -> None:
    atomic_write_text(out / "funnel.md", funnel_markdown(manifest))
    atomic_write_json(
        out / "funnel.json",
        {"counts": manifest["counts"], "steps": funnel_rows(manifest)},
    )
    header, rows = language_table(manifest)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_text(out / "languages.csv", buf.getvalue())
    atomic_write_text(out / "languages.md", language_markdown(manifest))
    language_chart(manifest, out / "languages.png")
