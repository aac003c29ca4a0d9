"""Plain progress lines off a terminal: a line only once an interval has passed, never one per
item, and one at the end of a phase; rate and ETA count the work of the phase, not cache hits."""

from __future__ import annotations

import io

from tagengo.io.progress_lines import DEFAULT_INTERVAL_S, INTERVAL_ENV, LineProgress, progress_interval


class Clock:
    """A clock the test moves by hand (so no assertion depends on how fast the machine is)."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_one_line_per_interval_not_per_item_and_one_at_the_end():
    clock, out = Clock(), io.StringIO()
    p = LineProgress("generate", 1000, stream=out, interval=10.0, clock=clock)
    for _ in range(1000):  # 0.125 s an item (exact in binary): 125 s of work, an interval every 80 items
        clock.t += 0.125
        p.advance()
    p.close()
    p.close()  # closing twice writes no second end line
    lines = out.getvalue().splitlines()
    assert len(lines) == 12 + 1, lines  # at 80, 160 ... 960 items, and the end line
    assert lines[0] == "generate: 80/1,000 (8.0%) · 8.00/s · 0:10 elapsed · ETA 1:55"
    assert lines[11] == "generate: 960/1,000 (96.0%) · 8.00/s · 2:00 elapsed · ETA 0:05"
    assert lines[-1] == "generate: 1,000/1,000 (100.0%) · done in 2:05 · 8.00/s"


def test_nothing_is_written_before_an_interval_passes_and_an_empty_phase_writes_nothing():
    clock, out = Clock(), io.StringIO()
    p = LineProgress("x", 50, stream=out, interval=10.0, clock=clock)
    for _ in range(50):
        clock.t += 0.01
        p.advance()
    assert out.getvalue() == ""
    empty = LineProgress("y", 5, stream=out, interval=10.0, clock=clock)
    empty.close()
    p.close()
    assert out.getvalue().splitlines() == ["x: 50/50 (100.0%) · done in 0:00 · 100.00/s"]


def test_cached_items_count_as_done_but_not_in_the_rate_and_extra_fields_are_read_only_for_a_line():
    clock, out = Clock(), io.StringIO()
    asked = []

    def fields() -> str:
        asked.append(1)
        return "12 tok/s"

    p = LineProgress("judge", 300, stream=out, interval=5.0, fields=fields, clock=clock)
    p.skip(100)  # replayed from the cache: no time spent on them
    for _ in range(60):
        clock.t += 0.125
        p.advance()
    assert len(asked) == 1  # one line due (at 5 s), so the fields were formatted once, not per item
    # 40 calls in 5 s: 8/s, and 160 to go: 20 s (the 100 cache hits would have made it 28/s).
    assert out.getvalue().splitlines() == [
        "judge: 140/300 (46.7%) · 8.00/s · 0:05 elapsed · ETA 0:20 · 12 tok/s"
    ]


def test_the_interval_comes_from_the_environment_and_a_bad_value_falls_back(monkeypatch):
    monkeypatch.setenv(INTERVAL_ENV, "0.25")
    assert progress_interval() == 0.25
    assert LineProgress("x").interval == 0.25
    for bad in ("soon", "0", "-3", "nan", ""):
        monkeypatch.setenv(INTERVAL_ENV, bad)
        assert progress_interval() == DEFAULT_INTERVAL_S
    monkeypatch.delenv(INTERVAL_ENV)
    assert progress_interval() == DEFAULT_INTERVAL_S


def test_a_stopped_phase_does_not_say_done():
    """Ctrl-C or an error ends a phase early: its last line says 'stopped after', not 'done in'."""
    clock, out = Clock(), io.StringIO()
    p = LineProgress("curate: reading + filtering", None, unit="rows", stream=out, interval=1e9, clock=clock)
    clock.t += 10.0
    p.advance(10_000)
    p.close(stopped=True)
    assert out.getvalue().splitlines() == [
        "curate: reading + filtering: 10,000 rows · stopped after 0:10 · 1,000.00/s"
    ]


def test_a_due_line_says_what_is_in_flight_and_for_how_long_nothing_finished():
    """One slow call: the line due while it runs names it and its wait (a hand-moved clock)."""
    from tagengo.io.progress_lines import InFlight

    clock, out = Clock(), io.StringIO()
    calls = InFlight(clock)
    p = LineProgress("generate", 2, stream=out, interval=15.0, clock=clock, in_flight=calls.snapshot)
    first = calls.start()
    clock.t += 5.0
    calls.start()
    clock.t += 20.0
    p.set()  # a poll, nothing counted: the line due at 15 s
    calls.end(first)
    clock.t += 16.0
    p.advance()  # an answer: no wait to report beyond what is still in flight
    lines = out.getvalue().splitlines()
    assert lines[0] == (
        "generate: 0/2 (0.0%) · 0.00/s · 0:25 elapsed · ETA - · 2 in flight, the oldest for 0:25 · "
        "nothing finished for 0:25"
    )
    assert lines[1].endswith("ETA 0:41 · 1 in flight, the oldest for 0:36"), lines[1]


def test_the_timer_writes_on_time_while_nothing_finishes(monkeypatch):
    """The real clock and thread: lines come every interval while one call is under way, none
    of them from ``advance`` (before, one 25 s call printed nothing for 25 s)."""
    import time

    from tagengo.io import progress_lines
    from tagengo.io.progress_lines import InFlight

    monkeypatch.setattr(progress_lines, "TIMER_MIN_INTERVAL_S", 0.05)
    out, calls = io.StringIO(), InFlight()
    p = LineProgress("translate", 1, stream=out, interval=0.2, in_flight=calls.snapshot)
    ticket = calls.start()
    time.sleep(0.75)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2, lines
    assert all(" · 1 in flight, the oldest for 0:00 · nothing finished for 0:00" in x for x in lines)
    calls.end(ticket)
    p.advance()
    p.close()
    written = p.lines
    time.sleep(0.3)
    assert p.lines == written  # the timer stops with the phase
