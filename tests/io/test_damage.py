"""Damaged input files (io/damage.py) and missing shards (io/shards.py): what could be read is
kept, the damage is one quarantine entry naming the file and how far reading got, the source
warns naming the file, and a stage's counts still reconcile."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from tagengo.io.shards import missing_shards
from tagengo.io.source import open_source, parse_chunk

N = 400


def _rows(n: int = N, start: int = 0) -> list[dict]:
    return [
        {"id": f"r{i}", "prompt": f"Schreibe ein kurzes Gedicht über das Meer, Nummer {i}."}
        for i in range(start, start + n)
    ]


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


COMPRESS = {
    "gz": gzip.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "zst": lambda b: pa.compress(b, codec="zstd", asbytes=True),
}


def _read(path: Path):
    src = open_source(path)
    records, bad, lines = [], [], 0
    for chunk in src.iter_chunks(50):
        lines += len(chunk) + len(chunk.problems)
        r, q = parse_chunk(chunk, src.format, src.name_for(Path(chunk.file)))
        records += r
        bad += q
    return src, records, bad, lines


@pytest.mark.parametrize("ext", list(COMPRESS))
def test_every_compression_reads_whole(tmp_path, ext):
    path = tmp_path / f"p.jsonl.{ext}"
    path.write_bytes(COMPRESS[ext](_jsonl(_rows())))
    src, records, bad, _ = _read(path)
    assert (len(records), bad, src.warnings) == (N, [], [])


@pytest.mark.parametrize("ext", ["gz", "xz"])  # bzip2 and zstd decode in blocks: a cut loses the block
def test_a_truncated_archive_keeps_the_lines_before_the_cut_and_names_the_file(tmp_path, ext):
    data = COMPRESS[ext](_jsonl(_rows()))
    path = tmp_path / f"p.jsonl.{ext}"
    path.write_bytes(data[: len(data) // 2])
    src, records, bad, lines = _read(path)
    assert 0 < len(records) < N
    (damage,) = bad
    assert (damage.file, damage.line) == (str(path), len(records) + 1)
    kind = {"gz": "gzip", "xz": "xz"}[ext]
    assert damage.reason.startswith(
        f"the {kind} archive is truncated or corrupt after line {len(records):,} ("
    )
    assert f"the {len(records):,} lines before were read, the rest of the file is lost" in damage.reason
    assert src.warnings == [f"{path}: {damage.reason}"]
    assert lines == len(records) + len(bad)  # the damaged rest is one quarantined entry


@pytest.mark.parametrize("ext", list(COMPRESS))
def test_a_cut_off_archive_of_any_kind_is_named_never_read_as_complete(tmp_path, ext):
    data = COMPRESS[ext](_jsonl(_rows()))
    path = tmp_path / f"p.jsonl.{ext}"
    path.write_bytes(data[: len(data) // 2])
    src, records, bad, _ = _read(path)
    assert len(records) < N and len(bad) == 1 and "truncated or corrupt" in bad[0].reason
    assert src.warnings and src.warnings[0].startswith(f"{path}: ")


HTML = b"<!DOCTYPE html>\n<html><head><title>429 Too Many Requests</title></head></html>\n"


@pytest.mark.parametrize("name", ["train-00000-of-00001.parquet", "p.jsonl.gz", "p.jsonl.zst", "a.json.xz"])
def test_an_html_error_page_saved_under_a_data_name_is_named_as_such(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(HTML)
    src, records, bad, _ = _read(path)
    assert records == [] and [(q.file, q.line) for q in bad] == [(str(path), 1)]
    assert "is an HTML page, not data" in bad[0].reason and "Download it again" in bad[0].reason
    assert src.warnings == [f"{path}: {bad[0].reason}"]


@pytest.mark.parametrize("name", ["p.parquet", "p.jsonl.gz", "p.jsonl.bz2", "p.json.zst"])
def test_a_zero_byte_archive_or_parquet_file_is_damage(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    src, records, bad, _ = _read(path)
    assert records == [] and len(bad) == 1
    assert bad[0].reason.endswith(
        "is empty (0 bytes), as an interrupted download or copy leaves it; nothing was read. Download or copy it again."
    )


def test_a_zero_byte_jsonl_is_a_file_of_no_rows(tmp_path):
    (path := tmp_path / "p.jsonl").write_bytes(b"")
    src, records, bad, _ = _read(path)
    assert (records, bad, src.warnings) == ([], [], [])


def test_parquet_damaged_in_a_later_row_group_keeps_the_rows_before_and_says_how_many_are_lost(tmp_path):
    path = tmp_path / "p.parquet"
    pq.write_table(pa.Table.from_pylist(_rows()), path, row_group_size=100, compression="none")
    data = bytearray(path.read_bytes())
    meta = pq.ParquetFile(path).metadata
    col = meta.row_group(2).column(1)  # the prompt column of the third row group
    start = col.data_page_offset
    data[start : start + 64] = b"\xff" * 64  # a page header no reader can parse
    path.write_bytes(bytes(data))
    src, records, bad, _ = _read(path)
    assert len(records) == 200
    (damage,) = bad
    assert damage.line == 201
    assert "the Parquet file is truncated or corrupt after row 200 (" in damage.reason
    assert "200 of its 400 rows are lost" in damage.reason


def test_a_truncated_json_array_archive_is_named(tmp_path):
    data = gzip.compress(json.dumps(_rows()).encode())
    (path := tmp_path / "p.json.gz").write_bytes(data[: len(data) // 2])
    src, records, bad, _ = _read(path)
    assert records == [] and "gzip archive is truncated or corrupt" in bad[0].reason


# --- missing shards ------------------------------------------------------------------------


def test_missing_shards_are_named_by_number():
    files = [Path(f"/d/train-{i:05d}-of-00006.parquet") for i in (0, 1, 3, 5)]
    files += [Path(f"/d/test-{i:05d}-of-00002-abcdef{i}.parquet") for i in (0, 1)]  # complete, hashes differ
    (warning,) = missing_shards(files)
    assert warning.startswith(
        "/d: 2 of the 6 shards train-*-of-00006.parquet are missing (number 00002, 00004);"
    )
    assert "only the 4 present were read" in warning


def test_shards_numbered_from_one_and_jsonl_names():
    files = [Path(f"/d/part-{i:03d}-of-004.jsonl.gz") for i in (1, 2, 4)]
    assert missing_shards(files) == [
        "/d: 1 of the 4 shards part-*-of-004.jsonl.gz is missing (number 003); only the 3 present were read. "
        "Download the missing shards (an interrupted download leaves such gaps), or ignore this if you left "
        "them out on purpose."
    ]
    assert missing_shards([Path(f"/d/part-{i}-of-2.jsonl") for i in (0, 1)]) == []


def test_a_stage_warns_of_missing_shards_and_damage_and_its_counts_reconcile(tmp_path):
    """curate over a downloaded folder: shard 1 of 4 missing, shard 2 cut off mid-download."""
    from tagengo.cli import cli
    from tagengo.run.dataset import read_manifest, read_table

    folder = tmp_path / "download" / "data"
    folder.mkdir(parents=True)
    for i in (0, 2, 3):
        data = gzip.compress(_jsonl(_rows(40, start=100 * i)))
        if i == 2:
            data = data[: len(data) // 2]
        (folder / f"train-{i:05d}-of-00004.jsonl.gz").write_bytes(data)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["curate", "--input", str(folder.parent), "--out", str(out), "--workers", "1", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    m = read_manifest(out)
    cut = folder / "train-00002-of-00004.jsonl.gz"
    shard_warning, damage_warning = m["warnings"]
    assert "1 of the 4 shards train-*-of-00004.jsonl.gz is missing (number 00001)" in shard_warning
    assert damage_warning.startswith(f"{cut}: the gzip archive is truncated or corrupt after line ")
    c = m["counts"]
    assert c["read"] + c["quarantined"] == c["lines"] and c["kept"] + c["rejected"] == c["read"]
    assert c["quarantined"] == 1 and 80 < c["read"] < 120
    (q,) = read_table(out, "quarantine").to_pylist()
    assert (q["file"], q["reason"]) == (str(cut), damage_warning.split(": ", 1)[1])
    said = "".join(result.output.split())  # the terminal folds long lines, even inside a path
    for warning in m["warnings"]:
        assert "".join(f"warning: {warning}".split()) in said


def test_mix_keeps_the_shard_warnings_of_each_input(tmp_path):
    """mix concatenates several inputs into one source: each input's warnings go with it."""
    from tagengo.mix.stage import combined_source

    for name, have in (("a", (0, 2)), ("b", (1,))):
        (folder := tmp_path / name).mkdir()
        for i in have:
            (folder / f"train-{i}-of-3.jsonl").write_bytes(_jsonl(_rows(2, start=10 * i)))
    src = combined_source([tmp_path / "a", tmp_path / "b"])
    assert [w.split(": ", 1)[0] for w in src.warnings] == [str(tmp_path / "a"), str(tmp_path / "b")]
    assert "(number 1)" in src.warnings[0] and "(number 0, 2)" in src.warnings[1]


def test_translate_and_reverse_sources_keep_the_damage_their_files_report(tmp_path):
    """translate wraps the reader's source and reverse reads corpora its own way: the warning
    for a cut archive must still reach their source (and so the run's manifest)."""
    from tagengo.reverse.corpus import open_corpus
    from tagengo.translate.config import TranslateConfig
    from tagengo.translate.expand import ParallelSource

    data = gzip.compress(_jsonl(_rows()))
    cut = tmp_path / "prompts.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    parallel = ParallelSource.over(open_source(cut), TranslateConfig(to=["fr"], source_language="de"), None)
    corpus = open_corpus(cut)
    for src in (parallel, corpus):
        assert src.warnings == []
        for _ in src.iter_chunks(50):
            pass
        (warning,) = src.warnings
        assert warning.startswith(f"{cut}: the gzip archive is truncated or corrupt after line ")
