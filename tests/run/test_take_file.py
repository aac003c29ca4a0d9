"""A run whose kept (or rejected, or quarantined) rows are one chunk file copies that file as its
one part (``PartWriter.take_file``) instead of decoding and encoding it again: the same bytes,
0.1 s of CPU less after a one-chunk `tagengo generate`'s last answer (docs/benchmarks.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagengo.io.parquet import read_parquet
from tagengo.records import Record, Rejection, arrow_schema, records_to_table, rejections_to_table
from tagengo.run.dataset import PartWriter, write_parquet_atomic


def _records(n: int) -> list[Record]:
    return [
        Record(
            id=f"r{i}",
            source="test",
            language=["en", "ja", None][i % 3],
            messages=[
                {"role": "user", "content": f"question {i} ü 日本"},
                {"role": "assistant", "content": "a" * i},
            ],
            meta={"generation": {"i": i, "p": 0.25}},
        )
        for i in range(n)
    ]


def _part(directory: Path) -> bytes:
    (part,) = sorted(directory.glob("part-*.parquet"))
    return part.read_bytes()


@pytest.mark.parametrize("kind", ["kept", "rejected"])
def test_a_taken_chunk_file_is_the_part_re_encoding_it_writes(tmp_path, kind):
    records = _records(300)
    if kind == "kept":
        table, schema = records_to_table(records), arrow_schema("RECORD_SCHEMA")
    else:
        rejections = [Rejection(r, "generate", "wrong language") for r in records]
        table, schema = rejections_to_table(rejections, "generate"), arrow_schema("REJECTED_SCHEMA")
    chunk = tmp_path / f"000-00000.{kind}.parquet"
    write_parquet_atomic(chunk, table)

    taken = PartWriter(tmp_path / "taken", schema, rows_per_part=1000)
    assert taken.take_file(chunk)
    taken.close()
    encoded = PartWriter(tmp_path / "encoded", schema, rows_per_part=1000)
    encoded.write(read_parquet(chunk))
    encoded.close()

    assert _part(tmp_path / "taken") == _part(tmp_path / "encoded")
    assert (taken.parts, taken.rows) == (encoded.parts, encoded.rows) == (1, 300)


def test_a_file_that_would_not_be_the_one_part_as_it_is_is_not_taken(tmp_path):
    chunk = tmp_path / "c.parquet"
    write_parquet_atomic(chunk, records_to_table(_records(50)))
    record_schema = arrow_schema("RECORD_SCHEMA")

    too_small = PartWriter(tmp_path / "a", record_schema, rows_per_part=40)  # it would be cut in two parts
    other_schema = PartWriter(tmp_path / "b", arrow_schema("REJECTED_SCHEMA"))  # it would be cast
    started = PartWriter(tmp_path / "c", record_schema)
    started.write(records_to_table(_records(3)))  # it would be merged with rows already given
    for writer in (too_small, other_schema, started):
        assert not writer.take_file(chunk)
        assert writer.parts == 0 and not writer.directory.exists()
