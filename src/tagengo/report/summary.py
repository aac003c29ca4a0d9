"""What a stage prints when it finishes: the funnel and where the files are."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from tagengo.report.funnel import funnel_rows
from tagengo.run.runner import StageResult


def print_stage_summary(result: StageResult, console: Console | None = None) -> None:
    console = console or Console(stderr=True)
    m = result.manifest
    if result.up_to_date:
        return
    table = Table(title=f"{m['stage']} funnel", show_lines=False)
    table.add_column("step")
    table.add_column("removed", justify="right")
    table.add_column("remaining", justify="right")
    for r in funnel_rows(m):
        table.add_row(r["step"], "" if r["removed"] is None else f"{r['removed']:,}", f"{r['remaining']:,}")
    console.print(table)
    c = m["counts"]
    langs = sum(1 for v in m["languages"].values() if v["kept"])
    console.print(
        f"kept [bold]{c['kept']:,}[/] rows in {langs} languages; rejected {c['rejected']:,}; "
        f"quarantined {c['quarantined']:,} unreadable lines; {m['duration_s']:.1f} s"
    )
    # The digests read the folder's Parquet parts; a damaged part is for `inspect` (or the next
    # stage) to name, not a reason for the summary to fail.
    import pyarrow as pa

    try:
        if c["quarantined"]:
            for line in quarantine_digest(result.out, m):
                console.print(line, markup=False)
        if c["kept"] == 0 and c["rejected"]:
            console.print("nothing was kept; why the rows were rejected:", markup=False)
            for line in rejection_digest(result.out):
                console.print(line, markup=False)
        for line in duplicate_id_warning(result.out):
            console.print(f"[yellow]{line}[/]")
    except (OSError, pa.ArrowException):
        pass
    console.print(
        f"→ {result.out}/ (data/, rejected/, funnel.md, languages.md, languages.png, manifest.json)"
    )


def quarantine_digest(out: Path, manifest: dict, top: int = 3) -> list[str]:
    """The most common quarantine reasons, and a hint when the rows look like another format.

    A wrong ``--format`` quarantines every row for a missing field; the first unreadable row's
    keys usually say which format was meant (:func:`tagengo.io.formats.sniff_format`).
    """
    import glob
    from collections import Counter

    import orjson
    import pyarrow.parquet as pq

    from tagengo.io.formats import sniff_format

    files = sorted(glob.glob(str(out / "quarantine" / "*.parquet")))
    if not files:
        return []
    reasons: Counter[str] = Counter()
    first_raw = None
    for f in files:
        table = pq.read_table(f, columns=["reason", "raw"])
        reasons.update(table.column("reason").to_pylist())
        if first_raw is None:
            first_raw = next((r for r in table.column("raw").to_pylist() if r), None)
    lines = [f"  {n:,} × {reason}" for reason, n in reasons.most_common(top)]
    if len(reasons) > top:
        lines.append(f"  … {len(reasons) - top} other reasons: see {out / 'quarantine'}/")
    given = (manifest.get("input") or {}).get("format")
    if first_raw is not None and given:
        try:
            obj = orjson.loads(first_raw)
        except orjson.JSONDecodeError:
            obj = None
        looks = sniff_format(obj) if isinstance(obj, dict) else None
        if looks and looks != given and manifest["counts"]["kept"] + manifest["counts"]["rejected"] == 0:
            lines.append(
                f"hint: every row was unreadable as --format {given}; the rows look like "
                f"'{looks}' (leave --format out to detect it, or pass --format {looks})."
            )
    return lines


def rejection_digest(out: Path, top: int = 3) -> list[str]:
    """The most common (step, reason) pairs in ``rejected/``: what a run that kept nothing says."""
    import glob
    from collections import Counter

    import pyarrow.parquet as pq

    counts: Counter[tuple[str, str]] = Counter()
    for f in sorted(glob.glob(str(out / "rejected" / "*.parquet"))):
        table = pq.read_table(f, columns=["step", "reason"])
        counts.update(zip(table.column("step").to_pylist(), table.column("reason").to_pylist(), strict=True))
    lines = [f"  {n:,} × {step}: {reason}" for (step, reason), n in counts.most_common(top)]
    if len(counts) > top:
        lines.append(f"  … {len(counts) - top} other reasons: see {out / 'rejected'}/")
    return lines


def duplicate_id_warning(out: Path) -> list[str]:
    """A warning when kept rows share an ``id``: later steps key rows by id (dedup's reasons,
    prefer's sample, parallel groups, the report), so such rows would be confused."""
    import glob
    from collections import Counter

    import pyarrow.parquet as pq

    ids: Counter[str] = Counter()
    for f in sorted(glob.glob(str(out / "data" / "*.parquet"))):
        ids.update(pq.read_table(f, columns=["id"]).column("id").to_pylist())
    repeated = [(i, n) for i, n in ids.items() if n > 1]
    if not repeated:
        return []
    examples = ", ".join(f"{i!r} ×{n}" for i, n in repeated[:3])
    return [
        f"warning: {len(repeated):,} ids are shared by more than one kept row ({examples}); later "
        "stages key rows by id, so give each row its own id in the input."
    ]
