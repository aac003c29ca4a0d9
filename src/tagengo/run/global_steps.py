"""The runner's global phase: steps that need every surviving row at once (a per-language cap,
near-duplicate removal, a mixture's item set).

Two ways through it. When every global step decides from a few named columns
(``GlobalStep.select_columns``), only those columns of the survivors are read into memory, the
steps decide on that narrow table, and the survivors then stream from their chunk files to the
writers, one chunk at a time: memory grows with the ids, not with the conversations (at a million
rows, tens of MiB instead of about a GiB). Otherwise every survivor is loaded into one table (and
into records where a step has no Arrow fast path).

Both ways write the same rows, in the same order, with the same figures: kept rows in input
order, rejected rows step by step, each step's in input order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tagengo.records import (
    NO_LANGUAGE,
    RECORD_SCHEMA,
    REJECTED_SCHEMA,
    Record,
    records_to_table,
    rejections_to_table,
    table_to_records,
)
from tagengo.run.dataset import PartWriter
from tagengo.run.executors import apply_steps
from tagengo.run.executors import step_stats as step_stats_of
from tagengo.run.steps import Step

#: The survivors' chunk tables in input order; called again for each pass over them.
Chunks = Callable[[list[str] | None], Iterator[pa.Table]]

_ROW = "__row"


def selected_columns(steps: list[Step]) -> list[str] | None:
    """The columns all of ``steps`` decide from, or None when one of them needs whole rows."""
    columns: set[str] = {"language"}  # the figures count rows per language
    for step in steps:
        named = getattr(step, "select_columns", None)
        if not named:
            return None
        columns.update(named)
    return sorted(columns)


def _decide(step: Step, table: pa.Table, step_stats: list[dict[str, Any]]) -> list[str | None] | None:
    """``step``'s reasons for ``table``'s rows (None: no Arrow fast path), its figures appended."""
    reasons = step.select(table)  # type: ignore[attr-defined]
    if reasons is None:
        return None
    languages = [lang or NO_LANGUAGE for lang in table.column("language").to_pylist()]
    removed = Counter(lang for lang, r in zip(languages, reasons, strict=True) if r is not None)
    n_out = table.num_rows - sum(removed.values())
    step_stats.append(
        step_stats_of(step.name, table.num_rows, n_out, Counter(languages), removed, step.summary())
    )
    return reasons


def _keep_mask(reasons: list[str | None]) -> pa.Array:
    # Typed: built from an empty list (every row gone before this step) pa.array would have type
    # null, which filter and invert do not accept.
    return pa.array([r is None for r in reasons], type=pa.bool_())


def _rejected(table: pa.Table, stage: str, step: str, reasons: list[str]) -> pa.Table:
    n = table.num_rows
    return (
        table.append_column("stage", pa.array([stage] * n))
        .append_column("step", pa.array([step] * n))
        .append_column("reason", pa.array(reasons, type=pa.string()))
        .cast(REJECTED_SCHEMA)
    )


def run_global_steps(
    stage: str, steps: list[Step], table: pa.Table, step_stats: list[dict[str, Any]], rejected_out: PartWriter
) -> pa.Table:
    """Run global steps over all survivors (one table), in input order. Steps with a ``select``
    fast path work on the Arrow table; records are built only once a step needs them."""
    records: list[Record] | None = None
    for step in steps:
        step.setup()
        reasons = _decide(step, table, step_stats) if records is None else None
        if reasons is None:
            if records is None:
                records = table_to_records(table)
            records, rejected, stats = apply_steps([step], records)
            step_stats.extend(stats)
            if rejected:
                rejected_out.write(rejections_to_table(rejected, stage))
            continue
        keep = _keep_mask(reasons)
        dropped = table.filter(pc.invert(keep))
        if dropped.num_rows:
            rejected_out.write(_rejected(dropped, stage, step.name, [r for r in reasons if r is not None]))
        table = table.filter(keep)
    return table if records is None else records_to_table(records)


def stream_selected(
    stage: str,
    steps: list[Step],
    columns: list[str],
    chunks: Chunks,
    step_stats: list[dict[str, Any]],
    data_out: PartWriter,
    rejected_out: PartWriter,
    announce: Callable[[int], None] = lambda n: None,
) -> None:
    """Decide on the survivors' ``columns`` alone, then stream whole rows to the writers;
    ``announce`` is told how many survivors there are once their columns are read."""
    narrow: list[pa.Table] = []
    offset = 0
    for t in chunks(columns):
        narrow.append(t.append_column(_ROW, pa.array(range(offset, offset + t.num_rows), type=pa.int64())))
        offset += t.num_rows
    announce(offset)
    if narrow:
        table = pa.concat_tables(narrow)
    else:  # no survivors: the steps still run (and report zeros) on an empty table of their columns
        fields = [RECORD_SCHEMA.field(c) for c in columns] + [pa.field(_ROW, pa.int64())]
        table = pa.schema(fields).empty_table()
    verdict: list[tuple[int, str] | None] = [None] * offset  # (step index, reason) of a dropped row
    for k, step in enumerate(steps):
        step.setup()
        reasons = _decide(step, table, step_stats)
        assert reasons is not None, f"{step.name} names select_columns but select gave no reasons"
        rows = table.column(_ROW).to_pylist()
        for row, reason in zip(rows, reasons, strict=True):
            if reason is not None:
                verdict[row] = (k, reason)
        table = table.filter(_keep_mask(reasons))
    del table, narrow
    _write_streamed(stage, steps, verdict, chunks, data_out, rejected_out)


def _write_streamed(
    stage: str,
    steps: list[Step],
    verdict: list[tuple[int, str] | None],
    chunks: Chunks,
    data_out: PartWriter,
    rejected_out: PartWriter,
) -> None:
    """Kept rows in one pass; then each step's rejected rows in a pass of their own, so that
    rejected/ holds them step by step as the one-table way writes them."""
    dropped_by = Counter(v[0] for v in verdict if v is not None)
    for k in [-1] + [k for k in range(len(steps)) if dropped_by[k]]:
        offset = 0
        for t in chunks(None):
            mine = verdict[offset : offset + t.num_rows]
            offset += t.num_rows
            if k < 0:
                data_out.write(t.filter(pa.array([v is None for v in mine], type=pa.bool_())))
                continue
            picked = pa.array([v is not None and v[0] == k for v in mine], type=pa.bool_())
            reasons = [v[1] for v in mine if v is not None and v[0] == k]
            if reasons:
                rejected_out.write(_rejected(t.filter(picked), stage, steps[k].name, reasons))
