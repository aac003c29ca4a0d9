"""Export writers (src/tagengo/io/writers.py) on the bundled LMSYS-schema sample's conversations:
the Arrow conversions equal a plain Python rendering of the same records, row checks name the
problem, and files are written whole or not at all."""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tagengo.curate.stage import bundled_sample
from tagengo.io.source import open_source, parse_chunk
from tagengo.io.writers import JsonlWriter, ParquetWriter, convert, merge_consecutive_turns, row_problems
from tagengo.records import Record, records_to_table


@pytest.fixture(scope="module")
def records() -> list[Record]:
    source = open_source(bundled_sample())
    out: list[Record] = []
    for chunk in source.iter_chunks(1000):
        recs, bad = parse_chunk(chunk, source.format, "lmsys-chat-1m")
        assert not bad
        out.extend(recs)
    return out


def expected(rec: Record, fmt: str) -> dict:
    """The row a trainer should read, written out by hand from the record."""
    if fmt in ("messages", "parquet"):
        row = {"messages": rec.messages}
    elif fmt == "sharegpt":
        names = {"system": "system", "user": "human", "assistant": "gpt"}
        row = {"conversations": [{"from": names[m["role"]], "value": m["content"]} for m in rec.messages]}
    else:
        row = {"instruction": rec.messages[0]["content"], "input": "", "output": rec.messages[1]["content"]}
    return {**row, "id": rec.id, "language": rec.language}


def test_the_sample_has_multi_turn_rows(records) -> None:
    assert len(records) > 400 and any(len(r.messages) > 2 for r in records)


@pytest.mark.parametrize("fmt", ["messages", "sharegpt", "parquet"])
def test_convert_equals_the_hand_rendering(fmt, records) -> None:
    table = records_to_table(records)
    assert row_problems(table, fmt) == [None] * len(records)
    assert convert(table, fmt, ["id", "language"]).to_pylist() == [expected(r, fmt) for r in records]


def test_alpaca_takes_single_turn_rows_only(records) -> None:
    table = records_to_table(records)
    problems = row_problems(table, "alpaca")
    for rec, p in zip(records, problems, strict=True):
        n = len(rec.messages)
        assert p == (None if n == 2 else f"{n} turns; alpaca holds one instruction and one output")
    single = [r for r in records if len(r.messages) == 2]
    assert convert(records_to_table(single), "alpaca", ["id", "language"]).to_pylist() == [
        expected(r, "alpaca") for r in single
    ]


def test_sliced_batches_convert_like_the_whole(records) -> None:
    """Parquet batches and filtered tables arrive sliced: offsets must not leak between rows."""
    table = records_to_table(records)
    whole = convert(table, "sharegpt", ["id"]).to_pylist()
    assert convert(table.slice(37, 50), "sharegpt", ["id"]).to_pylist() == whole[37:87]
    keep = pa.array([i % 3 == 0 for i in range(table.num_rows)])
    assert convert(table.filter(keep), "messages", ["id"]).to_pylist() == [
        {"messages": r.messages, "id": r.id} for i, r in enumerate(records) if i % 3 == 0
    ]


STARTS_WITH_ASSISTANT = (
    "starts with an assistant turn; the first turn after an optional system turn must be user"
)


def test_row_problems_name_what_is_wrong(records) -> None:
    base = records[0]
    user, answer = base.messages[0], base.messages[1]
    cases = [
        ([user], "ends with a user turn, not an assistant answer", None),
        ([user, {"role": "assistant", "content": "  \n"}], "the final assistant turn is empty", None),
        (
            [{"role": "system", "content": "Be brief."}, user, answer],
            None,
            "has a system turn (alpaca has no field for one)",
        ),
        ([{"role": "assistant", "content": "Hi."}, user, answer], STARTS_WITH_ASSISTANT, None),
        ([answer, answer], STARTS_WITH_ASSISTANT, None),
        ([user, answer], None, None),
    ]
    recs = [Record(f"r{i}", "t", "en", msgs) for i, (msgs, _, _) in enumerate(cases)]
    table = records_to_table(recs)
    msgs_problems = row_problems(table, "messages")
    alpaca_problems = row_problems(table, "alpaca")
    for (_, for_messages, for_alpaca), got_m, got_a in zip(
        cases, msgs_problems, alpaca_problems, strict=True
    ):
        assert got_m == for_messages
        assert got_a == (for_messages or for_alpaca)


def test_jsonl_writer_commits_whole_files_or_none(records, tmp_path) -> None:
    path = tmp_path / "out" / "train.jsonl"
    table = convert(records_to_table(records[:20]), "messages", ["id"])
    w = JsonlWriter(path)
    w.write(table.slice(0, 12))
    w.write(table.slice(12))
    assert not path.exists()  # nothing visible before commit
    info = w.commit()
    lines = path.read_text().splitlines()
    assert [json.loads(line) for line in lines] == table.to_pylist()
    assert info == {
        "rows": 20,
        "bytes": path.stat().st_size,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    assert [p.name for p in path.parent.iterdir()] == ["train.jsonl"]

    with pytest.raises(RuntimeError), JsonlWriter(tmp_path / "out" / "broken.jsonl") as w2:
        w2.write(table)
        raise RuntimeError("killed mid-write")
    assert [p.name for p in path.parent.iterdir()] == ["train.jsonl"]


@pytest.mark.parametrize("sep", ["\u2028", "\u2029", "\x85"])
def test_jsonl_lines_hold_no_character_that_line_based_tools_split_at(tmp_path, sep) -> None:
    # Valid raw in a JSON string, but str.splitlines(), JavaScript and many line tools end a line
    # there: the exported file must have one line per row for every reader, with the same text.
    text = f"first{sep}second, and an emoji \U0001f600 and \u00e9"
    rec = Record(
        "x1",
        "t",
        "en",
        [{"role": "user", "content": text}, {"role": "assistant", "content": sep}],
        {"k": sep},
    )
    path = tmp_path / "train.jsonl"
    w = JsonlWriter(path)
    w.write(records_to_table([rec, rec]))
    w.commit()
    raw = path.read_bytes()
    assert sep.encode() not in raw
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    row = json.loads(lines[0])
    assert row["messages"][0]["content"] == text and row["messages"][1]["content"] == sep
    assert "\U0001f600 and \u00e9".encode() in raw  # everything else stays raw UTF-8


def test_parquet_writer_round_trips_and_writes_empty_files(records, tmp_path) -> None:
    table = convert(records_to_table(records[:30]), "parquet", ["id", "language"])
    w = ParquetWriter(tmp_path / "train.parquet")
    w.write(table.slice(0, 10))
    w.write(table.slice(10))
    assert w.commit()["rows"] == 30
    back = pq.read_table(tmp_path / "train.parquet")
    assert back.to_pylist() == table.to_pylist()
    assert back.schema.field("messages").type == pa.list_(
        pa.struct([("role", pa.string()), ("content", pa.string())])
    )

    empty = ParquetWriter(tmp_path / "validation.parquet")
    empty.commit(table.schema)
    assert pq.read_table(tmp_path / "validation.parquet").schema == table.schema


def _m(*turns: str) -> list[dict[str, str]]:
    """Turns written as "role:text"."""
    return [{"role": t.split(":", 1)[0], "content": t.split(":", 1)[1]} for t in turns]


CHAT_RULES = [
    (_m("user:a", "assistant:b"), None),
    (_m("system:s", "user:a", "assistant:b", "user:c", "assistant:d"), None),
    (
        _m("user:a", "user:b", "assistant:c"),
        "two user turns in a row (turns 1 and 2); user and assistant must alternate",
    ),
    (
        _m("user:a", "assistant:b", "assistant:c"),
        "two assistant turns in a row (turns 2 and 3); user and assistant must alternate",
    ),
    (
        _m("user:a", "system:s", "assistant:b"),
        "a system turn at turn 2; only one system turn, first, is allowed",
    ),
    (
        _m("system:s", "system:t", "user:a", "assistant:b"),
        "a system turn at turn 2; only one system turn, first, is allowed",
    ),
    (_m("system:s", "assistant:b"), STARTS_WITH_ASSISTANT),
    (_m("user:", "assistant:b"), "turn 1 (user) is empty"),
    (_m("user:a", "assistant:b", "user:\u200b\u200b", "assistant:c"), "turn 3 (user) is empty"),
    (_m("user:a", "assistant:\u200b\ufeff "), "the final assistant turn is empty"),
    (_m("user:a", "assistant:b", "user:c"), "ends with a user turn, not an assistant answer"),
]


@pytest.mark.parametrize("fmt", ["messages", "sharegpt", "parquet"])
def test_every_conversation_is_checked_against_the_chat_rules(fmt) -> None:
    recs = [Record(f"r{i}", "t", "en", msgs) for i, (msgs, _) in enumerate(CHAT_RULES)]
    table = records_to_table(recs)
    assert row_problems(table, fmt) == [want for _, want in CHAT_RULES]
    # Sliced (as Parquet batches arrive): the same answers for the same rows.
    assert row_problems(table.slice(3, 5), fmt) == [want for _, want in CHAT_RULES[3:8]]


def test_merge_consecutive_joins_same_role_runs_and_nothing_else() -> None:
    recs = [Record(f"r{i}", "t", "en", msgs) for i, (msgs, _) in enumerate(CHAT_RULES)]
    merged, changed = merge_consecutive_turns(records_to_table(recs))
    rows = merged.column("messages").to_pylist()
    assert changed == 3
    assert rows[2] == _m("user:a\n\nb", "assistant:c")
    assert rows[3] == _m("user:a", "assistant:b\n\nc")
    assert rows[5] == _m("system:s\n\nt", "user:a", "assistant:b")
    untouched = [i for i in range(len(recs)) if i not in (2, 3, 5)]
    assert [rows[i] for i in untouched] == [recs[i].messages for i in untouched]
    problems = row_problems(merged, "messages")
    assert problems[2] is None and problems[3] is None and problems[5] is None
