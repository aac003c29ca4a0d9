"""Compressed row files, and one sentence for a file that is damaged or not what its name says.

Downloads get cut off. A truncated ``.jsonl.gz`` still yields every line before the cut; a
Parquet file missing its footer yields nothing; a failed download often saves the server's
HTML error page under the file's name; an interrupted copy leaves a file of 0 bytes. The
readers (io/source.py) keep what could be read, and record the damage as one quarantine
entry (file, the line or row where reading stopped, and :func:`damage_reason`), which the
source also lists among its warnings, so counts still reconcile: the damaged rest is one
quarantined entry.

Row files may be compressed with gzip (``.gz``), bzip2 (``.bz2``), xz (``.xz``) or Zstandard
(``.zst``, read by pyarrow's codec, which tagengo already installs).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import sys
import zlib
from pathlib import Path
from typing import BinaryIO

#: Suffix -> the archive kind named in messages.
COMPRESSIONS = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zst": "zstd"}


#: What reading a damaged archive raises, pyarrow's aside: EOFError (cut short), BadGzipFile (an
#: OSError: not gzip at all), zlib.error (corrupt data inside), LZMAError.
_PLAIN_READ_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error, lzma.LZMAError)
_read_errors: tuple[type[BaseException], ...] | None = None


def read_errors() -> tuple[type[BaseException], ...]:
    """What reading a damaged archive raises: the plain errors above, and pyarrow's
    ``ArrowException`` (its zstd reader; its OSError is an OSError already).

    A function, evaluated where the exception is caught (``except read_errors():``), not a
    constant, and it never imports pyarrow: until something imported pyarrow no exception of its
    can exist, so the plain errors catch all there is. The JSONL readers need pyarrow only for
    .zst files, and `tagengo generate` reads its input before its first call: importing pyarrow
    there (with numpy, 0.15-0.2 s) delayed the call (docs/benchmarks.md, "generate")."""
    global _read_errors
    if _read_errors is not None:
        return _read_errors
    arrow_error = getattr(sys.modules.get("pyarrow"), "ArrowException", None)
    if arrow_error is None:
        return _PLAIN_READ_ERRORS
    _read_errors = (*_PLAIN_READ_ERRORS, arrow_error)
    return _read_errors


_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml")


def compression(path: Path) -> str | None:
    """The archive kind of ``path`` by its suffix (``"gzip"``...), None for a plain file."""
    return COMPRESSIONS.get(path.suffix.lower())


def open_bytes(path: Path) -> BinaryIO:
    """``path`` opened for reading bytes, decompressed by its suffix."""
    kind = compression(path)
    if kind == "gzip":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if kind == "bzip2":
        return bz2.open(path, "rb")  # type: ignore[return-value]
    if kind == "xz":
        return lzma.open(path, "rb")  # type: ignore[return-value]
    if kind == "zstd":
        import pyarrow as pa

        return io.BufferedReader(pa.input_stream(str(path), compression="zstd"))  # type: ignore[arg-type]
    return path.open("rb")


def is_html(path: Path) -> bool:
    """Whether the file's first bytes are an HTML (or XML) page: what a failed download saves."""
    with path.open("rb") as fh:
        head = fh.read(512).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(_HTML_STARTS)


def what_file(path: Path) -> str:
    """How the file is named in a message: its kind, as its name claims it."""
    if path.suffix.lower() == ".parquet":
        return "Parquet file"
    kind = compression(path)
    return f"{kind} archive" if kind else "file"


def empty_reason(path: Path) -> str | None:
    """The damage reason of a file of 0 bytes that cannot be empty (an archive or a Parquet
    file always has a header), else None. An empty ``.jsonl`` is a valid file of no rows."""
    if path.stat().st_size or not (compression(path) or path.suffix.lower() == ".parquet"):
        return None
    return (
        f"the {what_file(path)} is empty (0 bytes), as an interrupted download or copy leaves it; "
        "nothing was read. Download or copy it again."
    )


def damage_reason(path: Path, exc: BaseException, read: int, unit: str, total: int | None = None) -> str:
    """Why reading ``path`` stopped, with what was read: ``read`` ``unit``\\ s (lines or rows)
    before the damage, out of ``total`` where the file says how many it holds."""
    what = what_file(path)
    detail = str(exc).strip() or type(exc).__name__
    if read == 0 and is_html(path):
        return (
            f"the {what} is an HTML page, not data (a failed download saves the server's error page "
            "under the file's name); nothing was read. Download it again."
        )
    if read == 0:
        return (
            f"the {what} is truncated or corrupt ({detail}); nothing of it could be read. Download it again."
        )
    lost = f"{total - read:,} of its {total:,} {unit}s are lost" if total else "the rest of the file is lost"
    return (
        f"the {what} is truncated or corrupt after {unit} {read:,} ({detail}); the {read:,} {unit}s "
        f"before were read, {lost}. Download it again for the rest."
    )
