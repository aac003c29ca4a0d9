"""`tagengo inspect`: the top rejection reasons of a real dedup run group by kind, with row ids
that mix letters and digits left whole (they used to be cut into "#c#b#…" and never grouped)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from tagengo.cli import main

PROMPTS = Path(__file__).parents[1] / "dedup" / "fixtures" / "prompts.jsonl"


def hex_ids_input(tmp_path: Path) -> Path:
    """The dedup fixture with ids like hashed sources carry ("7c86e98c…")."""
    out = tmp_path / "prompts.jsonl"
    lines = []
    for line in PROMPTS.read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        d["id"] = hashlib.sha1(d["id"].encode()).hexdigest()[:16]
        lines.append(json.dumps(d, ensure_ascii=False))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def reason_rows(printed: str) -> dict[str, int]:
    """reason -> rows, from the 'top rejection reasons' table."""
    rows = {}
    for line in printed.splitlines():
        m = re.match(r"\W*dedup\W+(\d+)\W+(.*?)\s*\W?\s*$", line)
        if m and "duplicate" in m[2]:
            rows[m[2]] = int(m[1])
    return rows


def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], *dedup_args: str) -> dict[str, int]:
    out = tmp_path / "out"
    code = main(
        [
            "dedup",
            "--workers",
            "1",
            "--no-progress",
            "--input",
            str(hex_ids_input(tmp_path)),
            "--out",
            str(out),
        ]
        + list(dedup_args)
    )
    assert code == 0
    capsys.readouterr()
    assert main(["inspect", str(out), "--rows", "0"]) == 0
    printed = capsys.readouterr().out
    assert "top rejection reasons" in printed and "#c#" not in printed
    return reason_rows(printed)


def test_lexical_and_exact_duplicates_group(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    # Pure MinHash: with the request check p12 (p11 with another number) stays.
    rows = run(
        tmp_path, capsys, "--method", "minhash", "--minhash-threshold", "0.7", "--minhash-ngram", "3",
        "--no-content-check",
    )  # fmt: skip
    assert rows == {
        "exact duplicate of <id> (same first user turn)": 3,
        "lexical near-duplicate of <id> (MinHash Jaccard # > #)": 1,
    }


@pytest.mark.embedder
def test_embedding_near_duplicates_group(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    # Embeddings alone decide here (the content check would keep the reworded p10/p12 apart).
    rows = run(tmp_path, capsys, "--cache-dir", str(tmp_path / "cache"), "--no-content-check")
    # p02, p10, p12 and p15 (a copy of p02, so of p01 too); p04 and p06 are copies.
    assert rows == {
        "near-duplicate of <id> (cosine # > #)": 4,
        "exact duplicate of <id> (same first user turn)": 2,
    }


def test_a_missing_folder_or_a_file_is_said_so(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "nope")]) == 2
    assert f"{tmp_path / 'nope'}: no such folder" in capsys.readouterr().err
    (tmp_path / "f.parquet").write_bytes(b"x")
    assert main(["inspect", str(tmp_path / "f.parquet")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["inspect", str(tmp_path / "empty")]) == 2
    assert "not a complete tagengo dataset folder" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--rows", "-1"], ["--reasons", "-2"], ["--rows", "-1", "--reasons", "-2"]])
def test_negative_counts_are_refused(tmp_path, capsys, args):
    (tmp_path / "ds").mkdir()
    code = main(["inspect", str(tmp_path / "ds"), *args])
    assert code == 2
    err = capsys.readouterr().err
    assert f"Invalid value for '{args[0]}'" in err and "x>=0" in err


@pytest.mark.parametrize("part", ["data", "rejected"])
def test_a_damaged_part_is_named(tmp_path, capsys, part):
    out = tmp_path / "out"
    assert (
        main(
            [
                "dedup",
                "--workers",
                "1",
                "--no-progress",
                "--method",
                "minhash",
                "--input",
                str(hex_ids_input(tmp_path)),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    capsys.readouterr()
    damaged = out / part / "part-00000.parquet"
    damaged.write_bytes(damaged.read_bytes()[:200])
    assert main(["inspect", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{damaged}: not a readable Parquet file" in err and "Traceback" not in err


def test_sample_rows_show_invisible_characters_and_print_brackets_as_text(tmp_path, capsys):
    # A right-to-left override would reverse the rest of the terminal line, a zero-width space
    # hides what is there, and "[/INST]" or "[bold]" in a prompt is no rich markup.
    prompts = [
        "Please explain \u202ehow photosynthesis works in plants and why leaves are green.",
        "What is the\u200b capital of France and why did it become the capital?",
        "Could you please explain why my chat template prints [INST] hello [/INST] and [bold]words[/bold] to the screen?",
    ]
    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join(
            json.dumps({"id": f"r{i}", "prompt": p, "language": "en"}) + "\n" for i, p in enumerate(prompts)
        )
    )
    out = tmp_path / "out"
    assert (
        main(["curate", "--input", str(src), "--format", "prompts", "--out", str(out), "--no-progress"]) == 0
    )
    capsys.readouterr()
    assert main(["inspect", str(out), "--rows", "3"]) == 0
    printed = capsys.readouterr().out
    assert "\u202e" not in printed and "\u200b" not in printed
    assert "<U+202E>how photosynthesis" in printed and "the<U+200B> capital" in printed
    assert "[INST] hello [/INST]" in printed and "[bold]words[/bold]" in printed
