"""`tagengo generate` sends its first request before it imports pyarrow, numpy or the end of run's
modules (pandas, matplotlib, lid.176's fasttext): they are imported while the calls are in flight
(tagengo.records, tagengo.run.warm; docs/benchmarks.md, "generate"), and a missing pyarrow still
stops the run before any call."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

#: Runs the `tagengo` program in a fresh interpreter and notes which of ``LATE`` were imported
#: when the process first connected to the server's port (the audit event of socket.connect:
#: no wrapping of tagengo's own code). argv: port, where to write the note, NONE, tagengo's args;
#: NONE "pyarrow" makes pyarrow missing (as ``import`` sees an uninstalled package).
CHILD = """
import json, sys
port, note, missing = int(sys.argv[1]), sys.argv[2], sys.argv[3]
LATE = ("pyarrow", "numpy", "pandas", "matplotlib", "fasttext")
seen = {}
def hook(event, args):
    if event == "socket.connect" and "at_first_connect" not in seen:
        address = args[1]
        if isinstance(address, tuple) and len(address) >= 2 and address[1] == port:
            seen["at_first_connect"] = sorted(m for m in LATE if m in sys.modules)
sys.addaudithook(hook)
if missing:
    sys.modules[missing] = None
import tagengo.cli
seen["exit"] = tagengo.cli.main(sys.argv[4:])
seen["at_end"] = sorted(m for m in LATE if m in sys.modules)
open(note, "w").write(json.dumps(seen))
"""


def _prompts(path: Path, n: int) -> Path:
    with path.open("w") as f:
        for i in range(n):
            f.write(
                json.dumps({"id": f"p{i}", "prompt": f"Say one thing about {i}.", "language": "en"}) + "\n"
            )
    return path


def _generate(server, tmp_path: Path, missing: str = "") -> tuple[dict, subprocess.CompletedProcess]:
    port = int(server.url.split(":")[-1].split("/")[0])
    note = tmp_path / "note.json"
    args = [
        "generate", "--input", str(_prompts(tmp_path / "p.jsonl", 12)), "--out", str(tmp_path / "out"),
        "--base-url", server.url, "--model", "m", "--concurrency", "4", "--no-progress",
        "--cache-path", str(tmp_path / "cache.sqlite"),
    ]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(port), str(note), missing, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return (json.loads(note.read_text()) if note.exists() else {}), proc


def test_the_first_request_leaves_before_pyarrow_and_the_end_of_run_modules_are_imported(
    fake_server, tmp_path
):
    server = fake_server(latency_s=0.05)
    seen, proc = _generate(server, tmp_path)
    assert seen.get("exit") == 0, proc.stderr[-3000:]
    assert seen["at_first_connect"] == [], f"imported before the first request: {seen['at_first_connect']}"
    # ... and imported afterwards, to write the folder: every row is there.
    assert "pyarrow" in seen["at_end"]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["counts"]["read"] == 12
    assert manifest["counts"]["kept"] + manifest["counts"]["rejected"] == 12


def test_without_pyarrow_the_run_stops_before_any_call_saying_what_to_install(fake_server, tmp_path):
    server = fake_server(latency_s=0.0)
    seen, proc = _generate(server, tmp_path, missing="pyarrow")
    assert seen.get("exit") == 2, proc.stderr[-3000:]
    assert "pyarrow is not installed" in proc.stderr
    assert "pip install pyarrow" in proc.stderr
    assert "at_first_connect" not in seen  # never connected: nothing paid for
    assert server.stats.received == 0
    assert not (tmp_path / "out" / "manifest.json").exists()


@pytest.mark.parametrize("name", ["RECORD_SCHEMA", "REJECTED_SCHEMA", "QUARANTINE_SCHEMA"])
def test_the_schemas_built_on_first_use_are_the_same_objects_every_time(name):
    import tagengo.records as records

    assert getattr(records, name) is records.arrow_schema(name)
    assert records.arrow_schema(name).metadata == {b"tagengo.schema_version": b"1"}
