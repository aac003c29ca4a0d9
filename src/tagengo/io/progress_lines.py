"""Progress as plain lines, for a stderr that is not a terminal (CI logs, ``nohup``, ``2> log``).

A rich bar redraws itself in place; written to a file it shows nothing until the end (rich
prints only its final state there), so a ten-minute run looked dead. Where stderr is not a
terminal, long work prints instead one line at most every ``interval`` seconds, and one at the
end of each phase, with done/total, rate and ETA::

    generate: 1,200/5,000 (24.0%) · 3.21/s · 6:13 elapsed · ETA 19:43 · 812 tok/s · spent 0.0412

The interval is ``TAGENGO_PROGRESS_INTERVAL`` (seconds, default 15). Never a line per item:
``advance`` only adds to a counter and reads the monotonic clock; the line is formatted and
written only when one is due.

A line is due on time also while nothing finishes: with only ``advance`` to write them, one
25 s call printed nothing for 25 s. A timer thread per phase writes the due line then, and
says for how long nothing finished (and, given ``in_flight`` - an :class:`InFlight`'s
``snapshot`` - how many items are under way and how long the oldest has waited). Intervals
under ``TIMER_MIN_INTERVAL_S`` (tests set tiny ones to see a line per item) get no timer.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

#: Environment variable holding the seconds between two progress lines.
INTERVAL_ENV = "TAGENGO_PROGRESS_INTERVAL"
DEFAULT_INTERVAL_S = 15.0


#: Below this interval no timer thread runs: lines come from ``advance`` only (a test's tiny
#: interval would otherwise have a thread writing a line every wake-up).
TIMER_MIN_INTERVAL_S = 1.0


def progress_interval() -> float:
    """Seconds between two progress lines: ``TAGENGO_PROGRESS_INTERVAL``, else 15.

    A value that is not a positive number is ignored (the default is used): a typo in an
    environment variable should not stop a run."""
    raw = os.environ.get(INTERVAL_ENV)
    if raw:
        try:
            value = float(raw)
        except ValueError:
            return DEFAULT_INTERVAL_S
        if value > 0 and math.isfinite(value):
            return value
    return DEFAULT_INTERVAL_S


def live_terminal(console: Console | None = None) -> bool:
    """Whether a live bar can redraw itself on ``console`` (default: a console on stderr).

    Rich's own test (a TTY, ``TTY_COMPATIBLE=1``, ``force_terminal``; Jupyter draws too), except
    that ``FORCE_COLOR`` alone, which asks for colour and is often set in CI, does not make a
    log file a terminal: there a bar would print nothing until the end."""
    if console is None:
        from rich.console import Console

        console = Console(stderr=True)
    if console.is_jupyter:
        return True
    if not console.is_terminal:
        return False
    if getattr(console, "_force_terminal", None) is not None or os.environ.get("TTY_COMPATIBLE") == "1":
        return True
    isatty = getattr(console.file, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # a closed file (the end of a pytest run)
        return False


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class InFlight:
    """The items under way (calls sent, no answer yet), for a progress line written while none
    finishes: ``start()`` gives a ticket, ``end(ticket)`` returns it, ``snapshot()`` is (how
    many are under way, when the oldest started or None) on ``clock``. Thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._now = clock
        self._started: dict[int, float] = {}
        self._next = 0
        self._lock = threading.Lock()

    def start(self) -> int:
        with self._lock:
            self._next += 1
            self._started[self._next] = self._now()
            return self._next

    def end(self, ticket: int) -> None:
        with self._lock:
            self._started.pop(ticket, None)

    def snapshot(self) -> tuple[int, float | None]:
        with self._lock:  # dicts keep insertion order: the first left is the oldest
            return len(self._started), next(iter(self._started.values()), None)


class LineProgress:
    """One phase of work (``description``, ``total`` items; total may grow) reported as lines.

    ``advance(n)`` counts; a line is written when ``interval`` seconds passed since the last
    one (or since the start) and by ``close()`` at the end of the phase (when any item was
    counted). ``fields`` (optional) returns extra text for a line (tokens/s, spend ...): it is
    called only when a line is written. ``stream`` defaults to ``sys.stderr`` at write time.
    Rate and ETA count the items done in this phase only: ``skip(n)`` counts items that
    needed no work (replayed from a cache) towards done/total but not the rate."""

    def __init__(
        self,
        description: str,
        total: int | None = None,
        *,
        unit: str = "",
        stream: TextIO | None = None,
        interval: float | None = None,
        fields: Callable[[], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        in_flight: Callable[[], tuple[int, float | None]] | None = None,
        timer: bool | None = None,
    ) -> None:
        self.description = description
        self.total = total
        self.unit = unit
        self.done = 0
        self.lines = 0
        self._skipped = 0
        self._stream = stream
        self.interval = progress_interval() if interval is None else interval
        self._fields = fields
        self._now = clock
        self._start = clock()
        self._due = self._start + self.interval
        self._closed = False
        self._lock = threading.Lock()
        self._in_flight = in_flight
        self._last_done_at = self._start  # when an item last finished (or the phase began)
        self._stop = threading.Event()
        # The timer reads the real clock; with a test's hand-moved clock it runs only when asked.
        if timer is None:
            timer = clock is time.monotonic
        if timer and self.interval >= TIMER_MIN_INTERVAL_S:
            self._start_timer()

    def _start_timer(self) -> None:
        """A daemon thread that writes the due line while nothing is counted. It holds the
        progress weakly, so a phase dropped without ``close()`` does not keep it alive."""
        ref, stop = weakref.ref(self), self._stop
        wake = min(self.interval / 4, 1.0)  # a due line is at most this late

        def tick() -> None:
            while not stop.wait(wake):
                progress = ref()
                if progress is None:
                    return
                if progress._now() >= progress._due:
                    progress._maybe_line()
                del progress

        threading.Thread(target=tick, name=f"progress: {self.description}", daemon=True).start()

    def advance(self, n: int = 1) -> None:
        """Count ``n`` items done; write a line if one is due (the only per-item work: an add
        and a clock read)."""
        self.done += n
        now = self._now()
        if n:
            self._last_done_at = now
        if now >= self._due:
            self._maybe_line()

    def skip(self, n: int) -> None:
        """Count ``n`` items that needed no work (cached): in done/total, not in the rate."""
        self.done += n
        self._skipped += n

    def set(self, done: int | None = None, total: int | None = None) -> None:
        """Set the counters (a poller's view of work done elsewhere); writes a line if due."""
        if total is not None:
            self.total = total
        if done is not None:
            if done > self.done:
                self._last_done_at = self._now()
            self.done = done
        if self._now() >= self._due:
            self._maybe_line()

    def _maybe_line(self) -> None:
        with self._lock:  # two threads may find a line due at once: write one
            now = self._now()
            if now < self._due or self._closed:
                return
            self._due = now + self.interval
            self._write(self.line(now))

    def line(self, now: float | None = None, final: bool = False) -> str:
        """The progress line as it would be written now."""
        now = self._now() if now is None else now
        elapsed = max(now - self._start, 0.0)
        worked = self.done - self._skipped
        rate = worked / elapsed if elapsed > 0 else 0.0
        unit = f" {self.unit}" if self.unit else ""
        if self.total:
            count = f"{self.done:,}/{self.total:,}{unit} ({100 * self.done / self.total:.1f}%)"
        else:
            count = f"{self.done:,}{unit}"
        parts = [f"{self.description}: {count}"]
        if final:
            parts.append(f"done in {_clock(elapsed)}")
            if worked > 0:
                parts.append(f"{rate:,.2f}/s")
        else:
            parts.append(f"{rate:,.2f}/s")
            parts.append(f"{_clock(elapsed)} elapsed")
            if self.total and rate > 0:
                parts.append(f"ETA {_clock(max(self.total - self.done, 0) / rate)}")
            else:
                parts.append("ETA -")
            parts += self._waiting(now)
        if self._fields is not None and (extra := self._fields()):
            parts.append(extra)
        return " · ".join(parts)

    def _waiting(self, now: float) -> list[str]:
        """What the line says while nothing finishes: for how long, and what is under way."""
        out = []
        if self._in_flight is not None:
            n, oldest = self._in_flight()
            if n:
                age = f", the oldest for {_clock(max(now - oldest, 0.0))}" if oldest is not None else ""
                out.append(f"{n:,} in flight{age}")
        idle = now - self._last_done_at
        if idle >= self.interval:
            out.append(f"nothing finished for {_clock(idle)}")
        return out

    def _write(self, text: str) -> None:
        stream = self._stream or sys.stderr
        stream.write(text + "\n")
        stream.flush()
        self.lines += 1

    def close(self, stopped: bool = False) -> None:
        """End of the phase: its last line (done/total, time taken), once, if anything was counted.
        ``stopped``: the phase was interrupted or failed, and its line says so instead of "done"."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._stop.set()
            if self.done > 0:
                text = self.line(final=True)
                self._write(text.replace(" · done in ", " · stopped after ", 1) if stopped else text)
