"""Fingerprints of what the data stages write, so a refactor can show it changed no output.

Runs curate (without its dedup step), dedup, mix, generate (against the echo server of
tests/servers, a real HTTP server on 127.0.0.1) and export on the bundled sample into one fixed
folder (/tmp/tagengo-identical, wiped first: the funnel and the card name their input's path), and prints one line per written file: its path under the run folder and a sha256.

Two fingerprints per Parquet file, because a byte change can have two causes:

* ``bytes``: the sha256 of the file as written;
* ``table``: the sha256 of its table, rows and schema, written to an Arrow IPC stream with the
  key-value metadata dropped, so that a writer's version string or a timestamp in the footer
  would not count as a change of data (the byte hash shows whether one happened).

Every other file (funnel.md/json, languages.csv/md/png, the dedup report, export's JSONL, card
and configs) is hashed as bytes, except the manifests (``manifest.json``, export's ``export.json``):
they hold clock readings and package versions, which are left out (``VOLATILE``) before hashing.

    .venv/bin/python scripts/check_identical.py > before.txt
    ... change the code ...
    .venv/bin/python scripts/check_identical.py > after.txt && diff before.txt after.txt
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the loopback servers live with the tests

#: Folders whose Parquet files are rows (kept, rejected, set aside for a look).
PARQUET_DIRS = ("data", "rejected", "quarantine")
#: Where the stages write (wiped first); a path as the first argument replaces it.
DEFAULT_ROOT = Path("/tmp/tagengo-identical")
#: generate's answer cache, outside the wiped folder: a run before a change and one after read the
#: same stored answers (a request the change altered misses it, and shows as ``cached: false``).
LLM_CACHE = Path("/tmp/tagengo-identical-answers.sqlite")
#: The manifests (a stage's, export's), and the keys of theirs that change from run to run.
MANIFESTS = ("manifest.json", "export.json")
VOLATILE = frozenset({"started_at", "finished_at", "duration_s", "seconds", "versions", "rows_per_s"})
#: A fixed port: the card and the manifest name the teacher's URL.
ECHO_PORT = 47613


def table_digest(path: Path) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    table = table.replace_schema_metadata(None)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue()).hexdigest()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _steady(value: object) -> object:
    if isinstance(value, dict):
        return {k: _steady(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_steady(v) for v in value]
    return value


def manifest_digest(path: Path) -> str:
    """The sha256 of a manifest without its clock readings and package versions."""
    data = _steady(json.loads(path.read_text(encoding="utf-8")))
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def fingerprint(root: Path) -> list[str]:
    lines = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        stage_dir, _, inner = rel.partition("/")
        if stage_dir == "cache":
            continue
        if path.suffix == ".parquet" and inner.split("/")[0] in PARQUET_DIRS:
            lines.append(f"{rel} bytes={file_digest(path)} table={table_digest(path)}")
        elif path.name in MANIFESTS:
            lines.append(f"{rel} steady={manifest_digest(path)}")
        else:  # the funnel, the language tables and charts, the reports, export's files
            lines.append(f"{rel} bytes={file_digest(path)}")
    return lines


def run_stages(root: Path) -> None:
    from servers.echo_chat import EchoChatServer
    from tagengo.curate.stage import curate, preset_config
    from tagengo.dedup.stage import dedup
    from tagengo.dedup.stage import preset_config as dedup_preset
    from tagengo.generate.config import GenerateConfig
    from tagengo.generate.stage import generate
    from tagengo.mix.config import ExportConfig, MixConfig
    from tagengo.mix.export import export
    from tagengo.mix.stage import mix

    cache = str(root / "cache")
    curate(
        None, root / "1-curate", preset_config("default", dedup={"enabled": False}), progress=False, workers=1
    )
    dedup(
        root / "1-curate",
        root / "2-dedup",
        dedup_preset("default", cache_dir=cache, report=True),
        progress=False,
    )
    mix(root / "2-dedup", root / "3-mix", MixConfig(recipe="sampled", per_language=3), progress=False)
    with EchoChatServer(port=ECHO_PORT) as server:
        cfg = GenerateConfig(backend="openai", model="echo", base_url=server.url, cache_path=str(LLM_CACHE))
        # A first pass fills the answer cache (kept between runs of this script); the measured pass
        # reads every answer from it, so meta.generation (latency_s, cached) is the same each time.
        generate(root / "3-mix", root / "cache" / "fill", cfg, progress=False)
        generate(root / "3-mix", root / "4-generate", cfg, progress=False)
    export(root / "4-generate", root / "5-export", ExportConfig(validation=0.2), progress=False)


def main(argv: list[str]) -> int:
    # One fixed folder, not a fresh temporary name: the funnel and the card name their input's path.
    root = Path(argv[0] if argv else DEFAULT_ROOT)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    run_stages(root)
    print("\n".join(fingerprint(root)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
