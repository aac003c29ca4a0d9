"""A byte-order mark at the start of a text field (a Parquet cell from a CSV saved with one, a
JSON value copied from such a file) is dropped as the readers drop one at the start of a file;
one further inside a text stays (newcomer 32, item 16)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tagengo.io.source import open_source, parse_chunk
from tagengo.io.text import strip_leading_bom

FR = "Comment apprendre à cuisiner quand on est étudiant ?"
INSIDE = "zero\ufeffwidth no-break space inside"


def _read(path: Path) -> dict[str, list[str]]:
    source = open_source(path)
    out: dict[str, list[str]] = {}
    for chunk in source.iter_chunks(100):
        rows, bad = parse_chunk(chunk, source.format, "x")
        assert not bad, bad
        out.update({r.id: [m["content"] for m in r.messages] for r in rows})
    return out


def test_a_bom_at_the_start_of_a_parquet_content_string_is_dropped(tmp_path: Path) -> None:
    rows = [
        {"conversation_id": "p5", "conversation": [{"role": "user", "content": "\ufeff" + FR}]},
        {"conversation_id": "p6", "conversation": [{"role": "user", "content": INSIDE}]},
        {
            "conversation_id": "p7",
            "conversation": [
                {"role": "user", "content": FR},
                {"role": "assistant", "content": "\ufeff\ufeffEn cuisinant."},
            ],
        },
    ]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "wildchat.parquet")
    got = _read(tmp_path / "wildchat.parquet")
    assert got == {"p5": [FR], "p6": [INSIDE], "p7": [FR, "En cuisinant."]}


def test_a_bom_at_the_start_of_a_json_field_is_dropped(tmp_path: Path) -> None:
    lines = [
        {"id": "m1", "messages": [{"role": "user", "content": "\ufeff" + FR}]},
        {"id": "m2", "messages": [{"role": "user", "content": [{"type": "text", "text": "\ufeff" + FR}]}]},
    ]
    (tmp_path / "chats.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    assert _read(tmp_path / "chats.jsonl") == {"m1": [FR], "m2": [FR]}
    (tmp_path / "prompts.jsonl").write_text(json.dumps({"id": "q1", "prompt": "\ufeff" + FR}) + "\n")
    assert _read(tmp_path / "prompts.jsonl") == {"q1": [FR]}


def test_strip_leading_bom() -> None:
    assert strip_leading_bom("\ufeffabc") == "abc" and strip_leading_bom("a\ufeffb") == "a\ufeffb"
    assert strip_leading_bom("") == "" and strip_leading_bom("\ufeff") == ""
