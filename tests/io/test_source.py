"""Readers: every format converts, and every kind of bad line is quarantined with file, line and reason."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tagengo.errors import InputError
from tagengo.io.source import MAX_LINE_BYTES, open_source, parse_chunk


def _lmsys(i: int, **over) -> dict:
    row = {
        "conversation_id": f"{i:032x}",
        "model": "vicuna-13b",
        "conversation": [
            {"content": f"Write a short poem about the sea, number {i}.", "role": "user"},
            {"content": "The sea is wide and blue.", "role": "assistant"},
        ],
        "turn": 1,
        "language": "English",
        "openai_moderation": [
            {"categories": {"harassment": False}, "category_scores": {"harassment": 0.01}, "flagged": False},
            {"categories": {"harassment": False}, "category_scores": {"harassment": 0.0}, "flagged": False},
        ],
        "redacted": False,
    }
    row.update(over)
    return row


def _line(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode() + b"\n"


def _read_all(path: Path, fmt: str | None = None):
    src = open_source(path, fmt)
    records, bad, lines = [], [], 0
    for chunk in src.iter_chunks(7):  # a small chunk size so chunk boundaries are crossed
        lines += len(chunk)
        r, q = parse_chunk(chunk, src.format, src.name_for(Path(chunk.file)))
        records += r
        bad += q
    return src, records, bad, lines


# Each case: (name, raw bytes of one line, expected substring of the reason, expected field or None)
BAD_LINES = [
    ("not json", b"this is not json\n", "invalid JSON", None),
    ("truncated json", b'{"conversation_id": "a", "conversation": [\n', "invalid JSON", None),
    ("json array", b"[1, 2, 3]\n", "should be a JSON object", None),
    ("json string", b'"hello"\n', "should be a JSON object", None),
    ("json number", b"42\n", "should be a JSON object", None),
    ("json null", b"null\n", "should be a JSON object", None),
    ("invalid utf-8", b'{"conversation_id": "\xff\xfe", "conversation": []}\n', "invalid UTF-8", None),
    (
        "lone surrogate",
        b'{"conversation_id": "x", "conversation": [{"role": "user", "content": "\\ud800"}]}\n',
        "unpaired UTF-16 surrogate escape",
        None,
    ),
    ("blank line", b"   \n", "blank line", None),
    (
        "conversation missing",
        _line({"conversation_id": "x", "conversation": None}),
        "missing field",
        "conversation",
    ),
    ("conversation not a list", _line(_lmsys(1, conversation="hello")), "should be a list", "conversation"),
    ("conversation empty", _line(_lmsys(2, conversation=[])), "is empty", "conversation"),
    (
        "message not an object",
        _line(_lmsys(3, conversation=["hi"])),
        "should be an object",
        "conversation[0]",
    ),
    (
        "role missing",
        _line(_lmsys(4, conversation=[{"content": "hi"}])),
        "role should be a string",
        "conversation[0].role",
    ),
    (
        "role unknown",
        _line(_lmsys(5, conversation=[{"role": "robot", "content": "hi"}])),
        "unknown role",
        "conversation[0].role",
    ),
    (
        "content missing",
        _line(_lmsys(6, conversation=[{"role": "user"}])),
        "should be a string",
        "conversation[0].content",
    ),
    (
        "content a number",
        _line(_lmsys(7, conversation=[{"role": "user", "content": 5}])),
        "got an integer",
        "conversation[0].content",
    ),
    (
        "content a list",
        _line(_lmsys(8, conversation=[{"role": "user", "content": ["a"]}])),
        "got a list",
        "conversation[0].content",
    ),
    (
        "content null",
        _line(_lmsys(9, conversation=[{"role": "user", "content": None}])),
        "got null",
        "conversation[0].content",
    ),
    (
        "no user turn",
        _line(_lmsys(10, conversation=[{"role": "assistant", "content": "hello"}])),
        "no user turn",
        "conversation",
    ),
    (
        "content with NUL",
        _line(_lmsys(11, conversation=[{"role": "user", "content": "a\x00b"}])),
        "NUL",
        "conversation[0].content",
    ),
    (
        "content absurdly long",
        _line(_lmsys(12, conversation=[{"role": "user", "content": "x" * 300_000}])),
        "characters (limit",
        "conversation[0].content",
    ),
    (
        "too many messages",
        _line(_lmsys(13, conversation=[{"role": "user", "content": "a"}] * 1001)),
        "messages (limit",
        "conversation",
    ),
    ("line absurdly long", b'{"x": "' + b"y" * (MAX_LINE_BYTES + 10) + b'"}\n', "bytes (limit", None),
    ("id a list", _line(_lmsys(14, conversation_id=["a"])), "should be a string", "conversation_id"),
    ("id a boolean", _line(_lmsys(15, conversation_id=True)), "boolean", "conversation_id"),
    ("language a number", _line(_lmsys(16, language=7)), "should be a string", "language"),
    (
        "moderation not a list",
        _line(_lmsys(17, openai_moderation={"flagged": True})),
        "should be a list",
        "openai_moderation",
    ),
    (
        "moderation entry not an object",
        _line(_lmsys(18, openai_moderation=["bad", "bad"])),
        "should be an object",
        "openai_moderation[0]",
    ),
    (
        "flagged not a boolean",
        _line(_lmsys(19, openai_moderation=[{"flagged": "yes", "categories": {}}])),
        "boolean",
        "openai_moderation[0].flagged",
    ),
    (
        "categories not an object",
        _line(_lmsys(20, openai_moderation=[{"flagged": False, "categories": [1]}])),
        "should be an object",
        "openai_moderation[0].categories",
    ),
    ("turn a string", _line(_lmsys(21, turn="one")), "should be an integer", "turn"),
    ("redacted a string", _line(_lmsys(22, redacted="no")), "should be a boolean", "redacted"),
    ("model a number", _line(_lmsys(23, model=3)), "should be a string", "model"),
    (
        "deeply nested",
        b'{"conversation_id": "d", "conversation": ' + b"[" * 5000 + b"]" * 5000 + b"}\n",
        "invalid JSON",
        None,
    ),
]


def test_every_bad_line_is_quarantined_with_reason_and_counts_reconcile(tmp_path: Path) -> None:
    good = [_line(_lmsys(1000 + i)) for i in range(5)]
    lines = []
    # Interleave good and bad rows so quarantining never shifts later line numbers.
    for i, (_, raw, _, _) in enumerate(BAD_LINES):
        lines.append(good[i % len(good)] if i % 7 == 0 else None)
        lines.append(raw)
    lines = [x for x in lines if x is not None]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"".join(lines))
    src, records, bad, n_lines = _read_all(path, "lmsys")

    assert n_lines == len(lines)
    assert len(records) + len(bad) == len(lines)
    assert len(bad) == len(BAD_LINES)
    by_line = {q.line: q for q in bad}
    for lineno, raw in enumerate(lines, start=1):
        matches = [case for case in BAD_LINES if case[1] == raw]
        if not matches:
            assert lineno not in by_line
            continue
        name, _, reason, field = matches[0]
        q = by_line[lineno]
        assert q.file == str(path)
        assert reason.lower() in q.reason.lower(), (name, q.reason)
        if field is not None:
            assert q.field == field, (name, q.field)


def test_good_lmsys_row_becomes_record(tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    row = _lmsys(
        7,
        openai_moderation=[
            {
                "categories": {"violence": True, "hate": False},
                "category_scores": {"violence": 0.9},
                "flagged": True,
            },
            {"categories": {}, "category_scores": {}, "flagged": False},
        ],
    )
    path.write_bytes(_line(row))
    src, records, bad, _ = _read_all(path)
    assert src.format == "lmsys" and not bad
    (rec,) = records
    assert rec.id == f"{7:032x}"
    assert rec.source == "lmsys-chat-1m"
    assert rec.language == "en"
    assert rec.meta["language_label"] == "English"
    assert rec.meta["moderation"] == {"flagged": True, "categories": ["violence"], "max_score": 0.9}
    assert [m["role"] for m in rec.messages] == ["user", "assistant"]


@pytest.mark.parametrize(
    ("row", "fmt", "roles", "language"),
    [
        (
            {
                "conversation_hash": "h1",
                "conversation": [{"role": "user", "content": "Olá, tudo bem?"}],
                "language": "Portuguese",
            },
            "wildchat",
            ["user"],
            "pt",
        ),
        (
            {
                "id": "s1",
                "conversations": [{"from": "human", "value": "Hallo!"}, {"from": "gpt", "value": "Hi."}],
            },
            "sharegpt",
            ["user", "assistant"],
            None,
        ),
        (
            {
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "こんにちは"},
                ],
                "language": "ja",
            },
            "messages",
            ["system", "user"],
            "ja",
        ),
        ({"prompt": "Bonjour à tous", "language": "fr"}, "prompts", ["user"], "fr"),
        ({"text": "Hola"}, "prompts", ["user"], None),
    ],
)
def test_formats_detected_and_converted(
    tmp_path: Path, row: dict, fmt: str, roles: list, language: str | None
) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(_line(row))
    src, records, bad, _ = _read_all(path)
    assert src.format == fmt
    assert not bad
    assert [m["role"] for m in records[0].messages] == roles
    assert records[0].language == language


def test_sharegpt_unknown_speaker_is_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "sg.jsonl"
    path.write_bytes(_line({"id": "x", "conversations": [{"from": "narrator", "value": "Once"}]}))
    _, records, bad, _ = _read_all(path, "sharegpt")
    assert not records
    assert bad[0].field == "conversations[0].from" and "narrator" in bad[0].reason


def test_gzip_and_truncated_gzip(tmp_path: Path) -> None:
    rows = b"".join(_line(_lmsys(i)) for i in range(50))
    ok = tmp_path / "ok.jsonl.gz"
    ok.write_bytes(gzip.compress(rows))
    _, records, bad, _ = _read_all(ok)
    assert len(records) == 50 and not bad

    cut = tmp_path / "cut.jsonl.gz"
    data = gzip.compress(rows)
    cut.write_bytes(data[: len(data) // 2])
    _, records, bad, _ = _read_all(cut)
    assert 0 < len(records) < 50
    assert any("truncated or corrupt" in q.reason for q in bad)


def test_json_array_file(tmp_path: Path) -> None:
    path = tmp_path / "sharegpt.json"
    items = [{"id": str(i), "conversations": [{"from": "human", "value": f"Frage {i}"}]} for i in range(10)]
    items[3] = {"id": "3", "conversations": "broken"}
    path.write_text(json.dumps(items))
    src, records, bad, _ = _read_all(path)
    assert src.format == "sharegpt"
    assert len(records) == 9
    assert bad[0].line == 4 and bad[0].field == "conversations"


def test_parquet_lmsys_and_wrong_types(tmp_path: Path) -> None:
    rows = [_lmsys(i) for i in range(12)]
    path = tmp_path / "lmsys.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    src, records, bad, _ = _read_all(path)
    assert src.format == "lmsys" and len(records) == 12 and not bad
    assert records[0].meta["moderation"]["flagged"] is False

    table = pa.table({"conversation_id": ["a", "b"], "conversation": ["not a list", "also not"]})
    bad_path = tmp_path / "bad.parquet"
    pq.write_table(table, bad_path)
    _, records, bad, _ = _read_all(bad_path, "lmsys")
    assert not records and [q.line for q in bad] == [1, 2]


def test_missing_id_gets_stable_content_id(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_bytes(
        _line({"prompt": "Same text"}) + _line({"prompt": "Same text"}) + _line({"prompt": "Other"})
    )
    _, first, _, _ = _read_all(path)
    _, second, _, _ = _read_all(path)
    assert [r.id for r in first] == [r.id for r in second]
    assert first[0].id == first[1].id != first[2].id


def test_input_errors_are_one_clear_sentence(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        open_source(tmp_path / "missing.jsonl")
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(InputError, match="unsupported file type"):
        open_source(tmp_path / "x.csv")
    (tmp_path / "odd.jsonl").write_text('{"foo": 1}\n')
    with pytest.raises(InputError, match="pass --format"):
        open_source(tmp_path / "odd.jsonl")
    with pytest.raises(InputError, match="unknown format"):
        open_source(tmp_path / "odd.jsonl", "csv")


BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize("name", ["bom.jsonl", "bom.jsonl.gz"])
def test_a_byte_order_mark_opens_the_file_and_loses_no_row(tmp_path: Path, name: str) -> None:
    # Notepad and Excel save UTF-8 with a BOM; the first row is a row like any other.
    data = BOM + b"".join(_line(_lmsys(i)) for i in range(3))
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    src, records, bad, _ = _read_all(path)
    assert src.format == "lmsys"
    assert not bad
    assert [r.id for r in records] == [f"{i:032x}" for i in range(3)]


def test_a_sharegpt_array_with_a_byte_order_mark_is_read_as_an_array(tmp_path: Path) -> None:
    items = [{"id": str(i), "conversations": [{"from": "human", "value": f"Frage {i}"}]} for i in range(4)]
    path = tmp_path / "sharegpt.json"
    path.write_bytes(BOM + b"\n  " + json.dumps(items, ensure_ascii=False, indent=1).encode())
    src, records, bad, _ = _read_all(path)
    assert src.format == "sharegpt"
    assert not bad
    assert [r.messages[0]["content"] for r in records] == [f"Frage {i}" for i in range(4)]


def test_a_byte_order_mark_inside_a_text_is_content(tmp_path: Path) -> None:
    # One at the start of the field is dropped (a cell of a file saved with a BOM:
    # tests/io/test_bom_in_fields.py); inside the text it is a zero-width no-break space.
    path = tmp_path / "inner.jsonl"
    path.write_bytes(_line({"prompt": "Hallo,\ufeff wie geht es dir?", "language": "de"}))
    _, records, bad, _ = _read_all(path)
    assert not bad and records[0].messages[0]["content"] == "Hallo,\ufeff wie geht es dir?"


def _truncated_parquet(path: Path, keep_bytes: int = 300) -> Path:
    good = path.with_name("intact-" + path.name)
    pq.write_table(pa.Table.from_pylist([_lmsys(i) for i in range(40)]), good)
    path.write_bytes(good.read_bytes()[:keep_bytes])
    good.unlink()
    return path


@pytest.mark.parametrize("keep_bytes", [0, 4, 300])
def test_a_truncated_parquet_input_is_one_quarantine_entry_naming_it(tmp_path: Path, keep_bytes: int) -> None:
    path = _truncated_parquet(tmp_path / "t.parquet", keep_bytes)
    for fmt in (None, "lmsys"):  # the format given: the damage is found when reading, not sniffing
        src, records, bad, _ = _read_all(path, fmt)
        assert records == [] and [(q.file, q.line) for q in bad] == [(str(path), 1)]
        assert bad[0].reason.startswith("the Parquet file is ")  # empty, or truncated or corrupt
        assert src.warnings == [f"{path}: {bad[0].reason}"]


def test_a_folder_mixing_good_and_damaged_parts_keeps_the_good_and_names_the_damaged(tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist([_lmsys(i) for i in range(12)]), folder / "a.parquet")
    bad_part = _truncated_parquet(folder / "b.parquet")
    pq.write_table(pa.Table.from_pylist([_lmsys(i) for i in range(12, 20)]), folder / "c.parquet")
    src, records, bad, _ = _read_all(folder)
    assert len(records) == 20
    assert [q.file for q in bad] == [str(bad_part)]
    assert "truncated or corrupt" in bad[0].reason and "nothing of it could be read" in bad[0].reason
    assert src.warnings == [f"{bad_part}: {bad[0].reason}"]


def test_a_folder_that_mixes_formats_is_refused_naming_each_files_format(tmp_path: Path) -> None:
    """One format applies to every file, so a mixed folder would quarantine the others' rows."""
    from tagengo.errors import InputError
    from tagengo.io.source import open_source

    (tmp_path / "a.jsonl").write_text('{"messages": [{"role": "user", "content": "hi there"}]}\n')
    (tmp_path / "b.jsonl").write_text('{"conversations": [{"from": "human", "value": "hallo"}]}\n')
    (tmp_path / "c.jsonl").write_text("not json at all\n")  # nothing readable: no vote
    with pytest.raises(InputError, match=r"different formats \(messages: a.jsonl; sharegpt: b.jsonl\)"):
        open_source(tmp_path)
    assert open_source(tmp_path, "sharegpt").format == "sharegpt"  # an explicit --format decides
    (tmp_path / "b.jsonl").unlink()
    assert open_source(tmp_path).format == "messages"


def test_invalid_utf8_names_the_byte_and_its_column(tmp_path: Path) -> None:
    from tagengo.io.source import open_source, parse_chunk

    path = tmp_path / "latin1.jsonl"
    path.write_bytes(
        b'{"messages": [{"role": "user", "content": "ok"}]}\n' + '{"prompt": "café"}\n'.encode("latin-1")
    )
    src = open_source(path, "prompts")
    bad = [q for c in src.iter_chunks(10) for q in parse_chunk(c, src.format, "x")[1]]
    assert [(q.line, q.reason) for q in bad] == [
        (1, "missing field 'prompt' (or 'text'): the prompt as a string"),
        (2, "invalid UTF-8: byte 0xe9 at column 16 (Latin-1 or another encoding?)"),
    ]


def test_a_snapshot_folder_is_read_through_its_subfolders(tmp_path):
    """A downloaded LMSYS-Chat-1M snapshot keeps its files in data/train-*.parquet: the folder
    is read through its subfolders, in path order, hidden folders left out."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tagengo.io.source import open_source

    snap = tmp_path / "lmsys-chat-1m"
    (snap / "data").mkdir(parents=True)
    (snap / ".cache").mkdir()
    rows = {
        "conversation_id": ["a"],
        "conversation": [[{"role": "user", "content": "Hallo"}]],
        "language": ["German"],
    }
    for name in ("train-00001-of-00002.parquet", "train-00000-of-00002.parquet"):
        pq.write_table(pa.table(rows), snap / "data" / name)
    pq.write_table(pa.table(rows), snap / ".cache" / "stale.parquet")
    (snap / "README.md").write_text("a dataset card")
    src = open_source(snap)
    assert [f.relative_to(snap).as_posix() for f in src.files] == [
        "data/train-00000-of-00002.parquet",
        "data/train-00001-of-00002.parquet",
    ]


@pytest.mark.parametrize(
    ("encoding", "name"), [("utf-16", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-32", "UTF-32")]
)
@pytest.mark.parametrize("gz", [False, True])
def test_a_utf16_file_is_named_as_such_not_quarantined_line_by_line(
    tmp_path: Path, encoding, name, gz
) -> None:
    # PowerShell's `>` writes UTF-16 with a byte-order mark: read as UTF-8 every line would be
    # quarantined as "invalid UTF-8", and the run would keep nothing with exit 0.
    text = '{"prompt": "Hallo, wie geht es dir?", "language": "de"}\n' * 3
    data = ("\ufeff" + text).encode("utf-16-le" if encoding == "utf-16" else encoding)
    if encoding == "utf-16-be":
        data = "\ufeff".encode("utf-16-be") + text.encode("utf-16-be")
    path = tmp_path / ("in.jsonl.gz" if gz else "in.jsonl")
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(InputError, match=rf"in\.jsonl(\.gz)?: the file is {name} .*save it as UTF-8"):
        open_source(path)
    # A UTF-8 file with its byte-order mark is fine.
    ok = tmp_path / "ok.jsonl"
    ok.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert open_source(ok).files == [ok]
