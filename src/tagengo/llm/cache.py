"""The request cache: one SQLite file (WAL) mapping a request hash to its answer.

``put`` commits each answer at once by default. The client commits in small groups instead
(``put(..., commit=False)`` then ``commit()``: at most ``COMMIT_EVERY_S`` after an answer
arrived, or once ``--concurrency`` answers wait), so a process killed at any point loses the
calls in flight and at most the answers of the last 50 ms (never more than ``--concurrency``):
a re-run asks those again and replays everything else for free. One commit per answer cost
0.1 ms of the event loop's time each (a write system call), the largest single cost per call
in a profile of `tagengo generate` (docs/benchmarks.md). WAL lets several worker processes
share one file (readers never block, writers queue behind ``busy_timeout``).
``synchronous=NORMAL`` keeps each commit cheap: a killed *process* loses nothing committed
(the data is in the OS), only a power cut could drop the last few commits.

Only answers the server actually gave are stored (any finish_reason: a truncated answer
was paid for too). Failures are not: a re-run tries them again.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import orjson

from tagengo.llm.answer import normalise
from tagengo.llm.finish import VOCABULARY, normalise_finish_reason
from tagengo.llm.types import ChatRequest, ChatResponse

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key       TEXT PRIMARY KEY,   -- sha256 of the canonical request (ChatRequest.key)
    model_id  TEXT NOT NULL,
    request   TEXT NOT NULL,      -- canonical request JSON: lets you audit what was asked
    response  TEXT NOT NULL,      -- JSON of the answer (content, finish_reason, tokens, ...)
    created   REAL NOT NULL       -- unix time of the call
)
"""

# The fields of ChatResponse worth replaying; cached/attempts/error describe this run instead.
_STORED = (
    "content",
    "finish_reason",
    "model",
    "input_tokens",
    "output_tokens",
    "tokens_estimated",
    "latency_s",
    "cost",
    "raw",
    "reasoning",
    "replaced_chars",
)
_IN_CHUNK = 500  # SQLite's default variable limit is 999 (older builds): stay under it
#: Longest an answer waits for its commit when the client commits in groups (see above).
COMMIT_EVERY_S = 0.05


class RequestCache:
    """Thread-safe handle on the cache file. Create once per process, ``close()`` at the end."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._pending = 0  # answers stored with commit=False, not yet committed
        #: Rows of put(commit=False) not yet handed to SQLite: written in one executemany by the
        #: next commit (or read), not one execute per answer. Each execute releases the GIL and
        #: takes it back, which on the client's event loop meant a wait of up to the interpreter's
        #: switch interval (5 ms) whenever the judging or warm-up thread ran (docs/benchmarks.md).
        self._rows: list[tuple[str, str, str, str, float]] = []
        # isolation_level=None: autocommit unless put(commit=False) opened a transaction.
        self._db = sqlite3.connect(str(self.path), timeout=60, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=60000")
        self._db.execute(_SCHEMA)

    def get_many(self, keys: Iterable[str]) -> dict[str, ChatResponse]:
        """Answers for the keys that are cached (others are absent from the result)."""
        keys = list(dict.fromkeys(keys))
        out: dict[str, ChatResponse] = {}
        with self._lock:
            self._write_rows()  # this connection sees what it stored, committed or not
            for i in range(0, len(keys), _IN_CHUNK):
                chunk = keys[i : i + _IN_CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT key, response FROM responses WHERE key IN ({marks})", chunk)
                for key, blob in rows:
                    out[key] = _decode(blob)
        return out

    def get(self, key: str) -> ChatResponse | None:
        return self.get_many([key]).get(key)

    def put(
        self,
        key: str,
        model_id: str,
        request: ChatRequest,
        response: ChatResponse,
        *,
        canonical: str | None = None,
        commit: bool = True,
    ) -> None:
        """Store one answer (``canonical``: the request's canonical JSON, if at hand) and commit
        it, or with ``commit=False`` leave it for the next ``commit()`` (readers in other
        processes do not see it before; this connection does)."""
        stored = {f: getattr(response, f) for f in _STORED}
        try:
            blob = orjson.dumps(stored).decode()  # equivalent JSON to json's, in a third of the time
        except TypeError:  # what orjson refuses (integers past 64 bits in raw): json writes it
            blob = json.dumps(stored, ensure_ascii=False, separators=(",", ":"))
        row = (key, model_id, canonical or request.canonical(model_id), blob, time.time())
        with self._lock:
            self._rows.append(row)
            self._pending += 1
            if commit:
                self._write_rows()
                self._db.execute("COMMIT")
                self._pending = 0

    def _write_rows(self) -> None:
        """Hand the rows stored with ``commit=False`` to SQLite, in the open transaction (one
        opened if none is), in the order they were stored. Called under the lock."""
        if not self._rows:
            return
        if not self._db.in_transaction:
            self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT OR REPLACE INTO responses (key, model_id, request, response, created) VALUES (?,?,?,?,?)",
            self._rows,
        )
        self._rows = []

    @property
    def pending(self) -> int:
        """Answers stored with ``commit=False`` and not committed yet."""
        return self._pending

    def commit(self) -> None:
        """Commit the answers stored with ``commit=False`` (nothing to do when there are none)."""
        with self._lock:
            self._write_rows()
            if self._db.in_transaction:
                self._db.execute("COMMIT")
            self._pending = 0

    def __len__(self) -> int:
        with self._lock:
            self._write_rows()
            return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        """Commit what is pending, then close."""
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._write_rows()
            if self._db.in_transaction:
                self._db.execute("COMMIT")
            self._pending = 0
            self._db.close()


def _decode(blob: str) -> ChatResponse:
    d = json.loads(blob)
    resp = normalise(ChatResponse(cached=True, attempts=0, **{f: d[f] for f in _STORED if f in d}))
    if resp.finish_reason is not None and resp.finish_reason not in VOCABULARY:
        # Stored before finish reasons were normalised: read it as a fresh answer would be.
        resp.raw = {**resp.raw, "finish_reason": resp.finish_reason}
        resp.finish_reason = normalise_finish_reason(resp.finish_reason)
    return resp
