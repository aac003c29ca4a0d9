"""RequestCache: WAL SQLite, one committed row per finished call, readable by another process."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

from tagengo.llm.cache import RequestCache
from tagengo.llm.types import ChatRequest, ChatResponse


def _req(text: str, **kw) -> ChatRequest:
    return ChatRequest.from_messages([{"role": "user", "content": text}], **kw)


def test_a_stored_answer_comes_back_marked_cached(tmp_path):
    cache = RequestCache(tmp_path / "c.sqlite")
    req = _req("hello")
    resp = ChatResponse(
        "hi there", "stop", "m", input_tokens=5, output_tokens=2, latency_s=0.5, cost=0.01, attempts=3
    )
    cache.put(req.key("m@x"), "m@x", req, resp)
    got = cache.get(req.key("m@x"))
    assert got is not None and got.cached and got.attempts == 0
    assert (got.content, got.finish_reason, got.output_tokens, got.cost) == ("hi there", "stop", 2, 0.01)
    assert cache.get(req.key("other-model")) is None
    cache.close()


def test_every_sampling_parameter_is_part_of_the_key():
    base = _req("q")
    variants = [
        _req("q", temperature=0.7),
        _req("q", max_tokens=10),
        _req("q", seed=1),
        _req("q", stop=["\n"]),
        _req("q", extra={"repeat_penalty": 1.1}),
        _req("q "),
    ]
    keys = {base.key("m")} | {v.key("m") for v in variants}
    assert len(keys) == 1 + len(variants)
    assert base.key("m") != base.key("n")


def test_a_commit_is_visible_to_another_process_at_once(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = RequestCache(path)
    req = _req("persist me")
    cache.put(req.key("m"), "m", req, ChatResponse("yes", "stop", "m"))
    # Another process reads it while this connection is still open (no close, no checkpoint).
    code = (
        "import sqlite3,sys; db=sqlite3.connect(sys.argv[1]);"
        "print(db.execute('select count(*) from responses').fetchone()[0])"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    many = cache.get_many([req.key("m"), "missing"])
    assert list(many) == [req.key("m")]
    assert len(cache) == 1
    cache.close()


def test_answers_stored_without_commit_are_seen_by_others_only_after_commit_or_close(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = RequestCache(path)
    code = (
        "import sqlite3,sys; db=sqlite3.connect(sys.argv[1]);"
        "print(db.execute('select count(*) from responses').fetchone()[0])"
    )

    def seen_by_another_process() -> int:
        out = subprocess.run(
            [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
        )
        return int(out.stdout)

    for i in range(3):
        req = _req(f"grouped {i}")
        cache.put(req.key("m"), "m", req, ChatResponse(f"a{i}", "stop", "m"), commit=False)
    assert cache.pending == 3
    assert len(cache.get_many([_req(f"grouped {i}").key("m") for i in range(3)])) == 3  # this connection
    assert seen_by_another_process() == 0
    cache.commit()
    assert cache.pending == 0 and seen_by_another_process() == 3

    req = _req("left pending at close")
    cache.put(req.key("m"), "m", req, ChatResponse("late", "stop", "m"), commit=False)
    cache.close()
    assert seen_by_another_process() == 4
