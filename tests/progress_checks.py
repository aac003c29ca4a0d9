"""Checks shared by the tests of progress off a terminal (tagengo.io.progress_lines)."""

from __future__ import annotations

import re

_MID = re.compile(
    r"(?P<done>[\d,]+)/(?P<total>[\d,]+)(?: \w+)? \([\d.]+%\) · [\d,.]+/s · \d+:\d\d elapsed · ETA "
)


def assert_progress_lines(err: str, phase: str, items: int) -> list[str]:
    """``err`` (a captured stderr) holds progress lines of ``phase``: at least one written while
    the work ran (the test made it last longer than the interval), one at the end saying all
    ``items`` are done, and far fewer lines than items. Returns the phase's lines."""
    lines = [x for x in err.splitlines() if x.startswith(f"{phase}: ")]
    mid = [x for x in lines if _MID.search(x)]
    ends = [x for x in lines if " · done in " in x]
    assert mid, f"no progress line of {phase!r} while it ran:\n{err}"
    assert ends and f"{items:,}/{items:,}" in ends[-1], f"no end line of {phase!r} for {items} items:\n{err}"
    assert len(lines) == len(mid) + len(ends), lines
    assert len(lines) <= items / 4, f"{len(lines)} lines for {items} items: a line per item, not per interval"
    for x in mid:
        m = _MID.search(x)
        assert m and int(m["done"].replace(",", "")) <= int(m["total"].replace(",", "")) <= items, x
    return lines
