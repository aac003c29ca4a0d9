"""What the readers say about odd inputs: a line cut off with CRLF endings is called cut off,
LMSYS's ``"turn": "1"`` is read as the number it spells, and a Parquet input's funnel counts
rows, not lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tagengo.io.source import open_source, parse_chunk
from tagengo.io.text import cut_off_reason, parse_json_line
from tagengo.run.funnel import funnel_markdown


def _read(path: Path, fmt: str):
    src = open_source(path, fmt)
    records, bad = [], []
    for chunk in src.iter_chunks(10):
        r, q = parse_chunk(chunk, src.format, "x")
        records += r
        bad += q
    return records, bad


def _lmsys(cid: str, **over) -> dict:
    row = {
        "conversation_id": cid,
        "model": "vicuna-13b",
        "conversation": [{"role": "user", "content": "Wie entsteht Regen?"}],
        "turn": 1,
        "language": "German",
    }
    return {**row, **over}


@pytest.mark.parametrize("end", [b"\r\n", b"\n"])
def test_a_line_cut_off_inside_a_string_is_called_cut_off(tmp_path: Path, end: bytes) -> None:
    # With CRLF the open string swallows the \r and the parser blamed a "control character".
    good = json.dumps(_lmsys("a")).encode() + end
    cut = b'{"conversation_id":"broken","conversation":[{"role":"user","content":"abgeschn' + end
    path = tmp_path / "in.jsonl"
    path.write_bytes(good + cut + good.replace(b'"a"', b'"b"'))
    records, bad = _read(path, "lmsys")
    assert [r.id for r in records] == ["a", "b"]
    assert [(q.file, q.line, q.field) for q in bad] == [(str(path), 2, None)]
    assert "invalid JSON: line looks cut off: an unterminated string at the end of the line" in bad[0].reason


def test_a_line_cut_off_between_values_and_other_bad_json() -> None:
    assert "closing brackets" in (cut_off_reason(b'{"a": [1, 2\r\n') or "")
    assert cut_off_reason(b'{"a": "b\x01c"}\r\n') is None  # a control character mid-line is no cut
    assert cut_off_reason(b'{"a": 1}}\n') is None
    assert parse_json_line(b'{"a": "b\r\n')[1] == (
        "not valid JSON: line looks cut off: an unterminated string at the end of the line"
    )


def test_lmsys_turn_given_as_a_numeric_string_is_read_as_its_number(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    rows = [_lmsys("s", turn="1"), _lmsys("t", turn=" 2 "), _lmsys("w", turn="one"), _lmsys("f", turn=1.5)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    records, bad = _read(path, "lmsys")
    assert [(r.id, r.meta["turn"]) for r in records] == [("s", 1), ("t", 2)]
    assert [(q.line, q.field, q.reason) for q in bad] == [
        (3, "turn", "field 'turn' should be an integer, got a string"),
        (4, "turn", "field 'turn' should be an integer, got a number"),
    ]


def _manifest(files: list[str]) -> dict:
    return {
        "stage": "curate",
        "input": {"path": "in", "format": "wildchat", "files": files},
        "counts": {"read": 7, "quarantined": 5, "lines": 12, "kept": 7, "rejected": 0},
        "steps": [],
    }


@pytest.mark.parametrize(
    ("files", "said"),
    [
        (["in/w.parquet"], "12 rows: 7 read"),
        (["in/w.jsonl"], "12 lines: 7 read"),
        (["in/a.jsonl", "in/b.parquet"], "12 records: 7 read"),
        ([], "12 lines: 7 read"),
    ],
)
def test_the_funnel_counts_a_parquet_inputs_rows_not_lines(files: list[str], said: str) -> None:
    assert said in funnel_markdown(_manifest(files))


def test_the_stage_summary_of_a_parquet_input_says_unreadable_rows(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from rich.console import Console

    from tagengo.mix.stage import mix
    from tagengo.run.summary import print_stage_summary

    # A string column of turns: "1" is read as 1 now, "one" is still unreadable.
    rows = [_lmsys(f"c{i}", turn="1") for i in range(3)] + [_lmsys("bad", turn="one")]
    path = tmp_path / "log.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    result = mix(path, tmp_path / "out", input_format="lmsys", workers=1, progress=False)
    console = Console(record=True, width=200)
    print_stage_summary(result, console)
    text = console.export_text()
    assert "quarantined 1 unreadable row;" in text
    assert "4 rows: 3 read, 1 quarantined" in (result.out / "funnel.md").read_text()
