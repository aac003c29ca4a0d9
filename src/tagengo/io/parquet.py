"""Reading Parquet files with one clear error for a damaged one.

pyarrow reports a truncated or corrupt file as ``ArrowInvalid``, ``ArrowIOError``/``OSError``
or a plain ``ValueError`` depending on where the damage is (footer, page header, column chunk),
and sometimes only once a later batch is read. Every Parquet read of an input or a dataset
folder goes through here, so the user always gets ``InputError`` naming the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tagengo.errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow is imported by the first read, not with this module: `tagengo generate` imports the
# readers before its first call, and pyarrow (with numpy) is 0.15-0.2 s it need not wait for.


def _pq() -> Any:
    import pyarrow.parquet as pq

    return pq


@cache
def _parquet_errors() -> tuple[type[BaseException], ...]:
    """What pyarrow raises for a damaged file (ArrowInvalid is both an ArrowException and a
    ValueError). Evaluated where an exception is caught, once pyarrow is imported."""
    import pyarrow as pa

    return (pa.ArrowException, OSError, ValueError)


def unreadable(path: str | Path, exc: BaseException) -> InputError:
    """The error for a file that is not a readable Parquet file."""
    return InputError(
        f"{path}: not a readable Parquet file ({str(exc).strip()}). Replace it with an intact copy or remove it."
    )


def read_parquet(path: str | Path, columns: list[str] | None = None) -> pa.Table:
    """The whole table of ``path`` (only ``columns`` when given). Raises ``InputError``."""
    pq = _pq()
    try:
        return pq.read_table(path, columns=columns)
    except _parquet_errors() as exc:
        raise unreadable(path, exc) from exc


def read_parquet_schema(path: str | Path) -> pa.Schema:
    """The schema in the footer of ``path``. Raises ``InputError``."""
    pq = _pq()
    try:
        return pq.read_schema(path)
    except _parquet_errors() as exc:
        raise unreadable(path, exc) from exc


def iter_parquet_batches(path: str | Path, batch_size: int) -> Iterator[pa.RecordBatch]:
    """Stream ``path`` in record batches of at most ``batch_size`` rows. Raises ``InputError``,
    also for damage found only in a later row group."""
    pq = _pq()
    try:
        pf = pq.ParquetFile(path)
        batches = pf.iter_batches(batch_size=batch_size)
    except _parquet_errors() as exc:
        raise unreadable(path, exc) from exc
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except _parquet_errors() as exc:
            raise unreadable(path, exc) from exc
        yield batch


def parquet_rows(path: str | Path) -> int | None:
    """The number of rows the footer of ``path`` promises; None when the footer cannot be read."""
    pq = _pq()
    try:
        return pq.ParquetFile(path).metadata.num_rows
    except _parquet_errors():
        return None
