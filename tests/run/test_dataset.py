"""The dataset folder: --out must be able to become a folder; damaged parts are named, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from tagengo.errors import ConfigError, InputError
from tagengo.records import Record, records_to_table
from tagengo.run.dataset import (
    atomic_write_json,
    check_out_folder,
    iter_records,
    read_records,
    read_table,
    write_parquet_atomic,
)


def test_out_folder_that_is_missing_or_a_folder_is_accepted(tmp_path: Path) -> None:
    assert check_out_folder(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    (tmp_path / "there").mkdir()
    assert check_out_folder(tmp_path / "there") == tmp_path / "there"


@pytest.mark.parametrize("name", ["f", "f.parquet", "manifest.json"])
def test_out_that_is_a_file_is_one_sentence(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("x")
    with pytest.raises(ConfigError, match="exists and is not a folder; --out names a folder") as info:
        check_out_folder(path)
    assert str(info.value).startswith(f"{path}: ")


@pytest.mark.parametrize("below", ["sub", "sub/deeper"])
def test_out_under_a_file_names_the_file(tmp_path: Path, below: str) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match=f"{tmp_path / 'f'} is a file, not a folder; --out must"):
        check_out_folder(tmp_path / "f" / below)


def test_the_option_is_named_as_given(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="--cache-dir names a folder"):
        check_out_folder(tmp_path / "f", option="--cache-dir")


def _folder(tmp_path: Path, parts: int) -> Path:
    out = tmp_path / "ds"
    for k in range(parts):
        recs = [
            Record(
                id=f"r-{k}-{i}",
                source="test",
                messages=[{"role": "user", "content": f"hi {i}"}],
                language="en",
            )
            for i in range(3)
        ]
        write_parquet_atomic(out / "data" / f"part-{k:05d}.parquet", records_to_table(recs))
    atomic_write_json(out / "manifest.json", {"stage": "test"})
    return out


@pytest.mark.parametrize("damaged", [0, 1])
@pytest.mark.parametrize("keep_bytes", [0, 100])
def test_a_damaged_data_part_is_named(tmp_path: Path, damaged: int, keep_bytes: int) -> None:
    out = _folder(tmp_path, 2)
    assert len(read_records(out)) == 6
    part = out / "data" / f"part-{damaged:05d}.parquet"
    part.write_bytes(part.read_bytes()[:keep_bytes])
    for read in (read_table, read_records, lambda f: list(iter_records(f))):
        with pytest.raises(InputError, match="not a readable Parquet file") as info:
            read(out)
        assert str(info.value).startswith(f"{part}: ")


def test_an_intact_folder_reads(tmp_path: Path) -> None:
    out = _folder(tmp_path, 3)
    assert isinstance(read_table(out), pa.Table) and read_table(out).num_rows == 9
