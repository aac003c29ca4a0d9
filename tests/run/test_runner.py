"""The stage runner: reconciled counts, manifests, up-to-date detection, parallel = serial, resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import pyarrow.parquet as pq
from pydantic import BaseModel

from tagengo.io.source import open_source
from tagengo.records import Record, Rejection
from tagengo.run.dataset import read_manifest, read_records, read_table
from tagengo.run.runner import run_stage
from tagengo.run.steps import Filter, GlobalStep

HERE = Path(__file__).parent


class Cfg(BaseModel):
    modulo: int = 3
    keep_per_language: int = 1000
    slow_s: float = 0.0


class DropMultiples(Filter):
    """Drops rows whose number is a multiple of `modulo`; optionally sleeps to widen a kill window."""

    name = "drop_multiples"

    def __init__(self, cfg: Cfg) -> None:
        self.cfg = cfg

    def keep(self, row: Record) -> tuple[bool, str]:
        if self.cfg.slow_s:
            time.sleep(self.cfg.slow_s)
        n = int(row.id.split("-")[1])
        return (n % self.cfg.modulo != 0, f"{n} is a multiple of {self.cfg.modulo}")


class KeepFirstPerLanguage(GlobalStep):
    name = "keep_first"

    def __init__(self, cfg: Cfg) -> None:
        self.cfg = cfg

    def process(self, batch: list[Record]) -> tuple[list[Record], list[Rejection]]:
        seen: dict[str, int] = {}
        kept, rejected = [], []
        for r in batch:
            seen[r.language] = seen.get(r.language, 0) + 1
            if seen[r.language] <= self.cfg.keep_per_language:
                kept.append(r)
            else:
                rejected.append(Rejection(r, self.name, "over the per-language limit"))
        return kept, rejected


def write_input(path: Path, n: int, bad_every: int = 0) -> None:
    langs = ["en", "de", "ja"]
    with path.open("w") as fh:
        for i in range(n):
            if bad_every and i % bad_every == bad_every - 1:
                fh.write("{broken json\n")
                continue
            row = {
                "id": f"row-{i}",
                "messages": [{"role": "user", "content": f"prompt {i}"}],
                "language": langs[i % 3],
            }
            fh.write(json.dumps(row) + "\n")


def steps_for(cfg: Cfg) -> list:
    return [DropMultiples(cfg), KeepFirstPerLanguage(cfg)]


def run(inp: Path, out: Path, cfg: Cfg, **kw):
    return run_stage(stage="test", config=cfg, source=open_source(inp), steps=steps_for(cfg), out=out, **kw)


def test_counts_reconcile_and_manifest_is_complete(tmp_path: Path) -> None:
    inp = tmp_path / "in.jsonl"
    write_input(inp, 100, bad_every=10)
    cfg = Cfg(keep_per_language=10)
    res = run(inp, tmp_path / "out", cfg, workers=1, chunk_rows=17)
    m = res.manifest
    c = m["counts"]
    assert c["lines"] == 100
    assert c["quarantined"] == 10
    assert c["read"] == 90
    assert c["kept"] + c["rejected"] == c["read"]
    # Rows 9, 19, ... are broken; of the 90 others, the multiples of 3 are dropped.
    survivors = [i for i in range(100) if i % 10 != 9 and i % 3 != 0]
    assert m["steps"][0] == {
        **m["steps"][0],
        "name": "drop_multiples",
        "in": 90,
        "out": len(survivors),
        "removed": 90 - len(survivors),
    }
    assert (
        m["steps"][1]["name"] == "keep_first" and m["steps"][1]["out"] == 20
    )  # "en" rows are exactly the multiples of 3
    assert c["kept"] == 20
    kept = read_records(res.out)
    # Global steps see rows in input order, so the first ten of each language survive.
    expected = [f"row-{i}" for i in survivors if sum(1 for j in survivors if j <= i and j % 3 == i % 3) <= 10]
    assert sorted(r.id for r in kept) == sorted(expected)
    rejected = read_table(res.out, "rejected").to_pylist()
    assert len(rejected) == c["rejected"]
    assert {r["step"] for r in rejected} == {"drop_multiples", "keep_first"}
    assert all(r["stage"] == "test" and r["reason"] for r in rejected)
    quarantine = read_table(res.out, "quarantine").to_pylist()
    assert sorted(q["line"] for q in quarantine) == list(range(10, 101, 10))
    assert all(q["file"] == str(inp) and "invalid JSON" in q["reason"] for q in quarantine)
    assert (res.out / "funnel.md").read_text().count("|") > 10
    assert (res.out / "languages.png").stat().st_size > 1000
    assert not (res.out / ".work").exists()
    for key in (
        "stage",
        "config",
        "input_fingerprint",
        "counts",
        "steps",
        "versions",
        "started_at",
        "finished_at",
    ):
        assert key in m


def test_rerun_is_a_no_op_and_config_change_reruns(tmp_path: Path) -> None:
    inp = tmp_path / "in.jsonl"
    write_input(inp, 40)
    out = tmp_path / "out"
    first = run(inp, out, Cfg(), workers=1)
    mtime = (out / "manifest.json").stat().st_mtime_ns
    again = run(inp, out, Cfg(), workers=1)
    assert again.up_to_date and (out / "manifest.json").stat().st_mtime_ns == mtime
    changed = run(inp, out, Cfg(modulo=2), workers=1)
    assert not changed.up_to_date
    assert changed.manifest["counts"]["kept"] != first.manifest["counts"]["kept"]
    # Changing the input also reruns.
    write_input(inp, 41)
    assert not run(inp, out, Cfg(modulo=2), workers=1).up_to_date


def test_two_workers_give_the_same_folder_as_one(tmp_path: Path) -> None:
    inp = tmp_path / "in.jsonl"
    write_input(inp, 500, bad_every=37)
    cfg = Cfg(keep_per_language=50)
    one = run(inp, tmp_path / "one", cfg, workers=1, chunk_rows=40)
    two = run(inp, tmp_path / "two", cfg, workers=2, chunk_rows=40)
    for part in ("data", "rejected", "quarantine"):
        assert read_table(one.out, part).equals(read_table(two.out, part)), part
    assert one.manifest["steps"] == two.manifest["steps"]


KILL_SCRIPT = """
import sys
sys.path.insert(0, {here!r})
from test_runner import Cfg, run
from pathlib import Path
from typing import ClassVar
run(Path(sys.argv[1]), Path(sys.argv[2]), Cfg(slow_s=float(sys.argv[3])), workers=2, chunk_rows=25)
"""


def test_sigkill_midway_then_resume_equals_clean_run(tmp_path: Path) -> None:
    inp = tmp_path / "in.jsonl"
    write_input(inp, 600, bad_every=50)
    clean = run(inp, tmp_path / "clean", Cfg(slow_s=0.002), workers=2, chunk_rows=25)

    out = tmp_path / "killed"
    script = tmp_path / "kill_run.py"
    script.write_text(KILL_SCRIPT.format(here=str(HERE)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(inp), str(out), "0.002"], env=env, start_new_session=True
    )
    # Kill once some chunks are done but (almost certainly) not all.
    deadline = time.time() + 60
    chunks = out / ".work" / "chunks"
    while time.time() < deadline and proc.poll() is None:
        if chunks.exists() and len(list(chunks.glob("*.done.json"))) >= 5:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list(chunks.glob("*.done.json")))
    assert done_before >= 5
    assert read_manifest(out) is None  # an interrupted folder never looks complete
    assert not (out / "data").exists()
    for f in chunks.glob("*.parquet"):  # every part that exists is whole
        pq.read_table(f)

    resumed = run(inp, out, Cfg(slow_s=0.002), workers=2, chunk_rows=25)
    for part in ("data", "rejected", "quarantine"):
        assert read_table(resumed.out, part).equals(read_table(clean.out, part)), part
    assert resumed.manifest["counts"] == clean.manifest["counts"]


class CfgWithRunOnly(Cfg):
    run_only_fields: ClassVar[frozenset[str]] = frozenset({"slow_s"})


def test_run_only_fields_do_not_invalidate_the_output(tmp_path: Path) -> None:
    inp = tmp_path / "in.jsonl"
    write_input(inp, 30)
    out = tmp_path / "out"
    assert not run(inp, out, CfgWithRunOnly(), workers=1).up_to_date
    assert run(inp, out, CfgWithRunOnly(slow_s=0.0001), workers=1).up_to_date
    assert not run(inp, out, CfgWithRunOnly(modulo=5), workers=1).up_to_date


class CountsSetups(Filter):
    """Records every setup call (pid) in a file; refuses rows unless its "model" was built."""

    name = "counts_setups"

    def __init__(self, log: Path) -> None:
        self.log = log
        self.model: str | None = None

    def setup(self) -> None:
        with self.log.open("a") as fh:
            fh.write(f"{os.getpid()}\n")
        self.model = "loaded"

    def keep(self, row: Record) -> tuple[bool, str]:
        if self.model is None:
            raise RuntimeError("step used without setup")
        return True, ""


def test_steps_set_up_once_in_the_main_process_and_workers_inherit_them(tmp_path: Path) -> None:
    inp = tmp_path / "in.jsonl"
    write_input(inp, 50)
    log = tmp_path / "setups.log"
    res = run_stage(
        stage="test",
        config=Cfg(),
        source=open_source(inp),
        steps=[CountsSetups(log)],
        out=tmp_path / "out",
        workers=2,
        chunk_rows=10,
    )
    assert res.manifest["counts"]["kept"] == 50  # every chunk ran in a worker with the built model
    assert log.read_text().split() == [str(os.getpid())]  # one setup, here: none in a worker


def test_a_run_that_keeps_nothing_writes_a_complete_folder(tmp_path: Path) -> None:
    from folder_checks import assert_complete_folder

    # Every row dropped by the streaming step: the global step then sees no row at all.
    inp = tmp_path / "in.jsonl"
    write_input(inp, 9)
    res = run(inp, tmp_path / "none_kept", Cfg(modulo=1), workers=1)
    m = assert_complete_folder(res.out, kept=0, rejected=9, quarantined=0)
    assert [(s["name"], s["in"], s["out"]) for s in m["steps"]] == [
        ("drop_multiples", 9, 0),
        ("keep_first", 0, 0),
    ]

    # Every line unreadable.
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{broken\n" * 4)
    res = run(bad, tmp_path / "none_read", Cfg(), workers=2)
    assert_complete_folder(res.out, kept=0, rejected=0, quarantined=4)

    # A selecting global step (the Arrow fast path) after a step that left nothing.
    class SelectAll(GlobalStep):
        name = "select_all"

        def select(self, table):
            return [None] * table.num_rows

    res = run_stage(
        stage="test",
        config=Cfg(modulo=1),
        source=open_source(inp),
        steps=[DropMultiples(Cfg(modulo=1)), SelectAll()],
        out=tmp_path / "fast_path",
        workers=1,
    )
    assert_complete_folder(res.out, kept=0, rejected=9, quarantined=0)


def test_out_that_is_a_file_stops_before_any_work(tmp_path: Path) -> None:
    import pytest

    from tagengo.errors import ConfigError

    inp = tmp_path / "in.jsonl"
    write_input(inp, 10)
    for out in (tmp_path / "f", tmp_path / "f" / "sub"):
        (tmp_path / "f").write_text("not a folder")
        with pytest.raises(ConfigError, match="not a folder"):
            run(inp, out, Cfg(), workers=1)
        assert (tmp_path / "f").read_text() == "not a folder"


def test_worker_counts_below_one_are_refused(tmp_path: Path) -> None:
    import pytest

    from tagengo.errors import ConfigError

    inp = tmp_path / "in.jsonl"
    write_input(inp, 10)
    for workers in (0, -3):
        with pytest.raises(ConfigError, match=f"--workers is {workers}; give 1 or more"):
            run(inp, tmp_path / "out", Cfg(), workers=workers)
        assert read_manifest(tmp_path / "out") is None


def test_out_that_holds_the_input_is_refused_and_the_input_survives(tmp_path: Path) -> None:
    """`mix --input D --out D` (or any --out above the input) must not overwrite what it reads."""
    import pytest

    from tagengo.errors import ConfigError

    inp = tmp_path / "in.jsonl"
    write_input(inp, 10)
    first = run(inp, tmp_path / "d", Cfg(), workers=1)
    dataset_bytes = {p: p.read_bytes() for p in first.out.rglob("*.parquet")}
    assert dataset_bytes
    # the dataset folder itself, the folder above it, and the folder that holds a JSONL input
    for source, out in ((first.out, first.out), (first.out, tmp_path), (inp, tmp_path)):
        with pytest.raises(ConfigError, match="would overwrite the input"):
            run_stage(stage="test", config=Cfg(), source=open_source(source), steps=steps_for(Cfg()), out=out)
    assert {p: p.read_bytes() for p in first.out.rglob("*.parquet")} == dataset_bytes
    assert inp.exists()
    # a sibling folder is fine
    assert read_manifest(
        run_stage(
            stage="test",
            config=Cfg(),
            source=open_source(first.out),
            steps=steps_for(Cfg()),
            out=tmp_path / "e",
            workers=1,
        ).out
    )


def test_another_stages_finished_folder_is_not_replaced_without_force(tmp_path: Path) -> None:
    """`tagengo dedup --out` pointed at a finished generate folder silently replaced the paid
    answers: another stage's folder is refused (its files untouched) unless --force."""
    import pytest

    from tagengo.errors import ConfigError

    inp = tmp_path / "in.jsonl"
    write_input(inp, 40)
    out = tmp_path / "out"
    first = run_stage(stage="other", config=Cfg(), source=open_source(inp), steps=steps_for(Cfg()), out=out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(ConfigError, match=r"holds a finished `other` folder .* --force"):
        run(inp, out, Cfg(), workers=1)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    replaced = run(inp, out, Cfg(), workers=1, force=True)
    assert replaced.manifest["stage"] == "test" != first.manifest["stage"]
    # The same stage into its own folder still re-runs on a new config, as before.
    assert not run(inp, out, Cfg(modulo=2), workers=1).up_to_date
