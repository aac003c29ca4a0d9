"""What a stage prints when it finishes: the funnel and where the files are."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tagengo.errors import InputError
from tagengo.run.dataset import iter_tables, read_table
from tagengo.run.funnel import funnel_rows, input_unit
from tagengo.run.runner import StageResult
from tagengo.run.wording import plural, rows_in_languages


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
    kept = rows_in_languages({lang: v["kept"] for lang, v in m["languages"].items()})
    warnings = m.get("warnings") or []
    # A damaged file is one quarantine entry (and a warning): not an "unreadable line".
    quarantined = plural(c["quarantined"], f"unreadable {input_unit(m)[0]}")  # Parquet: rows
    if warnings and c["quarantined"]:
        quarantined = f"{plural(c['quarantined'], 'entry', 'entries')} (unreadable lines and damaged files)"
    console.print(
        f"kept [bold]{kept}[/]; rejected {c['rejected']:,}; quarantined {quarantined}; {m['duration_s']:.1f} s"
    )
    for warning in warnings:  # the input's missing shards and damaged files
        console.print(f"warning: {warning}", style="yellow", markup=False, highlight=False)
    if not c.get("read") and not c["quarantined"]:
        # An empty file or a folder of empty parts is no error (a stage before kept nothing),
        # but a run that read nothing is rarely what was meant: say so where it is seen.
        where = (m.get("input") or {}).get("path") or "the input"
        console.print(
            f"warning: {where} held no rows, so there was nothing to do; check the path "
            "(and that the stage before kept something).",
            style="yellow",
            markup=False,
            highlight=False,
        )
    # The digests read the folder's Parquet parts; a damaged part is for `inspect` (or the next
    # stage) to name, not a reason for the summary to fail.
    try:
        if c["quarantined"]:
            for line in quarantine_digest(result.out, m, said=warnings):
                console.print(line, markup=False)
        if c["kept"] == 0 and c["rejected"]:
            # Not a failure (the exit status stays 0): the input was read, the steps said no.
            console.print(
                "nothing was kept: the steps rejected every row they read (the run itself worked); why:",
                markup=False,
            )
            for line in rejection_digest(result.out):
                console.print(line, markup=False)
        for line in duplicate_id_warning(result.out):
            console.print(f"[yellow]{line}[/]")
    except InputError:  # read_parquet's one-sentence error for a part it cannot read
        pass
    console.print(
        f"→ {result.out}/ (data/, rejected/, funnel.md, languages.md, languages.png, manifest.json)"
    )


class NothingReadable(InputError):
    """Every input line was unreadable (read 0, quarantined 1 or more): the folder is written
    (its quarantine says why, line by line) but the run did nothing, so its exit status must not
    say it worked. Exit status 2, as every tagengo error (a wrong --format is the usual cause)."""


def stop_when_nothing_was_readable(result: StageResult) -> None:
    """Raise :class:`NothingReadable` for a run that could read none of its input lines. The one
    check every stage's command makes after its summary (tagengo.run.cli_common.run_stage,
    tagengo.run.llm_stage); a run whose steps rejected every row it read is no error."""
    c = result.manifest.get("counts") or {}
    if c.get("quarantined") and not c.get("read") and not c.get("kept") and not c.get("rejected"):
        where = (result.manifest.get("input") or {}).get("path") or "the input"
        raise NothingReadable(
            f"{where}: none of its {input_unit(result.manifest)[1]} could be read ({plural(c['quarantined'], 'quarantine entry', 'quarantine entries')}, "
            f"each with its reason in {result.out}/quarantine/); nothing was done. See the reasons and the "
            "hint above, then run again."
        )


def _top_lines(counts: Counter, top: int, where: Path, label: Callable[[Any], str]) -> list[str]:
    """The ``top`` commonest entries of ``counts`` as indented lines, and how many were left out."""
    lines = [f"  {n:,} × {label(key)}" for key, n in counts.most_common(top)]
    if len(counts) > top:
        lines.append(f"  … {len(counts) - top} other reasons: see {where}/")
    return lines


def quarantine_digest(out: Path, manifest: dict, top: int = 3, said: list[str] = ()) -> list[str]:
    """The most common quarantine reasons, and a hint when the rows look like another format.

    A wrong ``--format`` quarantines every row for a missing field; the first unreadable row's
    keys usually say which format was meant (:func:`tagengo.io.formats.sniff_format`).
    """
    import orjson

    from tagengo.io.formats import sniff_format

    reasons: Counter[str] = Counter()
    first_raw = None
    for table in iter_tables(out, "quarantine", ["reason", "raw"]):
        reasons.update(table.column("reason").to_pylist())
        if first_raw is None:
            first_raw = next((r for r in table.column("raw").to_pylist() if r), None)
    # A damaged file's entry was printed already as a warning ("FILE: reason"): not twice.
    for reason in list(reasons):
        if any(w.endswith(f": {reason}") for w in said):
            del reasons[reason]
    if not reasons:
        return []
    lines = _top_lines(reasons, top, out / "quarantine", str)
    given = (manifest.get("input") or {}).get("format")
    if all("invalid UTF-8" in r for r in reasons):
        # Not a format question: the file is in another charset (a Latin-1 export, a Windows
        # editor), and its rows would read as any format once converted.
        lines.append(
            "hint: the input is not UTF-8 (Latin-1 or a Windows code page?): convert it, e.g. "
            "iconv -f latin1 -t utf-8 IN > OUT, and run again."
        )
        return lines
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
    table = read_table(out, "rejected", ["step", "reason"])
    counts = Counter(zip(table.column("step").to_pylist(), table.column("reason").to_pylist(), strict=True))
    return _top_lines(counts, top, out / "rejected", lambda key: f"{key[0]}: {key[1]}")


def duplicate_id_warning(out: Path) -> list[str]:
    """A warning when kept rows share an ``id``: later steps key rows by id (dedup's reasons,
    prefer's sample, parallel groups, the report), so such rows would be confused."""
    ids = Counter(read_table(out, "data", ["id"]).column("id").to_pylist())
    repeated = [(i, n) for i, n in ids.items() if n > 1]
    if not repeated:
        return []
    examples = ", ".join(f"{i!r} ×{n}" for i, n in repeated[:3])
    return [
        f"warning: {plural(len(repeated), 'id is', 'ids are')} shared by more than one kept row ({examples}); later "
        "stages key rows by id, so give each row its own id in the input."
    ]
