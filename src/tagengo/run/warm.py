"""Import, in a background thread, what a run needs only once its waiting part is over.

`tagengo generate` spends its time waiting for a server. After the last answer the runner
still has to import pandas (pyarrow imports it the first time it builds an array from Python
lists, when the chunk is written) and matplotlib (the language chart of the dataset folder):
about a second of CPU that a user waited for after the calls, at the end of every run
(docs/benchmarks.md, "generate"). Imported while the calls are in flight, on the core the
event loop leaves idle, they cost no wall time.

Only for a process that forks no workers afterwards: a fork while another thread holds an
import lock can leave the child waiting for it forever. ``tagengo generate`` runs in one
process (and a Ray actor never forks).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import threading

#: What the end of a run imports, in the order it does.
END_OF_RUN_MODULES = ("pyarrow.parquet", "pandas", "matplotlib.pyplot", "tagengo.report.funnel")

_lock = threading.Lock()
_thread: threading.Thread | None = None


def _import_all() -> None:
    for name in END_OF_RUN_MODULES:
        # A module that is missing or fails here fails again, with its own message, where it is used.
        with contextlib.suppress(Exception):
            if importlib.util.find_spec(name.split(".")[0]) is None:
                continue
            if name == "matplotlib.pyplot":
                import matplotlib

                matplotlib.use("Agg")  # as tagengo.report.funnel does before it draws
            importlib.import_module(name)


def warm_imports_in_background() -> threading.Thread:
    """Start (once per process) a daemon thread importing ``END_OF_RUN_MODULES``; return it."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_import_all, name="tagengo-warm-imports", daemon=True)
            _thread.start()
        return _thread
