"""The dataset folder: what every stage writes and the next one reads.

    out/
      data/part-00000.parquet ...        rows that passed (RECORD_SCHEMA)
      rejected/part-00000.parquet ...    rows a step dropped, with stage, step, reason
      quarantine/part-00000.parquet ...  input lines that could not be read (file, line, reason)
      manifest.json                      written last: its presence marks a complete folder
      funnel.md / funnel.json            the count table

Every file is written under a temporary name and renamed into place, so a crash never
leaves a part that looks complete but is not.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tagengo.errors import ConfigError, InputError
from tagengo.io.parquet import iter_parquet_batches, read_parquet, read_parquet_schema
from tagengo.records import Record, arrow_schema, table_to_records

if TYPE_CHECKING:  # imported where a table is written or read: see tagengo.records
    import pyarrow as pa

MANIFEST = "manifest.json"
SUBDIRS = ("data", "rejected", "quarantine")
#: Each part's schema, by its name in tagengo.records (built on first use there).
_PART_SCHEMAS = {"data": "RECORD_SCHEMA", "rejected": "REJECTED_SCHEMA", "quarantine": "QUARANTINE_SCHEMA"}


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def write_parquet_atomic(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    import pyarrow.parquet as pq

    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


class PartWriter:
    """Appends tables to ``dir/part-NNNNN.parquet`` files of at most ``rows_per_part`` rows."""

    def __init__(self, directory: Path, schema: pa.Schema, rows_per_part: int = 100_000) -> None:
        self.directory = directory
        self.schema = schema
        self.rows_per_part = rows_per_part
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self.parts = 0
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        import pyarrow as pa

        self._pending.append(table)
        self._pending_rows += table.num_rows
        while self._pending_rows >= self.rows_per_part:
            whole = pa.concat_tables(self._pending)
            self._flush(whole.slice(0, self.rows_per_part))
            rest = whole.slice(self.rows_per_part)
            self._pending = [rest] if rest.num_rows else []
            self._pending_rows = rest.num_rows

    def take_file(self, path: Path) -> bool:
        """Take the Parquet file ``path`` as this writer's first and only part, copied as it is,
        when that is the file writing its table here would give: nothing written yet, at most
        ``rows_per_part`` rows, this writer's columns and types (the file written by
        ``write_parquet_atomic`` from a table of this schema: the runner's chunks). Returns
        whether it did; the caller then writes no other table (it would start a second part)."""
        import pyarrow.parquet as pq

        if self.parts or self._pending:
            return False
        meta = pq.read_metadata(path)  # the footer only
        if not 0 < meta.num_rows <= self.rows_per_part or meta.num_row_groups != 1:
            return False
        if not meta.schema.to_arrow_schema().equals(self.schema):
            return False
        target = self.directory / f"part-{self.parts:05d}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
        self.parts += 1
        self.rows += meta.num_rows
        return True

    def close(self) -> None:
        if self._pending_rows or self.parts == 0:
            import pyarrow as pa

            table = pa.concat_tables(self._pending) if self._pending else self.schema.empty_table()
            self._flush(table)
        self._pending, self._pending_rows = [], 0

    def _flush(self, table: pa.Table) -> None:
        write_parquet_atomic(self.directory / f"part-{self.parts:05d}.parquet", table.cast(self.schema))
        self.parts += 1
        self.rows += table.num_rows


def check_out_folder(out: str | os.PathLike[str], option: str = "--out") -> Path:
    """Check that ``out`` can be (or already is) a folder before a stage writes into it.

    Raises ``ConfigError`` naming ``option`` when ``out`` or one of its parents exists and is
    not a folder (the OS would only say NotADirectoryError halfway through the run)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a folder; {option} names a folder for the output.")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(
                    f"{out}: {parent} is a file, not a folder; {option} must name a folder "
                    "whose parents are folders."
                )
            break
    return out


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    path = Path(folder) / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def iter_tables(
    folder: str | os.PathLike[str], part: str = "data", columns: list[str] | None = None
) -> Iterator[pa.Table]:
    """The table of each ``<folder>/<part>/part-*.parquet`` file in turn, in part order (memory:
    one file at a time). ``columns``: only these, passed to pyarrow; a column a file lacks is
    left out of its table (``data/`` has no ``step`` or ``reason``). Raises ``InputError`` (one
    sentence naming the file) for a damaged file."""
    for f in sorted((Path(folder) / part).glob("part-*.parquet")):
        if columns is not None:
            names = read_parquet_schema(f).names
            yield read_parquet(f, [c for c in columns if c in names])
        else:
            yield read_parquet(f)


def read_table(
    folder: str | os.PathLike[str], part: str = "data", columns: list[str] | None = None
) -> pa.Table:
    """All rows of one part of a dataset folder ('data', 'rejected' or 'quarantine'), only
    ``columns`` when given (as :func:`iter_tables`). Raises ``InputError`` for a folder with
    neither parts nor a manifest, or a damaged part."""
    folder = Path(folder)
    tables = list(iter_tables(folder, part, columns))
    if not tables:
        if read_manifest(folder) is None:
            raise InputError(f"{folder}: not a tagengo dataset folder (no {MANIFEST}).")
        empty = arrow_schema(_PART_SCHEMAS.get(part, "RECORD_SCHEMA")).empty_table()
        return empty if columns is None else empty.select([c for c in columns if c in empty.column_names])
    import pyarrow as pa

    return pa.concat_tables(tables, promote_options="default")


def iter_records(folder: str | os.PathLike[str], batch_size: int = 10_000) -> Iterator[Record]:
    """Stream the kept records of a dataset folder without loading it whole."""
    folder = Path(folder)
    files = sorted((folder / "data").glob("part-*.parquet"))
    if not files and read_manifest(folder) is None:
        raise InputError(f"{folder}: not a tagengo dataset folder (no {MANIFEST}).")
    for f in files:
        for batch in iter_parquet_batches(f, batch_size):
            yield from table_to_records(batch)


def read_records(folder: str | os.PathLike[str]) -> list[Record]:
    return list(iter_records(folder))
