"""`tagengo reverse` through the CLI: --help, errors in one sentence, and the bundled SmolLM2
in-process end to end (quality aside: the point is that every call goes through the client
layer and every row ends kept or rejected with its reason and meta)."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from tagengo.reverse.corpus import bundled_corpus, split_fragments


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tagengo.cli", "reverse", *args], capture_output=True, text=True
    )


def test_help_shows_every_option_with_its_default() -> None:
    r = _cli("--help")
    assert r.returncode == 0
    for text in ("--min-score", "[default: 3]", "--mode", "roundtrip", "--task-types", "--language"):
        assert text in r.stdout
    for text in ("--judge-model", "--judge-base-url", "--translator-model", "--translator-backend"):
        assert text in r.stdout


def test_missing_language_is_one_sentence(tmp_path) -> None:
    r = _cli("--out", str(tmp_path / "o"), "--model", "m")
    assert r.returncode == 2 and "give the corpus language with --language" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.llm
def test_the_bundled_model_runs_the_whole_pipeline(tmp_path) -> None:
    corpus = tmp_path / "de.txt"
    frags = [t for _, t in split_fragments(bundled_corpus("de").read_text())][:2]
    corpus.write_text("\n\n".join(frags) + "\n")
    out = tmp_path / "out"
    r = _cli(
        "--input", str(corpus), "--out", str(out), "--language", "de", "--backend", "llamacpp",
        "--n-ctx", "1024", "--n-threads", "2", "--max-tokens", "32", "--instruction-max-tokens", "24",
        "--judge-max-tokens", "16", "--reask", "0", "--cache-path", str(tmp_path / "c.sqlite"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["read"] == 2
    assert manifest["counts"]["kept"] + manifest["counts"]["rejected"] == 2
    rows = [
        row
        for sub in ("data", "rejected")
        for f in (out / sub).glob("*.parquet")
        for row in pq.read_table(f).to_pylist()
    ]
    for row in rows:
        info = json.loads(row["meta"])["reverse"]
        calls = info["calls"]["translate_fragment"]
        assert calls and calls[0]["model"] and len(calls[0]["key"]) == 64 and calls[0]["output_tokens"] > 0
        assert row["messages"][-1] == {"role": "assistant", "content": frags[int(row["id"] != "de-L1")]}
        assert row.get("reason", "kept")  # a rejected pair says why
    assert (out / "lambda.md").exists() and (out / "lambda.png").exists()


def test_workers_without_ray_is_one_sentence(tmp_path) -> None:
    """Locally one process makes the calls: --workers would be accepted and ignored, so it is refused."""
    r = _cli("--out", str(tmp_path / "o"), "--language", "de", "--workers", "2")
    assert r.returncode == 2 and "--workers needs --executor ray" in r.stderr
    assert "Traceback" not in r.stderr
