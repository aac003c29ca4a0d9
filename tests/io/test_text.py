"""Reading the labelled JSONL sets we ship (langid evaluation, dedup calibration)."""

from __future__ import annotations

import pytest

from tagengo.io.text import BOM, read_labelled_jsonl


def test_rows_are_read_with_a_bom_and_blank_lines(tmp_path):
    p = tmp_path / "set.jsonl"
    p.write_bytes(BOM + b'{"kind": "a", "text": "x"}\n\n{"kind": "b", "text": "y"}\n')
    assert read_labelled_jsonl(p, ("kind", "text"), ("a", "b")) == [
        {"kind": "a", "text": "x"},
        {"kind": "b", "text": "y"},
    ]


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", r"set.jsonl:2: not valid JSON"),
        ('["a", "x"]', r"set.jsonl:2: expected a JSON object"),
        ('{"kind": "a", "text": 3}', r"set.jsonl:2: field 'text' missing or not a string"),
        ('{"kind": "c", "text": "x"}', r"set.jsonl:2: kind must be one of a, b, not 'c'"),
    ],
)
def test_a_bad_line_names_file_line_and_field(tmp_path, line, message):
    p = tmp_path / "set.jsonl"
    p.write_text('{"kind": "a", "text": "x"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_labelled_jsonl(p, ("kind", "text"), ("a", "b"))
