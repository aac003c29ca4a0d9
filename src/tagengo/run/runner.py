"""The stage runner: reader -> steps -> dataset folder, in parallel, resumable, reconciled.

How a run goes:

1. The run's fingerprint is a hash of the stage name, the resolved config, the step names
   and the input's content hash. A complete output folder with the same fingerprint means
   there is nothing to do.
2. The input is cut into deterministic chunks. Worker processes decode each chunk, convert
   rows to records (bad ones are quarantined) and run the streaming steps. Each finished
   chunk is written to ``out/.work/chunks/`` as Parquet, then marked done with a small JSON
   file holding its counts. A killed run resumes from the chunks already marked done.
3. Global steps (per-language cap, near-duplicate removal) then see all survivors at once,
   in the main process, in a fixed order (chunk order, then row order) so results do not
   depend on the number of workers.
4. The final folder is assembled under ``.work/final``, swapped into place, and
   ``manifest.json`` is written last: it is the mark of a complete folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from tagengo import __version__
from tagengo.errors import ConfigError
from tagengo.io.parquet import read_parquet
from tagengo.io.source import Source
from tagengo.records import NO_LANGUAGE, SCHEMA_VERSION, arrow_schema
from tagengo.run.dataset import (
    MANIFEST,
    SUBDIRS,
    PartWriter,
    atomic_write_json,
    check_out_folder,
    read_manifest,
)
from tagengo.run.executors import ChunkJob, ChunkResult, Executor, LocalExecutor
from tagengo.run.executors import step_stats as step_stats_of
from tagengo.run.manifest import STAGE_PACKAGES, package_versions
from tagengo.run.steps import Step

if TYPE_CHECKING:  # imported once the first chunk is written (tagengo.records builds the schemas)
    import pyarrow as pa


@dataclass
class StageResult:
    out: Path
    manifest: dict[str, Any]
    up_to_date: bool = False  # True when a complete, identical output was found and nothing ran


# --- main side -------------------------------------------------------------------------


def _fingerprint(stage: str, config: BaseModel, steps: list[Step], input_fp: str) -> str:
    import hashlib

    payload = json.dumps(
        {
            "stage": stage,
            "schema": SCHEMA_VERSION,
            # Settings a config marks as run-only (concurrency, budget ...) do not change results.
            "config": config.model_dump(mode="json", exclude=set(getattr(config, "run_only_fields", ()))),
            "steps": [s.name for s in steps],
            "input": input_fp,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _mergestep_stats_of(acc: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not acc:
        return [dict(s, lang_in=dict(s["lang_in"]), lang_removed=dict(s["lang_removed"])) for s in new]
    for a, b in zip(acc, new, strict=True):
        a["in"] += b["in"]
        a["out"] += b["out"]
        for key in ("lang_in", "lang_removed"):
            for lang, n in b[key].items():
                a[key][lang] = a[key].get(lang, 0) + n
        a["summary"] = Step.merge_summaries(a["summary"], b["summary"])
    return acc


class _Progress:
    """A rich progress bar on a terminal; plain lines every ``TAGENGO_PROGRESS_INTERVAL`` seconds
    where stderr is a log (tagengo.io.progress_lines); nothing when not ``enabled``."""

    def __init__(self, enabled: bool, description: str, total: int | None) -> None:
        from tagengo.io.progress_lines import LineProgress, live_terminal

        self._bar = None
        self._lines: LineProgress | None = None
        if enabled and not live_terminal():
            self._lines = LineProgress(description, total, unit="rows")
        elif enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("rows {task.fields[rows]:,} · {task.fields[rate]} rows/s"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                transient=False,
            )
            self._task = self._bar.add_task(description, total=total, rows=0, rate="-")
            self._bar.start()
            self._start = time.perf_counter()
            self._rows = 0

    def advance(self, rows: int) -> None:
        if self._lines is not None:
            self._lines.advance(rows)
        if self._bar is None:
            return
        self._rows += rows
        rate = self._rows / max(time.perf_counter() - self._start, 1e-9)
        self._bar.update(self._task, advance=1, rows=self._rows, rate=f"{rate:,.0f}")

    def close(self, stopped: bool = False) -> None:
        if self._lines is not None:
            self._lines.close(stopped=stopped)
        if self._bar is not None:
            self._bar.stop()


def _write_chunk(chunks_dir: Path, res: ChunkResult) -> dict[str, Any]:
    from tagengo.run.dataset import write_parquet_atomic

    for kind, table in (("kept", res.kept), ("rejected", res.rejected), ("quarantined", res.quarantined)):
        if table.num_rows:
            write_parquet_atomic(chunks_dir / f"{res.key}.{kind}.parquet", table)
    done = {
        "key": res.key,
        "read": res.read,
        "kept": res.kept.num_rows,
        "rejected": res.rejected.num_rows,
        "quarantined": res.quarantined.num_rows,
        "lines": res.read + res.quarantined.num_rows if res.lines is None else res.lines,
        "steps": res.steps,
    }
    # The .done file is written last: a chunk without one is redone on resume.
    atomic_write_json(chunks_dir / f"{res.key}.done.json", done)
    return done


def _iter_chunk_tables(
    chunks_dir: Path, keys: list[str], kind: str, columns: list[str] | None = None
) -> Iterator[pa.Table]:
    for key in keys:
        path = chunks_dir / f"{key}.{kind}.parquet"
        if path.exists():
            yield read_parquet(path, columns=columns)


def _write_chunks(
    writer: PartWriter, chunks_dir: Path, keys: list[str], kind: str, whole: bool = True
) -> None:
    """Every chunk's ``kind`` table, in key order, into ``writer``. One chunk file that is the
    whole of what ``writer`` gets (``whole``) is copied as its one part, byte for byte what
    decoding and encoding it again gave (``PartWriter.take_file``): a run of one chunk
    (`tagengo generate` of up to 5,000 rows) spent 0.1 s of CPU after its last answer on that."""
    files = [p for key in keys if (p := chunks_dir / f"{key}.{kind}.parquet").exists()]
    if whole and len(files) == 1 and writer.take_file(files[0]):
        return
    for f in files:
        writer.write(read_parquet(f))


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def _check_out_is_not_input(out: Path, source: Source) -> None:
    """Refuse an ``--out`` folder that holds the input: the stage would overwrite what it reads."""
    where = out.resolve()
    for f in source.files:
        if where == f.resolve() or where in f.resolve().parents:
            raise ConfigError(
                f"--out {out} holds the input file {f}: writing the output there would overwrite "
                "the input. Give --out a new folder."
            )


def _check_pyarrow() -> None:
    """Refuse to start without pyarrow. It is imported when the first chunk is written, not
    before (tagengo.records: `tagengo generate` sends its first request without waiting 0.15-0.2 s
    for it), so a missing one would be found only after the calls of a chunk were paid for."""
    import importlib.util

    if importlib.util.find_spec("pyarrow") is None:
        raise ConfigError(
            "pyarrow is not installed, and every stage writes its dataset folder with it: "
            "install it (pip install pyarrow) and run again."
        )


def run_stage(
    *,
    stage: str,
    config: BaseModel,
    source: Source,
    steps: list[Step],
    out: str | os.PathLike[str],
    workers: int | None = None,
    chunk_rows: int = 5_000,
    rows_per_part: int = 100_000,
    progress: bool | None = None,
    force: bool = False,
    log: Callable[[str], None] | None = None,
    extra_manifest: dict[str, Any] | None = None,
    executor: str = "local",
    ray_address: str | None = None,
) -> StageResult:
    """Run ``steps`` over ``source`` and write a complete dataset folder at ``out``.

    Re-running with the same input, config and steps does nothing (``up_to_date``) unless
    ``force``. A killed run resumes from its finished chunks. Streaming steps run in
    ``workers`` processes (default: one per core); global steps run after them in order.
    ``executor="ray"`` runs the streaming steps in ``workers`` Ray Data actors instead (on the
    cluster at ``ray_address``, see :mod:`tagengo.run.ray_executor`); the outputs are the same.

    Three parts: :func:`_plan` (fingerprint, up to date?, resume), :func:`_execute` (the
    streaming steps on an :class:`~tagengo.run.executors.Executor`), :func:`_finish` (global
    steps, the folder, its manifest).
    """
    plan = _plan(stage, config, source, steps, out, workers=workers, force=force, log=log)
    if isinstance(plan, StageResult):
        return plan
    runner = _executor(executor, plan.workers, ray_address)
    _execute(plan, runner, chunk_rows, True if progress is None else progress)
    return _finish(plan, runner, rows_per_part, extra_manifest)


@dataclass
class _Plan:
    """What a run that has work to do knows before any chunk runs."""

    stage: str
    config: BaseModel
    source: Source
    out: Path
    say: Callable[[str], None]
    started: datetime
    t0: float
    input_fp: str
    fp: str
    work: Path
    #: The streaming steps (before the first global step) and the global ones.
    streaming: list[Step]
    global_steps: list[Step]
    workers: int
    #: Chunk key -> its .done.json (counts, per-step figures): resumed ones, then each finished.
    done: dict[str, dict[str, Any]]

    @property
    def chunks_dir(self) -> Path:
        return self.work / "chunks"

    def job(self) -> ChunkJob:
        names = {str(f): self.source.name_for(f) for f in self.source.files}
        return ChunkJob(self.stage, self.streaming, self.source.format, names)


def _plan(
    stage: str,
    config: BaseModel,
    source: Source,
    steps: list[Step],
    out: str | os.PathLike[str],
    *,
    workers: int | None,
    force: bool,
    log: Callable[[str], None] | None,
) -> _Plan | StageResult:
    """Check ``out``, fingerprint the run, and return the finished folder when it is up to date;
    else prepare ``out/.work`` (kept when it is this run's, to resume) and return the plan."""
    out = check_out_folder(out)
    _check_out_is_not_input(out, source)
    _check_pyarrow()
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers is {workers}; give 1 or more worker processes (or leave it out).")
    say = log or (lambda msg: print(msg, file=sys.stderr))
    started = datetime.now(UTC)
    t0 = time.perf_counter()

    input_fp = source.fingerprint()
    fp = _fingerprint(stage, config, steps, input_fp)
    previous = read_manifest(out)
    if previous and previous.get("stage") not in (None, stage) and not force:
        # Re-running a stage into its own folder replaces it (a new config, a new input); another
        # stage's finished output is work the user may not get back (paid teacher answers).
        raise ConfigError(
            f"--out {out} holds a finished `{previous['stage']}` folder (finished at "
            f"{previous.get('finished_at')}); writing `{stage}` there would replace it. Give --out a "
            "new folder, or pass --force to replace it."
        )
    if previous and previous.get("fingerprint") == fp and not force:
        say(
            f"{out}: up to date (same input and config as the run of {previous.get('finished_at')}); nothing to do."
        )
        return StageResult(out, previous, up_to_date=True)

    work = out / ".work"
    state_path = work / "state.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else None
    if state is None or state.get("fingerprint") != fp or force:
        shutil.rmtree(work, ignore_errors=True)
    (work / "chunks").mkdir(parents=True, exist_ok=True)
    atomic_write_json(state_path, {"fingerprint": fp, "stage": stage, "started_at": started.isoformat()})

    n_streaming = next((i for i, s in enumerate(steps) if s.is_global), len(steps))
    done: dict[str, dict[str, Any]] = {}
    for f in (work / "chunks").glob("*.done.json"):
        d = json.loads(f.read_text())
        done[d["key"]] = d
    if done:
        say(f"{out}: resuming; {len(done)} chunk(s) already done.")
    return _Plan(
        stage, config, source, out, say, started, t0, input_fp, fp, work,
        streaming=steps[:n_streaming],
        global_steps=steps[n_streaming:],
        workers=workers or default_workers(),
        done=done,
    )  # fmt: skip


def _executor(kind: str, workers: int, ray_address: str | None) -> Executor:
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "ray":
        from tagengo.run.ray_executor import RayExecutor

        return RayExecutor(workers, ray_address)
    raise ValueError(f"executor must be 'local' or 'ray', not {kind!r}")


def _execute(plan: _Plan, executor: Executor, chunk_rows: int, progress: bool) -> None:
    """Run the streaming steps over every chunk not done yet on ``executor``; write each result
    under ``.work/chunks`` (marked done last) as it comes back."""
    job = plan.job()
    todo = (c for c in plan.source.iter_chunks(chunk_rows) if c.key not in plan.done)
    executor.prepare(job)
    bar = _Progress(progress, f"{plan.stage}: reading + filtering", None)
    try:
        with contextlib.closing(executor.map_chunks(todo, job)) as results:
            for res in results:
                d = _write_chunk(plan.chunks_dir, res)
                plan.done[d["key"]] = d
                bar.advance(d["read"] + d["quarantined"])
    except BaseException:
        bar.close(stopped=True)  # interrupted or failed: its last line must not say "done"
        raise
    bar.close()


def _finish(
    plan: _Plan, executor: Executor, rows_per_part: int, extra_manifest: dict[str, Any] | None
) -> StageResult:
    """Global steps over the survivors, the final folder swapped into place, its manifest last."""
    keys = sorted(plan.done)
    counts, step_stats = _chunk_totals(plan, keys)
    final = plan.work / "final"
    kept, rejected = _assemble(plan, executor, keys, step_stats, final, rows_per_part)
    counts["kept"] = kept
    counts["rejected"] = rejected
    if counts["kept"] + counts["rejected"] != counts["read"]:
        raise RuntimeError(f"counts do not reconcile: {counts}")
    manifest = _manifest(plan, executor, counts, step_stats, final, extra_manifest)

    # Swap into place: the old manifest goes first, so a crash mid-swap never leaves a
    # manifest pointing at half-replaced data; the new one is written last.
    out = plan.out
    (out / MANIFEST).unlink(missing_ok=True)
    for sub in SUBDIRS:
        shutil.rmtree(out / sub, ignore_errors=True)
        os.replace(final / sub, out / sub)
    from tagengo.run.funnel import write_stage_reports

    write_stage_reports(out, manifest)
    atomic_write_json(out / MANIFEST, manifest)
    shutil.rmtree(plan.work, ignore_errors=True)
    return StageResult(out, manifest)


def _chunk_totals(plan: _Plan, keys: list[str]) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Rows read and quarantined over every chunk, and the streaming steps' figures added up."""
    counts = {"read": 0, "quarantined": 0, "lines": 0}
    step_stats: list[dict[str, Any]] = []
    for key in keys:
        d = plan.done[key]
        counts["read"] += d["read"]
        counts["quarantined"] += d["quarantined"]
        # A chunk finished by an older version (resumed) has no "lines": one row per line then.
        counts["lines"] += d.get("lines", d["read"] + d["quarantined"])
        if d["steps"]:
            step_stats = _mergestep_stats_of(step_stats, d["steps"])
    if not step_stats:  # no chunk had rows: still list every streaming step, with zeros
        step_stats = [step_stats_of(s.name, 0, 0, Counter(), Counter(), {}) for s in plan.streaming]
    return counts, step_stats


def _assemble(
    plan: _Plan,
    executor: Executor,
    keys: list[str],
    step_stats: list[dict[str, Any]],
    final: Path,
    rows_per_part: int,
) -> tuple[int, int]:
    """Write ``final``'s data/, rejected/ and quarantine/ from the chunks in key order, the
    survivors through the global steps first (their figures appended to ``step_stats``).
    Returns the rows kept and rejected."""
    chunks_dir = plan.chunks_dir
    shutil.rmtree(final, ignore_errors=True)
    data_w = PartWriter(final / "data", arrow_schema("RECORD_SCHEMA"), rows_per_part)
    rej_w = PartWriter(final / "rejected", arrow_schema("REJECTED_SCHEMA"), rows_per_part)
    quar_w = PartWriter(final / "quarantine", arrow_schema("QUARANTINE_SCHEMA"), rows_per_part)
    # Global steps add rejected rows of their own after these: then the chunks' are re-encoded.
    _write_chunks(rej_w, chunks_dir, keys, "rejected", whole=not plan.global_steps)
    _write_chunks(quar_w, chunks_dir, keys, "quarantined")
    if plan.global_steps:
        # Here, not at the top: it imports pyarrow.compute (0.05 s), which a stage without
        # global steps never needs, and generate would pay before its first call.
        from tagengo.run.global_steps import run_global_steps, selected_columns, stream_selected

        batch_map = executor.batch_map()
        for step in plan.global_steps:
            step.batch_map = batch_map
        names = ", ".join(s.name for s in plan.global_steps)
        columns = selected_columns(plan.global_steps)
        if columns is not None:

            def chunks(cols: list[str] | None) -> Iterator[pa.Table]:
                return _iter_chunk_tables(chunks_dir, keys, "kept", cols)

            def announce(n: int) -> None:
                plan.say(f"{plan.stage}: {n:,} rows through {names} ...")

            stream_selected(
                plan.stage, plan.global_steps, columns, chunks, step_stats, data_w, rej_w, announce
            )
        else:
            import pyarrow as pa

            tables = list(_iter_chunk_tables(chunks_dir, keys, "kept"))
            survivors = pa.concat_tables(tables) if tables else arrow_schema("RECORD_SCHEMA").empty_table()
            plan.say(f"{plan.stage}: {survivors.num_rows:,} rows through {names} ...")
            data_w.write(run_global_steps(plan.stage, plan.global_steps, survivors, step_stats, rej_w))
    else:
        _write_chunks(data_w, chunks_dir, keys, "kept")
    for w in (data_w, rej_w, quar_w):
        w.close()
    return data_w.rows, rej_w.rows


def _manifest(
    plan: _Plan,
    executor: Executor,
    counts: dict[str, int],
    step_stats: list[dict[str, Any]],
    final: Path,
    extra_manifest: dict[str, Any] | None,
) -> dict[str, Any]:
    """The run's ``manifest.json``: what ran on what, the counts, each step's figures, the
    languages in and kept, the files (of ``final``, about to be swapped in) and the times."""
    first_in = step_stats[0]["lang_in"] if step_stats else {}
    kept_by_lang: Counter = Counter()
    for t in _iter_parts(final / "data"):
        kept_by_lang.update(lang or NO_LANGUAGE for lang in t.column("language").to_pylist())
    languages = {
        lang: {"in": first_in.get(lang, 0), "kept": kept_by_lang.get(lang, 0)}
        for lang in set(first_in) | set(kept_by_lang)
    }
    source = plan.source
    finished = datetime.now(UTC)
    # The input's missing shards and damaged files (io/source.py), then the models a server answered
    # with in place of the one asked for (a gateway's fallback), then one answer many prompts got
    # (a canned reply); printed by summary.py. Imported here: curate and dedup never load llm/.
    from tagengo.llm.accounting import mid_sentence_warnings, same_answer_warnings, served_model_warnings

    warnings = list(getattr(source, "warnings", None) or [])
    for s in step_stats:
        models = (s["summary"] or {}).get("models") or {}
        warnings += (
            served_model_warnings(models) + same_answer_warnings(models) + mid_sentence_warnings(models)
        )
    return {
        "stage": plan.stage,
        "tagengo_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "fingerprint": plan.fp,
        "input_fingerprint": plan.input_fp,
        "input": {"path": str(source.path), "format": source.format, "files": [str(f) for f in source.files]},
        **({"warnings": warnings} if warnings else {}),
        "config": plan.config.model_dump(mode="json"),
        "counts": counts,
        "steps": [
            {
                "name": s["name"],
                "in": s["in"],
                "out": s["out"],
                "removed": s["in"] - s["out"],
                "removed_by_language": s["lang_removed"],
                "in_by_language": s["lang_in"],
                **({"summary": s["summary"]} if s["summary"] else {}),
            }
            for s in step_stats
        ],
        "languages": dict(sorted(languages.items(), key=lambda kv: (-kv[1]["kept"], kv[0]))),
        "files": {sub: sorted(p.name for p in (final / sub).glob("*.parquet")) for sub in SUBDIRS},
        "workers": plan.workers,
        "executor": executor.name,
        "started_at": plan.started.isoformat(),
        "finished_at": finished.isoformat(),
        "duration_s": round(time.perf_counter() - plan.t0, 3),
        "versions": package_versions(*STAGE_PACKAGES),
        **(extra_manifest or {}),
    }


def _iter_parts(directory: Path) -> Iterator[pa.Table]:
    for f in sorted(directory.glob("part-*.parquet")):
        yield read_parquet(f, columns=["language"])
