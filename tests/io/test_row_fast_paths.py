"""The reader's and the record table's fast paths (issue 27: per-row Python in curate's workers)
give what the plain ways give: the same tables, the same records, the same reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from tagengo.io.source import open_source, parse_chunk
from tagengo.records import (
    RECORD_SCHEMA,
    REJECTED_SCHEMA,
    Record,
    Rejection,
    records_to_table,
    rejections_to_table,
)


def _records() -> list[Record]:
    class Odd:  # not JSON: meta falls back to str(), as Record.to_row does
        def __str__(self) -> str:
            return "odd"

    return [
        Record("a", "s", "en", [{"role": "user", "content": "hi"}], {}),
        Record(
            "b",
            "lmsys",
            None,
            [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "日本語で 🙂"},
                {"role": "assistant", "content": ""},
            ],
            {"lid_score": 0.5, "nested": {"x": [1, None, True]}, "odd": Odd()},
        ),
        Record("c", "s", "ja", [{"role": "user", "content": "x" * 10_000}], {"tokens": 3}),
    ]


def test_records_to_table_is_the_row_by_row_table() -> None:
    recs = _records()
    want = pa.Table.from_pylist([r.to_row() for r in recs], schema=RECORD_SCHEMA)
    got = records_to_table(recs)
    assert got.equals(want, check_metadata=True)
    assert got.column("meta")[1].as_py() == json.dumps(
        {"lid_score": 0.5, "nested": {"x": [1, None, True]}, "odd": "odd"}, separators=(",", ":")
    )
    assert records_to_table([]).equals(RECORD_SCHEMA.empty_table(), check_metadata=True)


def test_rejections_to_table_is_the_row_by_row_table() -> None:
    rejs = [Rejection(r, f"step{i}", f"reason {i}") for i, r in enumerate(_records())]
    rows = []
    for rej in rejs:
        row = rej.record.to_row()
        row.update(stage="curate", step=rej.step, reason=rej.reason)
        rows.append(row)
    want = pa.Table.from_pylist(rows, schema=REJECTED_SCHEMA)
    assert rejections_to_table(rejs, "curate").equals(want, check_metadata=True)
    assert rejections_to_table([], "curate").num_rows == 0


def _row(i: int, **over) -> dict:
    row = {
        "conversation_id": f"id{i}",
        "model": "m",
        "conversation": [{"role": "user", "content": f"prompt {i}"}, {"role": "assistant", "content": "ok"}],
        "turn": 1,
        "language": "English",
        "openai_moderation": [
            {"categories": {"a": False}, "category_scores": {"a": 0.25, "b": 1}, "flagged": False}
        ],
        "redacted": False,
    }
    row.update(over)
    return row


def _read(tmp_path: Path, lines: list[bytes]):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"".join(lines))
    src = open_source(path, "lmsys")
    records, bad = [], []
    for chunk in src.iter_chunks(100):
        r, q = parse_chunk(chunk, src.format, "lmsys")
        records += r
        bad += q
    return records, bad


def _line(obj: dict) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode() + b"\n"


def test_role_names_read_as_before_padded_and_upper_case_too(tmp_path: Path) -> None:
    conv = [{"role": " Human ", "content": "a"}, {"role": "GPT", "content": "b"}]
    records, bad = _read(tmp_path, [_line(_row(1, conversation=conv))])
    assert bad == []
    assert [m["role"] for m in records[0].messages] == ["user", "assistant"]


def test_moderation_lists_only_true_categories_and_the_largest_number(tmp_path: Path) -> None:
    mods = [
        # 1 equals True but is not a set category; a boolean score is no score
        {
            "categories": {"b": 1, "a": True, "c": True},
            "category_scores": {"x": True, "y": 3},
            "flagged": True,
        },
    ]
    records, _ = _read(
        tmp_path,
        [
            _line(_row(1, openai_moderation=mods)),
            _line(_row(2, openai_moderation=[{"categories": {"b": 1}}])),
        ],
    )
    assert records[0].meta["moderation"] == {"flagged": True, "categories": ["a", "c"], "max_score": 3}
    assert records[1].meta["moderation"] == {"flagged": False, "categories": [], "max_score": None}


@pytest.mark.parametrize(
    "mods, reason",
    [
        ([{"category_scores": [1]}], "openai_moderation[0].category_scores should be an object"),
        ([{"flagged": 1}], "openai_moderation[0].flagged should be a boolean, got an integer"),
    ],
)
def test_moderation_errors_name_the_field(tmp_path: Path, mods, reason) -> None:
    _, bad = _read(tmp_path, [_line(_row(1, openai_moderation=mods))])
    assert [q.reason for q in bad] == [reason]
    assert bad[0].field == reason.split(" ")[0]


@pytest.mark.parametrize("blank", [b"\n", b"   \n", b"\t\r\n", b" \x0b\x0c\n"])
def test_a_blank_line_is_quarantined_as_blank(tmp_path: Path, blank: bytes) -> None:
    records, bad = _read(tmp_path, [_line(_row(1)), blank, _line(_row(3))])
    assert [r.id for r in records] == ["id1", "id3"]
    assert [(q.line, q.reason) for q in bad] == [(2, "blank line")]


def test_on_first_chunk_runs_once_before_the_first_chunk(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"".join(_line(_row(i)) for i in range(5)))
    src = open_source(path, "lmsys")
    calls: list[int] = []
    seen: list[str] = []
    src.on_first_chunk = lambda: calls.append(len(seen))
    for chunk in src.iter_chunks(2):
        seen.append(chunk.key)
    assert calls == [0]  # called once, before any chunk was handed out
    assert len(seen) == 3
    assert src.on_first_chunk is None
    assert len(list(src.iter_chunks(2))) == 3 and calls == [0]  # a second read does not call it again
