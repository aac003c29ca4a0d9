"""Import, in a background thread, what a run needs only once its waiting part is over.

`tagengo generate` spends its time waiting for a server. After the last answer the runner
still has to import pandas (pyarrow imports it the first time it builds an array from Python
lists, when the chunk is written) and matplotlib (the language chart of the dataset folder):
about a second of CPU that a user waited for after the calls, at the end of every run
(docs/benchmarks.md, "generate"). Imported while the calls are in flight, on the core the
event loop leaves idle, they cost no wall time; so does a first, throwaway chart, which sets up
what drawing the real one needs (fonts, the log axis' mathtext parser).

Only for a process that forks no workers afterwards: a fork while another thread holds an
import lock can leave the child waiting for it forever. ``tagengo generate`` runs in one
process (and a Ray actor never forks).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
import threading
from collections.abc import Callable

#: What the end of a run imports, in the order it does.
END_OF_RUN_MODULES = (
    "pyarrow.parquet",
    "pandas",
    "matplotlib.figure",
    "tagengo.run.funnel",
    "tagengo.run.chart",
)

_lock = threading.Lock()
_thread: threading.Thread | None = None


#: The interpreter's switch interval while the warm-up runs (the default is 5 ms).
WARM_SWITCH_INTERVAL_S = 0.0005


def _import_all(first: tuple[Callable[[], object], ...] = ()) -> None:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, WARM_SWITCH_INTERVAL_S))
    try:
        _import_all_now(first)
    finally:
        sys.setswitchinterval(previous)


def _import_all_now(first: tuple[Callable[[], object], ...]) -> None:
    # What the caller needs as soon as the answers are back (a model the checks use) comes first.
    for load in first:
        with contextlib.suppress(Exception):  # it fails again, with its own message, where it is used
            load()
    for name in END_OF_RUN_MODULES:
        # A module that is missing or fails here fails again, with its own message, where it is used.
        with contextlib.suppress(Exception):
            if importlib.util.find_spec(name.split(".")[0]) is None:
                continue
            importlib.import_module(name)
    with contextlib.suppress(Exception):
        from tagengo.run.chart import warm_up_chart

        warm_up_chart()  # fonts, the Agg canvas, the log axis' mathtext: drawn once, thrown away


def wait_for_warm_up() -> None:
    """Return once the warm-up thread, if one was started, has finished (at once otherwise)."""
    thread = _thread
    if thread is not None and thread is not threading.current_thread():
        thread.join()


def warm_imports_in_background(*first: Callable[[], object]) -> threading.Thread:
    """Start (once per process) a daemon thread that calls each of ``first`` (loaders of what the
    stage needs once the answers are back: generate's answer-language model, 0.5 s of import and
    load) and then imports ``END_OF_RUN_MODULES``; return it. Each loader must be safe to call
    from two threads (the stage may need it before the thread got to it)."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(
                target=_import_all, args=(first,), name="tagengo-warm-imports", daemon=True
            )
            _thread.start()
        return _thread
