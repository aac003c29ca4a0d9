"""Damaged Parquet files: every read says which file and that it is not readable, never a pyarrow traceback."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tagengo.errors import InputError
from tagengo.io.parquet import iter_parquet_batches, read_parquet, read_parquet_schema


def _good(path: Path, rows: int = 2000, row_group_size: int = 500) -> Path:
    table = pa.table(
        {"id": [f"row-{i}" for i in range(rows)], "text": [f"prompt {i} " * 8 for i in range(rows)]}
    )
    pq.write_table(table, path, row_group_size=row_group_size, compression="zstd")
    return path


def _truncated(tmp_path: Path) -> Path:
    path = tmp_path / "truncated.parquet"
    path.write_bytes(_good(tmp_path / "src.parquet").read_bytes()[:300])
    return path


def _text(tmp_path: Path) -> Path:
    path = tmp_path / "notes.parquet"
    path.write_text("this is not parquet\n")
    return path


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.parquet"
    path.write_bytes(b"")
    return path


def _scrambled_footer(tmp_path: Path) -> Path:
    """Magic bytes intact at both ends, the footer metadata overwritten."""
    data = bytearray(_good(tmp_path / "src2.parquet").read_bytes())
    footer_len = int.from_bytes(data[-8:-4], "little")
    for i in range(len(data) - 8 - footer_len, len(data) - 8):
        data[i] = 0xAB
    path = tmp_path / "scrambled.parquet"
    path.write_bytes(bytes(data))
    return path


DAMAGED = [_truncated, _text, _empty, _scrambled_footer]


@pytest.mark.parametrize("make", DAMAGED)
@pytest.mark.parametrize(
    "read",
    [
        read_parquet,
        lambda p: read_parquet(p, columns=["id"]),
        read_parquet_schema,
        lambda p: list(iter_parquet_batches(p, 100)),
    ],
)
def test_a_damaged_file_is_one_input_error_naming_it(tmp_path: Path, make, read) -> None:
    path = make(tmp_path)
    with pytest.raises(InputError, match="not a readable Parquet file") as info:
        read(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "Replace it" in message and "\n" not in message


def test_damage_in_a_later_row_group_is_reported_when_reached(tmp_path: Path) -> None:
    """The footer is intact, so the file opens; the damage shows only when its row group is read."""
    path = _good(tmp_path / "pages.parquet")
    meta = pq.ParquetFile(path).metadata
    col = meta.row_group(3).column(1)  # the last row group's text column
    data = bytearray(path.read_bytes())
    start = col.dictionary_page_offset or col.data_page_offset
    # Past the first page's header, so the damage is in compressed page bytes.
    for i in range(start + 32, start + col.total_compressed_size):
        data[i] = 0xAB
    path.write_bytes(bytes(data))
    batches = iter_parquet_batches(path, 500)
    assert next(batches).num_rows == 500  # the first row group still reads
    with pytest.raises(InputError, match="not a readable Parquet file") as info:
        list(batches)
    assert str(info.value).startswith(f"{path}: ")


def test_good_files_read_whole(tmp_path: Path) -> None:
    path = _good(tmp_path / "ok.parquet", rows=1234)
    assert read_parquet(path).num_rows == 1234
    assert read_parquet(path, columns=["id"]).column_names == ["id"]
    assert read_parquet_schema(path).names == ["id", "text"]
    assert sum(b.num_rows for b in iter_parquet_batches(path, 100)) == 1234
