"""The README's "Using it" block runs exactly as written (issue 23 item 13).

The block is read from README.md at test time, so an edit there is what runs here. Each command
runs with ``bash -e`` in a fresh working folder holding what the block names and does not make
itself (``.venv``, a ``lmsys-chat-1m/`` snapshot laid out as ``data/train-*.parquet``, ``corpus_de/``),
with a real HTTP server on the port the README names standing in for the teacher and judge
(tests/servers/readme_teacher.py: a real teacher is not there offline). Every command must exit 0
and leave what it promises (its folder's manifest, the bench files, the HTML page)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from servers.readme_teacher import ReadmeTeacherServer

ROOT = Path(__file__).resolve().parents[2]
#: The one port the README's lines name; the test serves there or says why it cannot.
PORT = 8000
#: Rows of the bundled sample in the lmsys-chat-1m/ snapshot: enough for every language's path
#: through curate, few enough to keep the two extra curate runs short.
SNAPSHOT_ROWS = 200


def readme_block(text: str) -> list[str]:
    """The commands of the fenced block under "## Using it": one string per command, with a
    backslash-continued line joined to the next, as bash reads it."""
    section = text.split("\n## Using it\n", 1)[1].split("\n## ", 1)[0]
    m = re.search(r"```bash\n(.*?)\n```", section, re.S)
    assert m, "README.md: no ```bash block under '## Using it'"
    commands: list[str] = []
    pending = ""
    for line in m.group(1).splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        commands.append(pending + line)
        pending = ""
    assert not pending, "README.md: the 'Using it' block ends in a continued line"
    return [c for c in commands if c.strip() and not c.lstrip().startswith("#")]


def _words(command: str) -> list[str]:
    return shlex.split(command, comments=True)


def _option(words: list[str], name: str) -> str | None:
    return words[words.index(name) + 1] if name in words else None


def expected_files(command: str, where: Path) -> list[Path]:
    """What ``command`` must leave behind (besides exiting 0)."""
    words = _words(command)
    if words[:1] != ["tagengo"]:
        return []
    stage = words[1]
    out = _option(words, "--out")
    if stage == "bench":
        sub, bench = words[2], where / words[3]
        if sub == "init":
            return [bench / "ja_tagengo_mini" / "question.jsonl"]
        if sub == "answer":
            name = _option(words, "--llm-model")
            return [bench / "model_answer" / f"{name}.jsonl" if name else bench / "model_answer"]
        if sub == "judge":
            return [bench / "model_judgment"]
        return [where / str(out) / "scores.md"]
    if stage == "report":
        return [where / str(out or "report.html")]
    if stage == "route":
        return [where / str(out) / "routing.json"]
    if stage == "export":
        return [where / str(out) / "export.json"]
    if out is None:  # inspect, doctor: the exit status is the check
        return []
    return [where / out / "manifest.json"]


def test_the_block_is_parsed_as_bash_reads_it() -> None:
    text = "intro\n## Using it\n\n```bash\nsource x\ntagengo a --out o \\\n    --b c   # note\n# only a comment\n```\n"
    assert readme_block(text) == ["source x", "tagengo a --out o      --b c   # note"]
    assert expected_files("tagengo bench answer data/x --llm-model m --llm-base-url u", Path("w")) == [
        Path("w/data/x/model_answer/m.jsonl")
    ]


@pytest.fixture
def teacher() -> Iterator[ReadmeTeacherServer]:
    try:
        server = ReadmeTeacherServer(port=PORT).start()
    except OSError as e:
        pytest.fail(
            f"the README's lines name a server on localhost:{PORT}, and this test serves its stand-in "
            f"there, but the port is taken ({e}); stop what listens on {PORT} and run again"
        )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """What the block names and does not make: .venv, lmsys-chat-1m/ as the dataset's snapshot
    (data/train-*.parquet), corpus_de/ (German text files), from tagengo's bundled data."""
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    sample = ROOT / "src" / "tagengo" / "data" / "sample" / "lmsys_sample.jsonl"
    rows = [json.loads(line) for line in sample.read_text().splitlines()[:SNAPSHOT_ROWS]]
    snap = tmp_path / "lmsys-chat-1m" / "data"
    snap.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), snap / "train-00000-of-00001.parquet")
    corpus = tmp_path / "corpus_de"
    corpus.mkdir()
    (corpus / "de.txt").write_text((ROOT / "src" / "tagengo" / "data" / "corpus" / "de.txt").read_text())
    return tmp_path


@pytest.mark.slow
@pytest.mark.llm
@pytest.mark.embedder
def test_readme_using_it_block_runs_as_written(teacher: ReadmeTeacherServer, workdir: Path) -> None:
    commands = readme_block((ROOT / "README.md").read_text())
    assert commands[0] == "source .venv/bin/activate", commands[0]
    assert any(f"localhost:{PORT}/v1" in c for c in commands), f"no README line names localhost:{PORT}"
    env = {
        **os.environ,
        "VIRTUAL_ENV": str(ROOT / ".venv"),
        "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TAGENGO_CACHE_DIR"):
        env.pop(var, None)  # the lines must work without them, as for a newcomer
    for command in commands:
        start = time.monotonic()
        res = subprocess.run(
            ["bash", "-e", "-c", command], cwd=workdir, env=env, capture_output=True, text=True, timeout=900
        )
        took = time.monotonic() - start
        print(f"{took:6.1f} s  {command[:100]}", flush=True)  # with -s: where the time goes
        assert res.returncode == 0, (
            f"README.md 'Using it': `{command}` exited {res.returncode}\n"
            f"--- stdout (end) ---\n{res.stdout[-3000:]}\n--- stderr (end) ---\n{res.stderr[-3000:]}"
        )
        for path in expected_files(command, workdir):
            assert path.exists(), f"README.md 'Using it': `{command}` left no {path.relative_to(workdir)}"
    page = (workdir / "report.html").read_text()
    assert page.lstrip().lower().startswith("<!doctype html") and "ja_tagengo_mini" in page
    # The teacher and the judge were asked over HTTP, and the batch line went through a batch
    # or found every answer in the cache the online run filled.
    assert teacher.received > 0
