"""The client's progress: answers done/total, rate, ETA, output tokens/s, spend, failures.

One display per client for its whole life: a stage that calls ``chat_many`` once per chunk
sees one bar whose total grows chunk by chunk, not a new bar per chunk. On a terminal rich
draws it from its own refresh thread; elsewhere (stderr redirected to a file, CI logs) the
client writes plain lines instead (tagengo.io.progress_lines: one every
``TAGENGO_PROGRESS_INTERVAL`` seconds and one at the end of each phase, a phase being the
calls under one ``desc``). Either way the client only bumps counters per answer (microseconds
per call). Nothing appears until something has to be called: a run replayed wholly from the
cache shows none.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from tagengo.io.progress_lines import InFlight, LineProgress, live_terminal


class CallProgress:
    def __init__(self, enabled: bool, console: Console | None = None):
        self.enabled = enabled
        self._console = console
        self._progress: Progress | None = None
        self._task = None
        self._total = 0
        self._done = 0
        self._terminal: bool | None = None  # decided when the first call is needed
        self._lines: LineProgress | None = None
        self._tok_s = 0.0
        self._spend = 0.0
        self._failed = 0
        #: The calls sent and not yet answered (the client marks them): a progress line written
        #: while none finishes says how many there are and how long the oldest has waited.
        self.in_flight = InFlight()

    def add(self, desc: str, total: int, already_done: int, *, calls_needed: bool) -> None:
        """A new ``chat_many`` of ``total`` requests, ``already_done`` of them from the cache."""
        self._total += total
        self._done += already_done
        if not self.enabled:
            return
        if self._terminal is None and calls_needed:
            self._terminal = live_terminal(self._console)
        if self._terminal is False:
            self._add_lines(desc or "LLM calls", total, already_done, calls_needed)
        elif self._progress is None and calls_needed:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[tok_s]:,.0f} tok/s"),
                TextColumn("spent {task.fields[spend]:.4f}"),
                TextColumn("[red]{task.fields[failed]} failed"),
                console=self._console or Console(stderr=True),
                refresh_per_second=4,
            )
            self._task = self._progress.add_task(
                desc or "LLM calls", total=self._total, completed=self._done, tok_s=0.0, spend=0.0, failed=0
            )
            self._progress.start()
        elif self._progress is not None:
            self._progress.update(
                self._task, total=self._total, completed=self._done, description=desc or "LLM calls"
            )

    def _add_lines(self, desc: str, total: int, already_done: int, calls_needed: bool) -> None:
        lines = self._lines
        if lines is not None and lines.description != desc:
            lines.close()  # a new phase: the last one ends with its line
            lines = self._lines = None
        if lines is None:
            if not calls_needed:
                return  # a batch replayed from the cache is no phase worth a line
            stream = self._console.file if self._console is not None else None
            lines = self._lines = LineProgress(
                desc, 0, stream=stream, fields=self._fields, in_flight=self.in_flight.snapshot
            )
        lines.total = (lines.total or 0) + total
        lines.skip(already_done)

    def _fields(self) -> str:
        return f"{self._tok_s:,.0f} tok/s · spent {self._spend:.4f} · {self._failed} failed"

    def advance(self, *, tok_s: float, spend: float, failed: int) -> None:
        self._done += 1
        if self._lines is not None:
            self._tok_s, self._spend, self._failed = tok_s, spend, failed
            self._lines.advance()
        elif self._progress is not None:
            self._progress.update(self._task, advance=1, tok_s=tok_s, spend=spend, failed=failed)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if self._lines is not None:
            self._lines.close()
            self._lines = None
