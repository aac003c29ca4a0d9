"""The global phase's two ways through: the narrow, streamed one (steps that name their columns)
writes exactly what the one-table way writes: the same kept rows in input order, the same
rejected rows step by step, the same figures."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tagengo.records import RECORD_SCHEMA, REJECTED_SCHEMA, Record, records_to_table
from tagengo.run.dataset import PartWriter
from tagengo.run.global_steps import run_global_steps, selected_columns, stream_selected
from tagengo.run.sampling import CapConfig, PerLanguageCap
from tagengo.run.steps import GlobalStep


class DropOddIds(GlobalStep):
    """A second column-only step, so that two steps' rejections must come out step by step."""

    name = "drop_odd"
    select_columns = ("id",)

    def select(self, table: pa.Table) -> list[str | None]:
        return [None if int(i.split("-")[1]) % 2 == 0 else "odd id" for i in table.column("id").to_pylist()]


def _chunks(n_chunks: int, rows: int) -> list[pa.Table]:
    langs = ["de", "ja", "en", None]
    out, k = [], 0
    for _ in range(n_chunks):
        recs = []
        for _ in range(rows):
            recs.append(
                Record(
                    id=f"r-{k}",
                    source="t",
                    language=langs[k % 3 if k % 7 else 3],
                    messages=[{"role": "user", "content": f"prompt {k} " + "x" * (k % 50)}],
                    meta={"n": k},
                )
            )
            k += 1
        out.append(records_to_table(recs))
    return out


def _read(folder: Path) -> pa.Table:
    return pa.concat_tables(pq.read_table(p) for p in sorted(folder.glob("part-*.parquet")))


def _both_ways(tmp_path: Path, chunks: list[pa.Table], make_steps) -> tuple[tuple, tuple]:
    results = []
    for way in ("table", "stream"):
        data = PartWriter(tmp_path / way / "data", RECORD_SCHEMA, 1000)
        rej = PartWriter(tmp_path / way / "rejected", REJECTED_SCHEMA, 1000)
        stats: list[dict] = []
        steps = make_steps()
        if way == "table":
            whole = pa.concat_tables(chunks) if chunks else RECORD_SCHEMA.empty_table()
            data.write(run_global_steps("curate", steps, whole, stats, rej))
        else:
            columns = selected_columns(steps)
            assert columns is not None

            def read(cols):
                return iter([t.select(cols) if cols else t for t in chunks])

            stream_selected("curate", steps, columns, read, stats, data, rej)
        data.close()
        rej.close()
        results.append((_read(tmp_path / way / "data"), _read(tmp_path / way / "rejected"), stats))
    return results[0], results[1]


def test_streamed_cap_writes_what_the_whole_table_writes(tmp_path: Path) -> None:
    chunks = _chunks(5, 40)

    def steps():
        return [PerLanguageCap(CapConfig(max_per_language=30, seed=7)), DropOddIds()]

    (data_t, rej_t, stats_t), (data_s, rej_s, stats_s) = _both_ways(tmp_path, chunks, steps)
    assert data_s.num_rows == data_t.num_rows > 0
    assert data_s.equals(data_t)
    assert rej_s.equals(rej_t)
    assert stats_s == stats_t
    # counts reconcile and the rejections come step by step
    assert data_s.num_rows + rej_s.num_rows == 200
    steps_seen = rej_s.column("step").to_pylist()
    assert steps_seen == sorted(steps_seen, key=["per_language_cap", "drop_odd"].index)
    assert set(steps_seen) == {"per_language_cap", "drop_odd"}


def test_streamed_way_with_nothing_to_decide_on(tmp_path: Path) -> None:
    (data_t, rej_t, stats_t), (data_s, rej_s, stats_s) = _both_ways(
        tmp_path, [], lambda: [PerLanguageCap(CapConfig(max_per_language=1))]
    )
    assert data_s.num_rows == rej_s.num_rows == 0
    assert stats_s == stats_t and stats_s[0]["in"] == 0


def test_a_step_without_columns_sends_the_run_the_one_table_way() -> None:
    class Whole(GlobalStep):
        name = "whole"

    assert selected_columns([PerLanguageCap(CapConfig()), Whole()]) is None
    assert selected_columns([PerLanguageCap(CapConfig())]) == ["id", "language"]
