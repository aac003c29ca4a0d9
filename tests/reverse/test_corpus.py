"""The corpus reader: fragments from plain text, JSONL and Parquet; bad bytes quarantined."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tagengo.errors import InputError
from tagengo.io.source import parse_chunk
from tagengo.reverse.corpus import bundled_corpus, open_corpus, split_fragments


def read(path):
    src = open_corpus(path)
    records, bad = [], []
    for chunk in src.iter_chunks(2):
        r, b = parse_chunk(chunk, src.format, "corpus")
        records += r
        bad += b
    return records, bad


def test_blank_lines_split_fragments_and_ids_name_the_line():
    text = "first line\nstill first\n\n\n  \nsecond\n\nthird\n"
    assert list(split_fragments(text)) == [(1, "first line\nstill first"), (6, "second"), (8, "third")]


def test_text_file_becomes_one_record_per_fragment(tmp_path):
    f = tmp_path / "de.txt"
    f.write_text("Erster Absatz.\n\nZweiter\nAbsatz.\n\nDritter.\n")
    records, bad = read(f)
    assert bad == []
    assert [(r.id, r.messages[0]["content"]) for r in records] == [
        ("de-L1", "Erster Absatz."),
        ("de-L3", "Zweiter\nAbsatz."),
        ("de-L6", "Dritter."),
    ]


def test_invalid_utf8_quarantines_its_fragment_only(tmp_path):
    f = tmp_path / "x.txt"
    f.write_bytes(b"good one\n\nbad \xff byte\n\nanother good\n")
    records, bad = read(f)
    assert [r.messages[0]["content"] for r in records] == ["good one", "another good"]
    assert [(q.line, q.reason) for q in bad] == [(3, "invalid UTF-8 in fragment")]


def test_jsonl_and_parquet_rows_use_the_text_field(tmp_path):
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"id": "j1", "text": "Hallo Welt", "language": "de"}) + "\n" + '{"id": "j2"}\n'
    )
    pq.write_table(pa.table({"id": ["p1"], "text": ["Bonjour"]}), tmp_path / "b.parquet")
    records, bad = read(tmp_path)
    assert [(r.id, r.language, r.messages[0]["content"]) for r in records] == [
        ("j1", "de", "Hallo Welt"),
        ("p1", None, "Bonjour"),
    ]
    assert [(q.line, q.field) for q in bad] == [(2, "text")]


def test_bundled_corpus_has_five_languages_of_24_fragments():
    files = sorted(bundled_corpus().glob("*.txt"))
    assert [f.stem for f in files] == ["de", "es", "fr", "it", "ja"]
    for f in files:
        assert len(list(split_fragments(f.read_text()))) == 24
    with pytest.raises(InputError, match="no 'sv' text"):
        bundled_corpus("sv")


def test_unsupported_file_is_one_sentence(tmp_path):
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(InputError, match="unsupported corpus file"):
        open_corpus(tmp_path / "x.csv")


def test_fragment_lines_count_newlines_only():
    """U+2028 (a line separator JSON and text may hold raw), U+0085 and a form feed stay inside
    their line: the line numbers are the ones an editor shows."""
    from tagengo.reverse.corpus import split_fragments

    text = "Erste Zeile\u2028noch die erste\n\nZweiter Absatz\x85mit NEL\n\x0c\nDritter\n"
    assert list(split_fragments(text)) == [
        (1, "Erste Zeile\u2028noch die erste"),
        (3, "Zweiter Absatz\x85mit NEL"),
        (5, "Dritter"),
    ]
