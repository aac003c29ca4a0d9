"""Where the runner's streaming steps run: the :class:`Executor` interface, the work it does on
one chunk, and :class:`LocalExecutor` (this process, or forked worker processes).

The runner plans a run (fingerprint, resume), hands the chunks still to do to an executor, and
finishes the folder from what comes back. An executor only maps chunks to
:class:`ChunkResult`: the same result for the same chunk wherever it ran, so outputs do not
depend on the executor or the number of workers. The Ray executor lives in
:mod:`tagengo.run.ray_executor` (Ray is an extra).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tagengo.io.source import Chunk, parse_chunk
from tagengo.records import (
    NO_LANGUAGE,
    Record,
    Rejection,
    arrow_schema,
    quarantine_to_table,
    records_to_table,
    rejections_to_table,
)
from tagengo.run.steps import Step

if TYPE_CHECKING:  # the tables are built by tagengo.records, which imports pyarrow on first use
    import pyarrow as pa


@dataclass
class ChunkResult:
    key: str
    kept: pa.Table
    rejected: pa.Table
    quarantined: pa.Table
    read: int
    steps: list[dict[str, Any]] = field(default_factory=list)  # per streaming step: in, out, langs
    #: Input lines behind the chunk (``Chunk.input_lines``); None: read + quarantined.
    lines: int | None = None


@dataclass(frozen=True)
class ChunkJob:
    """What every chunk of a run goes through: the stage, its streaming steps, the input's
    format and the source name of each input file."""

    stage: str
    steps: list[Step]
    fmt: str
    source_names: dict[str, str]


# --- one chunk (in whichever process runs it) ---------------------------------------------

_W: dict[str, Any] = {}


def init_worker(job: ChunkJob) -> None:
    """Make ``job`` this process's work. Locally the steps were set up in the main process
    before the fork: workers inherit the loaded models and never set up again (a failing setup
    in a pool initializer would make the pool respawn the worker forever)."""
    _W["job"] = job


def lang_counts(records: list[Record]) -> Counter:
    return Counter(r.language or NO_LANGUAGE for r in records)


def step_stats(
    name: str, n_in: int, n_out: int, lang_in: Counter, lang_removed: Counter, summary: dict[str, Any]
) -> dict[str, Any]:
    """One step's figures for one chunk (or the global phase); chunks' figures are added up."""
    return {
        "name": name,
        "in": n_in,
        "out": n_out,
        "lang_in": dict(lang_in),
        "lang_removed": dict(lang_removed),
        "summary": summary,
    }


def apply_steps(
    steps: list[Step], records: list[Record]
) -> tuple[list[Record], list[Rejection], list[dict[str, Any]]]:
    """Run steps in order over a list of records; return survivors, rejections, per-step stats."""
    rejected: list[Rejection] = []
    stats: list[dict[str, Any]] = []
    for step in steps:
        lang_in = lang_counts(records)
        n_in = len(records)
        records, rej = step.process(records)
        if len(records) + len(rej) != n_in:
            raise RuntimeError(
                f"step '{step.name}' returned {len(records)} kept + {len(rej)} rejected for {n_in} rows in"
            )
        rejected.extend(rej)
        removed = Counter(r.record.language or NO_LANGUAGE for r in rej)
        stats.append(step_stats(step.name, n_in, len(records), lang_in, removed, step.summary()))
    return records, rejected, stats


def work_chunk(chunk: Chunk) -> ChunkResult:
    """The result of this process's job (:func:`init_worker`) on one chunk."""
    job: ChunkJob = _W["job"]
    if not job.steps and job.fmt == "tagengo" and chunk.table is not None:
        # A dataset folder feeding only global steps (mix, dedup): its rows were validated
        # when written, so they pass as Arrow without becoming Python records and back.
        record_schema = arrow_schema("RECORD_SCHEMA")
        table = chunk.table.select(record_schema.names).cast(record_schema)
        return ChunkResult(
            key=chunk.key,
            kept=table,
            rejected=arrow_schema("REJECTED_SCHEMA").empty_table(),
            quarantined=arrow_schema("QUARANTINE_SCHEMA").empty_table(),
            read=table.num_rows,
        )
    records, bad = parse_chunk(chunk, job.fmt, job.source_names[chunk.file])
    read = len(records)
    kept, rejected, stats = apply_steps(job.steps, records)
    return ChunkResult(
        key=chunk.key,
        kept=records_to_table(kept),
        rejected=rejections_to_table(rejected, job.stage),
        quarantined=quarantine_to_table(bad),
        read=read,
        steps=stats,
        lines=chunk.input_lines,
    )


def in_process(chunks: Iterable[Chunk], job: ChunkJob) -> Iterator[ChunkResult]:
    """Each chunk's result, one after another, in this process."""
    init_worker(job)
    for chunk in chunks:
        yield work_chunk(chunk)


# --- executors ------------------------------------------------------------------------------


class Executor(ABC):
    """Runs a run's streaming steps over its chunks. ``workers``: processes or actors."""

    #: The manifest's ``executor``.
    name: str

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def prepare(self, job: ChunkJob) -> None:  # noqa: B027 - optional hook, nothing by default
        """Build what the steps need before any chunk runs (so a bad model fails now)."""

    @abstractmethod
    def map_chunks(self, chunks: Iterable[Chunk], job: ChunkJob) -> Iterator[ChunkResult]:
        """Each chunk's result as it is done, in any order (the runner orders by key)."""

    def batch_map(self) -> Any | None:
        """What a global step may map its per-row work through (None: it does it itself)."""
        return None


class LocalExecutor(Executor):
    """This machine: in this process with one worker, else in forked worker processes."""

    name = "local"

    def prepare(self, job: ChunkJob) -> None:
        # Build the streaming steps' models once, here: a bad model path or config fails now, in
        # one clear sentence, and forked workers inherit what was loaded.
        for step in job.steps:
            step.setup()

    def map_chunks(self, chunks: Iterable[Chunk], job: ChunkJob) -> Iterator[ChunkResult]:
        if self.workers <= 1:
            yield from in_process(chunks, job)
            return
        # fork: workers inherit the imported modules and the models set up in prepare().
        ctx = mp.get_context("fork")
        with contextlib.ExitStack() as shared:
            for step in job.steps:  # what the workers share (a model server) starts before they fork
                shared.enter_context(step.shared_by_workers())
            pool = shared.enter_context(ctx.Pool(self.workers, init_worker, (job,)))
            yield from pool.imap(work_chunk, chunks, chunksize=1)
