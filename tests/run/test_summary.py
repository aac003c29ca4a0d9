"""The summary a stage prints: quarantine reasons and the hint for a wrong --format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from tagengo.mix.stage import mix
from tagengo.run.runner import StageResult
from tagengo.run.summary import NothingReadable, print_stage_summary, stop_when_nothing_was_readable


def _lmsys_rows(path: Path, n: int) -> Path:
    rows = [
        {
            "conversation_id": f"c{i}",
            "conversation": [
                {"role": "user", "content": f"question {i}"},
                {"role": "assistant", "content": "a"},
            ],
            "language": "English",
        }
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _printed(result) -> str:
    console = Console(record=True, width=200)
    print_stage_summary(result, console)
    return console.export_text()


def test_a_wrong_format_names_the_reason_and_the_format_the_rows_look_like(tmp_path: Path) -> None:
    inp = _lmsys_rows(tmp_path / "log.jsonl", 6)
    text = _printed(mix(inp, tmp_path / "out", input_format="sharegpt", workers=1, progress=False))
    assert "quarantined 6 unreadable lines" in text
    assert "6 × missing field 'conversations' (a list of messages)" in text
    assert "the rows look like 'lmsys'" in text and "--format lmsys" in text


def test_no_hint_when_some_rows_were_readable_or_the_format_was_detected(tmp_path: Path) -> None:
    inp = _lmsys_rows(tmp_path / "log.jsonl", 4)
    with inp.open("a") as fh:
        fh.write("{broken\n")
    text = _printed(mix(inp, tmp_path / "out", workers=1, progress=False))
    assert "quarantined 1 unreadable line;" in text
    assert "1 × invalid JSON" in text
    assert "hint:" not in text


def test_a_run_that_keeps_nothing_says_why_and_repeated_ids_are_warned_about(tmp_path: Path) -> None:
    from tagengo.mix.config import MixConfig

    inp = _lmsys_rows(tmp_path / "log.jsonl", 3)
    # every row has the same id: mix keeps them, the summary warns
    rows = [json.loads(line) | {"conversation_id": "same"} for line in inp.read_text().splitlines()]
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    text = _printed(mix(inp, tmp_path / "out", workers=1, progress=False))
    assert "1 id is shared by more than one kept row ('same' ×3)" in text
    assert "nothing was kept" not in text
    # no English wanted: everything is rejected, and the summary names the step and reason
    res = mix(inp, tmp_path / "none", MixConfig(english=False), workers=1, progress=False)
    assert res.manifest["counts"]["kept"] == 0
    text = _printed(res)
    assert "nothing was kept: the steps rejected every row they read (the run itself worked); why:" in text
    assert "3 × " in text
    stop_when_nothing_was_readable(res)  # a run whose steps said no is no failure


def test_a_run_that_could_read_no_line_fails_with_status_2_after_writing_the_folder(
    tmp_path: Path, capsys
) -> None:
    """The newcomer's case: ShareGPT rows given as --format lmsys. Every line is quarantined; the
    folder and the hint are written, then the command fails (a script must not read it as done)."""
    from tagengo.cli import main

    inp = _lmsys_rows(tmp_path / "log.jsonl", 4)
    out = tmp_path / "out"
    assert (
        main(["curate", "--input", str(inp), "--format", "sharegpt", "--out", str(out), "--workers", "1"])
        == 2
    )
    err = capsys.readouterr().err
    assert "hint: every row was unreadable as --format sharegpt" in err
    assert (
        f"none of its lines could be read (4 quarantine entries, each with its reason in {out}/quarantine/)"
        in err
    )
    assert (out / "manifest.json").exists()
    # Readable rows, even if the steps reject them all, are a run that worked.
    with pytest.raises(NothingReadable):
        stop_when_nothing_was_readable(StageResult(out, json.loads((out / "manifest.json").read_text())))
    assert main(["curate", "--input", str(inp), "--out", str(tmp_path / "ok"), "--workers", "1"]) == 0


def test_language_counts_are_singular_and_plural_and_unlabelled_rows_are_no_language(tmp_path: Path) -> None:
    inp = _lmsys_rows(tmp_path / "log.jsonl", 3)
    rows = [json.loads(line) for line in inp.read_text().splitlines()]
    rows[2]["language"] = None  # a row without a label: counted as unlabelled, not as a language
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    # A stage with no step keeps every row as read (mix would drop the unlabelled one).
    from pydantic import BaseModel

    from tagengo.io.source import open_source
    from tagengo.run.runner import run_stage

    class Nothing(BaseModel):
        pass

    res = run_stage(
        stage="copy", config=Nothing(), source=open_source(inp), steps=[], out=tmp_path / "out", workers=1
    )
    text = _printed(res)
    assert "kept 3 rows (2 in 1 language, 1 unlabelled); rejected 0; quarantined 0 unreadable lines;" in text
    one = _lmsys_rows(tmp_path / "one.jsonl", 1)
    text = _printed(mix(one, tmp_path / "one", workers=1, progress=False))
    assert "kept 1 row in 1 language; rejected 0;" in text
    assert "languages" not in text.split("kept", 1)[1].split(";")[0]


def test_a_damaged_archive_is_said_once_and_not_called_an_unreadable_line(tmp_path: Path) -> None:
    import gzip

    plain = _lmsys_rows(tmp_path / "log.jsonl", 300).read_bytes()
    packed = gzip.compress(plain)
    cut = tmp_path / "log.jsonl.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    text = _printed(mix(cut, tmp_path / "out", workers=1, progress=False))
    assert "quarantined 1 entry (unreadable lines and damaged files)" in text
    assert "unreadable line;" not in text
    assert text.count("gzip archive is truncated or corrupt") == 1  # the warning, not the digest too


def test_a_file_in_another_charset_gets_the_encoding_hint_not_a_format_one(tmp_path: Path) -> None:
    """A Latin-1 file of prompt rows: every line is invalid UTF-8, and the hint says to convert
    it, not to pass another --format (a newcomer's trial was told 'the rows look like prompts')."""
    inp = tmp_path / "latin1.jsonl"
    rows = [{"id": f"r{i}", "prompt": f"Wie heißt die größte Straße, Nummer {i}?"} for i in range(3)]
    inp.write_bytes("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("latin-1"))
    text = _printed(mix(inp, tmp_path / "out", workers=1, progress=False))
    assert "3 × invalid UTF-8" in text
    assert "hint: the input is not UTF-8" in text and "iconv -f latin1 -t utf-8" in text
    assert "look like" not in text


def test_nothing_readable_in_parquet_says_rows(tmp_path: Path) -> None:
    """A Parquet input holds rows, not lines: the stop message says so, as the funnel does."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    inp = tmp_path / "weird.parquet"
    # LMSYS's columns with the wrong types: every row is quarantined
    pq.write_table(
        pa.table({"conversation_id": ["c1", "c2"], "conversation": ["hi", "ho"], "language": [1, 2]}), inp
    )
    result = mix(inp, tmp_path / "out", workers=1, progress=False)
    with pytest.raises(NothingReadable, match="none of its rows could be read"):
        stop_when_nothing_was_readable(result)
