"""Steps: the small, pure pieces a stage is made of.

A step knows nothing of files or executors. The runner feeds it batches of records and
collects what it keeps and what it rejects (with a reason). Two shapes:

* streaming steps (``Filter``, ``BatchFilter``, ``Mapper``, or any ``Step`` with
  ``process``): they see one batch at a time and may run in several worker processes;
* global steps (``GlobalStep``): they need every surviving row of the stage at once
  (per-language sampling, near-duplicate removal). The runner collects the survivors of
  the streaming steps before them and runs them in the main process.

Expensive models (language ID, tokenizer, embedder, LLM client) are built in ``setup``,
which the runner calls once, in the main process, before it forks its workers: they inherit
the loaded models (so what setup builds must survive a fork; steps that start threads run
with one worker, as generation does).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tagengo.records import Record, Rejection

if TYPE_CHECKING:
    import pyarrow as pa


class Step:
    """Base class. Subclasses set ``name`` and implement ``process`` (or use a helper base)."""

    name: str = "step"
    #: True for steps that need all rows at once (see module doc).
    is_global: bool = False

    def setup(self) -> None:
        """Build expensive resources. Called once, in the main process, before the first batch."""

    def process(self, batch: list[Record]) -> tuple[list[Record], list[Rejection]]:
        raise NotImplementedError

    def shared_by_workers(self) -> contextlib.AbstractContextManager[None]:
        """Entered by the local runner around its pool of forked workers, after ``setup``: a
        step may start there what the workers should share rather than each build (a process
        serving a model that loads lazily). Default: nothing."""
        return contextlib.nullcontext()

    def summary(self) -> dict:
        """Extra figures for the manifest (e.g. per-language LID removal), JSON-serialisable,
        covering the batches processed since the previous call (then reset them). The runner
        calls it after every chunk, stores it with the chunk (so a resumed run still has it)
        and adds chunks' summaries together with ``merge_summaries``."""
        return {}

    @staticmethod
    def merge_summaries(a: dict, b: dict) -> dict:
        """Combine two workers' summaries. Default: add numbers key by key, recursively."""
        out = dict(a)
        for k, v in b.items():
            if k in out and isinstance(v, dict) and isinstance(out[k], dict):
                out[k] = Step.merge_summaries(out[k], v)
            elif k in out and isinstance(v, int | float) and isinstance(out[k], int | float):
                out[k] = out[k] + v
            else:
                out[k] = v
        return out

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class Filter(Step):
    """A row-level filter: implement ``keep(row) -> (keep?, reason)``; reason is shown for drops."""

    def keep(self, row: Record) -> tuple[bool, str]:
        raise NotImplementedError

    def process(self, batch: list[Record]) -> tuple[list[Record], list[Rejection]]:
        kept: list[Record] = []
        rejected: list[Rejection] = []
        for row in batch:
            ok, reason = self.keep(row)
            if ok:
                kept.append(row)
            else:
                rejected.append(Rejection(row, self.name, reason))
        return kept, rejected


class BatchFilter(Step):
    """A filter that decides a whole batch in one call (e.g. one vectorised LID call)."""

    def keep_batch(self, batch: Sequence[Record]) -> list[tuple[bool, str]]:
        raise NotImplementedError

    def process(self, batch: list[Record]) -> tuple[list[Record], list[Rejection]]:
        kept: list[Record] = []
        rejected: list[Rejection] = []
        for row, (ok, reason) in zip(batch, self.keep_batch(batch), strict=True):
            if ok:
                kept.append(row)
            else:
                rejected.append(Rejection(row, self.name, reason))
        return kept, rejected


class Mapper(Step):
    """Changes rows, drops none."""

    def map(self, row: Record) -> Record:
        raise NotImplementedError

    def process(self, batch: list[Record]) -> tuple[list[Record], list[Rejection]]:
        return [self.map(r) for r in batch], []


class GlobalStep(Step):
    """A step that needs every surviving row at once. Implement ``process`` over all rows.

    A step that decides from a few columns and changes no row may also implement ``select``:
    the runner then hands it the Arrow table and never builds Python records for it, which
    matters at a million rows.
    """

    is_global = True
    #: Set by the runner under ``--executor ray`` (a ``tagengo.run.ray_executor.RayBatchMap``),
    #: None otherwise: a step may map its per-row work (embedding) through it, while it decides
    #: in the driver, over all rows, as it would locally.
    batch_map: Any = None
    #: The columns ``select`` reads, for a step that decides from those alone. When every global
    #: step of a run names its columns, the runner reads only them into memory and streams the
    #: rows past the decisions chunk by chunk: memory then does not grow with the rows' text.
    select_columns: tuple[str, ...] | None = None

    def select(self, table: pa.Table) -> list[str | None] | None:
        """Optional fast path: one reason per row (None keeps it), or None to use ``process``."""
        return None
