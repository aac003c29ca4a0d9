"""The one record type that flows through every stage, and its fixed Arrow schema.

A record is a conversation: ``id``, ``source``, ``language``, ``messages`` and ``meta``.
``meta`` holds everything else (LID label and score, token counts, moderation flags,
finish_reason, judge score, ...). Its keys differ per stage and per source, so it is
stored as a JSON string column: the Parquet schema stays fixed and versioned while meta
stays open. DuckDB/Polars/pandas can still query it with their JSON functions.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

#: Bump when a column is added, removed or changes type. Written into every Parquet file.
SCHEMA_VERSION = 1

ROLES = ("system", "user", "assistant")

#: The key that counts rows without a language (``language`` None) in manifests, reports and
#: per-language tables. One spelling for every stage: a manifest's ``languages`` and a report's
#: table must agree on it.
NO_LANGUAGE = "(none)"

#: The Arrow schemas below (``MESSAGE_TYPE``, ``RECORD_FIELDS``, ``RECORD_SCHEMA``,
#: ``REJECTED_SCHEMA``, ``QUARANTINE_SCHEMA``) are built on first use, not at import: pyarrow
#: (with numpy, 0.15-0.2 s of CPU) is then imported once a stage writes or reads a table, and
#: ``tagengo generate`` sends its first request without waiting for it (docs/benchmarks.md,
#: "generate"). ``from tagengo.records import RECORD_SCHEMA`` works as before (``__getattr__``).
_SCHEMA_NAMES = ("MESSAGE_TYPE", "RECORD_FIELDS", "RECORD_SCHEMA", "REJECTED_SCHEMA", "QUARANTINE_SCHEMA")

if TYPE_CHECKING:
    import pyarrow as pa

    MESSAGE_TYPE: pa.StructType
    RECORD_FIELDS: list[pa.Field]
    RECORD_SCHEMA: pa.Schema
    REJECTED_SCHEMA: pa.Schema
    QUARANTINE_SCHEMA: pa.Schema


def _build_schemas() -> dict[str, Any]:
    import pyarrow as pa

    message_type = pa.struct([("role", pa.string()), ("content", pa.string())])
    record_fields = [
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("language", pa.string(), nullable=True),
        pa.field("messages", pa.list_(message_type), nullable=False),
        pa.field("meta", pa.string(), nullable=False),
    ]
    version_meta = {b"tagengo.schema_version": str(SCHEMA_VERSION).encode()}
    return {
        "MESSAGE_TYPE": message_type,
        "RECORD_FIELDS": record_fields,
        # Rows that passed a stage.
        "RECORD_SCHEMA": pa.schema(record_fields, metadata=version_meta),
        # Rows a step dropped: the record plus which step dropped it and why.
        "REJECTED_SCHEMA": pa.schema(
            [
                *record_fields,
                pa.field("stage", pa.string(), nullable=False),
                pa.field("step", pa.string(), nullable=False),
                pa.field("reason", pa.string(), nullable=False),
            ],
            metadata=version_meta,
        ),
        # Input lines that could not be read as a record at all.
        "QUARANTINE_SCHEMA": pa.schema(
            [
                pa.field("file", pa.string(), nullable=False),
                pa.field("line", pa.int64(), nullable=False),
                pa.field("field", pa.string(), nullable=True),
                pa.field("reason", pa.string(), nullable=False),
                # The raw text, cut to a few KB: enough to see what was wrong, never the whole 1 GB line.
                pa.field("raw", pa.string(), nullable=True),
            ],
            metadata=version_meta,
        ),
    }


_schemas_lock = threading.Lock()


def arrow_schema(name: str) -> Any:
    """The schema (or type) ``name`` of ``_SCHEMA_NAMES``, built with the others on first use.
    Built once under a lock: a table written from two threads must carry the same objects."""
    if name not in globals():
        with _schemas_lock:
            if name not in globals():
                globals().update(_build_schemas())
    return globals()[name]


def __getattr__(name: str) -> Any:
    if name in _SCHEMA_NAMES:
        return arrow_schema(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(slots=True)
class Record:
    """One conversation. ``messages`` is a list of ``{"role", "content"}`` dicts, in order."""

    id: str
    source: str
    language: str | None
    messages: list[dict[str, str]]
    meta: dict[str, Any] = field(default_factory=dict)

    def first_user(self) -> str:
        """The first user turn's text ('' if none): the prompt the curation steps look at."""
        for m in self.messages:
            if m["role"] == "user":
                return m["content"]
        return ""

    def to_row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "language": self.language,
            "messages": self.messages,
            "meta": orjson.dumps(self.meta, default=str).decode(),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Record:
        meta = row.get("meta")
        if isinstance(meta, str):
            meta = orjson.loads(meta) if meta else {}
        return cls(
            id=row["id"],
            source=row["source"],
            language=row.get("language"),
            messages=[{"role": m["role"], "content": m["content"]} for m in row["messages"]],
            meta=meta or {},
        )


@dataclass(slots=True)
class Rejection:
    """A record a step dropped, with the step's name and a human-readable reason."""

    record: Record
    step: str
    reason: str


@dataclass(slots=True)
class Quarantined:
    """An input line that could not become a record. Kept so that nothing is lost silently."""

    file: str
    line: int
    reason: str
    field: str | None = None
    raw: str | None = None

    def to_row(self) -> dict[str, Any]:
        raw = self.raw
        if raw is not None and len(raw) > 4096:
            raw = raw[:4096] + f"... [{len(raw) - 4096} more characters]"
        return {"file": self.file, "line": self.line, "field": self.field, "reason": self.reason, "raw": raw}


def _record_columns(records: Sequence[Record]) -> dict[str, list[Any]]:
    """The columns of ``records``, as :meth:`Record.to_row` gives each row's values: built a
    column at a time, not a dict per row (a worker converts every row it reads)."""
    dumps = orjson.dumps
    return {
        "id": [r.id for r in records],
        "source": [r.source for r in records],
        "language": [r.language for r in records],
        "messages": [r.messages for r in records],
        "meta": [dumps(r.meta, default=str).decode() for r in records],
    }


def records_to_table(records: Sequence[Record]) -> pa.Table:
    import pyarrow as pa

    return pa.Table.from_pydict(_record_columns(records), schema=arrow_schema("RECORD_SCHEMA"))


def rejections_to_table(rejections: Sequence[Rejection], stage: str) -> pa.Table:
    columns = _record_columns([rej.record for rej in rejections])
    columns["stage"] = [stage] * len(rejections)
    columns["step"] = [rej.step for rej in rejections]
    columns["reason"] = [rej.reason for rej in rejections]
    import pyarrow as pa

    return pa.Table.from_pydict(columns, schema=arrow_schema("REJECTED_SCHEMA"))


def quarantine_to_table(items: Sequence[Quarantined]) -> pa.Table:
    import pyarrow as pa

    return pa.Table.from_pylist([q.to_row() for q in items], schema=arrow_schema("QUARANTINE_SCHEMA"))


def table_to_records(table: pa.Table | pa.RecordBatch) -> list[Record]:
    cols = table.select(["id", "source", "language", "messages", "meta"]).to_pylist()
    return [Record.from_row(row) for row in cols]
