"""Record tables -> the training files that Axolotl and TRL read directly.

Four layouts, all converted column-wise with Arrow (no Python object per message):

* ``messages``: JSONL, ``{"messages": [{"role", "content"}, ...], ...}``: TRL's
  conversational format and Axolotl's ``chat_template`` default;
* ``sharegpt``: JSONL, ``{"conversations": [{"from": "system"|"human"|"gpt", "value"}], ...}``:
  Axolotl's ``chat_template`` with ``field_messages: conversations`` (the old ``sharegpt`` type);
* ``parquet``: the ``messages`` layout as a Parquet file (``messages`` is
  ``list<struct<role, content>>``), which ``datasets`` loads without a JSON parse;
* ``alpaca``: JSONL, ``{"instruction", "input", "output"}``: one user turn and one answer.

Only rows a trainer can learn from are written: one optional leading system turn, then user
and assistant turns alternating, ending with an assistant answer, no empty turn (alpaca:
exactly one user turn then one assistant turn). ``row_problems`` names what is wrong with the
others, so the caller can count and report them; ``merge_consecutive_turns`` repairs
same-role runs when the user asks for it.

Files are written under a temporary name and renamed into place on ``commit``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

FORMATS = ("messages", "sharegpt", "parquet", "alpaca")
#: ShareGPT speaker names as Axolotl's and FastChat's ShareGPT files spell them.
SHAREGPT_FROM = {"system": "system", "user": "human", "assistant": "gpt"}
_ROLES = ("system", "user", "assistant")


def file_name(split: str, fmt: str) -> str:
    return f"{split}.parquet" if fmt == "parquet" else f"{split}.jsonl"


def _messages(table: pa.Table | pa.RecordBatch) -> pa.ListArray:
    col = table.column("messages")
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _layout(messages: pa.ListArray) -> tuple[np.ndarray, np.ndarray, pa.Array, pa.Array]:
    """(start, length) of every row's turns in the flattened arrays, plus those arrays' roles
    and contents. Computed from the lengths so sliced arrays work too."""
    lengths = pc.fill_null(pc.list_value_length(messages), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(lengths) else lengths
    flat = pc.list_flatten(messages)
    return starts, lengths, flat.field("role"), flat.field("content")


def row_problems(table: pa.Table | pa.RecordBatch, fmt: str) -> list[str | None]:
    """Why each row cannot be a training example in ``fmt`` (None: it can).

    The rules every chat template accepts (TRL's conversational format, Axolotl's
    ``chat_template``, templates that raise on roles out of order): at most one system turn,
    first; then user and assistant turns alternating, starting with a user turn; ending with an
    assistant answer; no turn empty or made only of invisible characters (tagengo.invisible).
    alpaca also needs exactly one user turn and one answer. Checked column-wise with Arrow and
    numpy; reasons are built only for the rows that break a rule."""
    messages = _messages(table)
    starts, lengths, roles, contents = _layout(messages)
    n = len(lengths)
    if n == 0:
        return []
    # Role of every turn as 0 system, 1 user, 2 assistant (-1: anything else).
    code = pc.fill_null(pc.index_in(roles, value_set=pa.array(_ROLES)), -1).to_numpy(zero_copy_only=False)
    row_of = np.repeat(np.arange(n), lengths)
    pos = np.arange(len(code)) - starts[row_of] if len(code) else np.zeros(0, dtype=np.int64)
    has = lengths > 0
    lead_system = np.zeros(n, dtype=bool)
    lead_system[has] = code[starts[has]] == 0
    offset = lead_system[row_of].astype(np.int64)
    expected = np.where(pos < offset, 0, np.where((pos - offset) % 2 == 0, 1, 2))
    first_wrong = _first_per_row(row_of, code != expected, n)
    blank = _blank_turns(contents)
    first_blank = _first_per_row(row_of, blank, n)
    last = np.where(has, starts + lengths - 1, 0)
    last_code = np.where(has, code[last] if len(code) else -1, -1)

    out: list[str | None] = []
    for i in range(n):
        if not has[i]:
            out.append("no messages")
        elif first_wrong[i] >= 0:
            out.append(_order_problem(code, starts[i], first_wrong[i]))
        elif last_code[i] != 2:
            out.append(f"ends with a {_ROLES[last_code[i]]} turn, not an assistant answer")
        elif first_blank[i] >= 0:
            k = first_blank[i]
            if k == lengths[i] - 1:
                out.append("the final assistant turn is empty")
            else:
                out.append(f"turn {k + 1} ({_ROLES[code[starts[i] + k]]}) is empty")
        elif fmt == "alpaca" and lengths[i] != 2:
            if lead_system[i]:
                out.append("has a system turn (alpaca has no field for one)")
            else:
                out.append(f"{lengths[i]} turns; alpaca holds one instruction and one output")
        else:
            out.append(None)
    return out


def _first_per_row(row_of: np.ndarray, flags: np.ndarray, n: int) -> np.ndarray:
    """Position within its row of each row's first flagged turn; -1 where none is."""
    out = np.full(n, -1, dtype=np.int64)
    idx = np.flatnonzero(flags)
    if len(idx):
        rows, first = np.unique(row_of[idx], return_index=True)
        starts = np.searchsorted(row_of, rows)  # row_of is sorted: a row's first flat index
        out[rows] = idx[first] - starts
    return out


def _blank_turns(contents: pa.Array) -> np.ndarray:
    """True for every turn that is empty, null, or only invisible characters."""
    if not len(contents):
        return np.zeros(0, dtype=bool)
    from tagengo.invisible import is_blank

    trimmed = pc.utf8_trim_whitespace(pc.fill_null(contents, ""))
    blank = pc.equal(pc.utf8_length(trimmed), 0).to_numpy(zero_copy_only=False).astype(bool)
    # Zero-width spaces, joiners, BOMs are not whitespace to Arrow: check the few short
    # non-ASCII turns that could be made only of them.
    suspects = np.flatnonzero(
        ~blank
        & ~pc.string_is_ascii(trimmed).to_numpy(zero_copy_only=False).astype(bool)
        & (pc.utf8_length(trimmed).to_numpy(zero_copy_only=False) <= 64)
    )
    if len(suspects):
        texts = trimmed.take(pa.array(suspects)).to_pylist()
        blank[suspects] = [is_blank(t) for t in texts]
    return blank


def _order_problem(code: np.ndarray, start: int, k: int) -> str:
    """The first rule turn ``k`` (0-based) of a row breaks, in words."""
    role = _ROLES[code[start + k]] if code[start + k] >= 0 else "unknown-role"
    if role == "system":
        return f"a system turn at turn {k + 1}; only one system turn, first, is allowed"
    prev = code[start + k - 1] if k else -1
    if k and prev == code[start + k]:
        return f"two {role} turns in a row (turns {k} and {k + 1}); user and assistant must alternate"
    if role == "assistant":
        return "starts with an assistant turn; the first turn after an optional system turn must be user"
    return f"turn {k + 1} is {role}; user and assistant must alternate"


def merge_consecutive_turns(table: pa.Table) -> tuple[pa.Table, int]:
    """``--repair merge-consecutive``: consecutive turns of the same role become one turn (texts
    joined by a blank line). Returns the table and how many rows changed. Only on request:
    merging changes what the conversation says turn by turn."""
    messages = _messages(table)
    starts, lengths, roles, _ = _layout(messages)
    if not len(roles):
        return table, 0
    role = roles.to_numpy(zero_copy_only=False)
    row_of = np.repeat(np.arange(len(lengths)), lengths)
    same = np.zeros(len(role), dtype=bool)
    same[1:] = (role[1:] == role[:-1]) & (row_of[1:] == row_of[:-1])
    rows = np.unique(row_of[same])
    if not len(rows):
        return table, 0
    pylist = messages.to_pylist()
    for i in rows:
        merged: list[dict[str, str]] = []
        for m in pylist[i]:
            if merged and merged[-1]["role"] == m["role"]:
                merged[-1] = {"role": m["role"], "content": merged[-1]["content"] + "\n\n" + m["content"]}
            else:
                merged.append(dict(m))
        pylist[i] = merged
    col = pa.array(pylist, type=messages.type)
    return table.set_column(table.column_names.index("messages"), "messages", col), len(rows)


def _rebuild(messages: pa.ListArray, names: tuple[str, str], role_map: dict[str, str] | None) -> pa.ListArray:
    starts, lengths, roles, contents = _layout(messages)
    if role_map is not None:
        idx = pc.index_in(roles, value_set=pa.array(_ROLES))
        roles = pa.array([role_map[r] for r in _ROLES]).take(idx)
    struct = pa.StructArray.from_arrays([roles, contents], names=list(names))
    offsets = pa.array(
        np.concatenate([starts, [starts[-1] + lengths[-1]]]) if len(lengths) else [0], pa.int32()
    )
    return pa.ListArray.from_arrays(offsets, struct)


def convert(table: pa.Table, fmt: str, columns: list[str] | tuple[str, ...] = ()) -> pa.Table:
    """Records (RECORD_SCHEMA columns) -> the columns of ``fmt``, then ``columns`` of the record.

    Rows must have passed ``row_problems`` (this does not check them again)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format '{fmt}'; choose one of {', '.join(FORMATS)}")
    messages = _messages(table)
    if fmt in ("messages", "parquet"):
        out = {"messages": _rebuild(messages, ("role", "content"), None)}
    elif fmt == "sharegpt":
        out = {"conversations": _rebuild(messages, ("from", "value"), SHAREGPT_FROM)}
    else:
        starts, _, _, contents = _layout(messages)
        out = {
            "instruction": contents.take(pa.array(starts)),
            "input": pa.array([""] * len(starts), pa.string()),
            "output": contents.take(pa.array(starts + 1)),
        }
    for name in columns:
        out[name] = table.column(name)
    return pa.table(out)


class _AtomicFile:
    """A file written under a temporary name; ``commit`` renames it into place."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self.rows = 0

    def abort(self) -> None:
        self.tmp.unlink(missing_ok=True)

    def _finish(self) -> dict[str, Any]:
        os.replace(self.tmp, self.path)
        h = hashlib.sha256()
        with self.path.open("rb") as fh:
            while block := fh.read(1 << 22):
                h.update(block)
        return {"rows": self.rows, "bytes": self.path.stat().st_size, "sha256": h.hexdigest()}

    def __enter__(self) -> _AtomicFile:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is not None:
            self.abort()


class JsonlWriter(_AtomicFile):
    """One JSON object per line. A ``meta`` column (JSON text) is written as an object."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._fh = self.tmp.open("wb")

    def write(self, table: pa.Table) -> None:
        dumps, nl = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        rows = table.to_pylist()
        if "meta" in table.column_names:
            for row in rows:
                row["meta"] = orjson.Fragment(row["meta"] or "{}")
        self._fh.write(_escape_line_separators(b"".join(dumps(row, option=nl) for row in rows)))
        self.rows += len(rows)

    def commit(self, empty_schema: pa.Schema | None = None) -> dict[str, Any]:
        """Close, fsync and rename into place; the file's rows, bytes and sha256."""
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        return self._finish()

    def abort(self) -> None:
        if not self._fh.closed:
            self._fh.close()
        super().abort()


class ParquetWriter(_AtomicFile):
    """A single Parquet file (zstd), its schema fixed by the first table written."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            self._schema = table.schema
            self._writer = pq.ParquetWriter(self.tmp, table.schema, compression="zstd")
        self._writer.write_table(table.cast(self._schema))
        self.rows += table.num_rows

    def commit(self, empty_schema: pa.Schema | None = None) -> dict[str, Any]:
        """Close and rename into place (``empty_schema``: the schema of a file no row reached)."""
        if self._writer is None:  # nothing written: still a valid (empty) file
            schema = empty_schema or pa.schema([])
            self._writer = pq.ParquetWriter(self.tmp, schema, compression="zstd")
        self._writer.close()
        with self.tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        return self._finish()

    def abort(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):  # a half-written file is deleted anyway
                self._writer.close()
        super().abort()


#: Characters valid raw inside a JSON string that ``str.splitlines()``, JavaScript and many
#: line-based tools treat as line ends: an exported JSONL row holding one would read as two "lines"
#: to them. Written as JSON escapes, the text is the same to every JSON parser. In UTF-8 each of
#: these byte sequences can only be that character (a lead byte cannot follow a lead byte).
_LINE_SEPARATORS = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"), (b"\xc2\x85", b"\\u0085"))


def _escape_line_separators(data: bytes) -> bytes:
    for raw, escaped in _LINE_SEPARATORS:
        if raw in data:
            data = data.replace(raw, escaped)
    return data


def open_writer(path: Path, fmt: str) -> JsonlWriter | ParquetWriter:
    return ParquetWriter(path) if fmt == "parquet" else JsonlWriter(path)
