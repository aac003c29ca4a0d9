"""A scripted judge: an OpenAI-compatible chat server on 127.0.0.1 whose replies a script
decides. For tests, benchmarks and dry runs of ``tagengo bench judge`` without paying for a
real judge: it speaks the real protocol over real HTTP, so the whole client layer (cache,
retries, concurrency) is exercised, and the verdicts are known in advance.

A script is a function ``messages -> reply text``. :func:`hashed_verdicts` is the default: a
plausible judge that grades 1-10 (or picks A/B/C for pairwise prompts) from a hash of the
answer, so reruns agree and the scores vary.

    python tests/servers/scripted_judge.py --port 8011 --latency 0.2
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

try:
    from servers.loopback import LoopbackServer
except ModuleNotFoundError:  # run as a script (python tests/servers/NAME.py): its folder is on sys.path
    from loopback import LoopbackServer

Script = Callable[[list[dict[str, str]]], str]


class ScriptedHTTPError(Exception):
    """Raise from a script to answer with this HTTP status (e.g. 400: a call that fails for good)."""

    def __init__(self, status: int, message: str = "scripted failure") -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _h(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def is_pairwise(messages: list[dict[str, str]]) -> bool:
    text = " ".join(m.get("content") or "" for m in messages)
    return "[[A]]" in text and "[[B]]" in text


def hashed_verdicts(messages: list[dict[str, str]]) -> str:
    """A deterministic judge: grade = 1 + hash(prompt) % 10, or A/B/C for pairwise prompts.
    Follow-up questions (after an unreadable verdict) get the bare verdict."""
    first_user = next((m["content"] for m in messages if m["role"] == "user"), "")
    h = _h(first_user)
    if is_pairwise(messages):
        verdict = "[[" + "ABC"[h % 3] + "]]"
        return (
            verdict
            if len(messages) > 2 and messages[-2]["role"] == "assistant"
            else f"A is clearer. {verdict}"
        )
    grade = 1 + h % 10
    return f"The reply is adequate. Rating: [[{grade}]]"


class ScriptedJudgeServer(LoopbackServer):
    """``start()`` (own thread and event loop; port 0 picks a free one) and ``stop()``, or use as
    a context manager. ``url`` is the ``/v1`` base for ``--judge-base-url``."""

    thread_name = "scripted-judge"

    def __init__(self, script: Script = hashed_verdicts, *, latency_s: float = 0.0, port: int = 0) -> None:
        self.script = script
        self.latency_s = latency_s
        super().__init__("127.0.0.1", port)
        self.requests: list[dict[str, Any]] = []  # every request body received, in order
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def calls(self) -> int:
        return len(self.requests)

    async def _chat(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        with self._lock:
            self.requests.append(body)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            text = self.script(body.get("messages", []))
        except ScriptedHTTPError as e:
            err = {"error": {"message": e.message, "type": "scripted_judge", "code": e.status}}
            return web.json_response(err, status=e.status)
        finally:
            with self._lock:
                self._in_flight -= 1
        prompt_tokens = sum(len((m.get("content") or "").split()) for m in body.get("messages", []))
        completion_tokens = len(text.split())
        return web.json_response(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "scripted-judge"),
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response({"calls": self.calls, "max_in_flight": self.max_in_flight})

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/stats", self._stats)
        return app


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8011)
    ap.add_argument("--latency", type=float, default=0.0, help="seconds per reply")
    args = ap.parse_args(argv)
    server = ScriptedJudgeServer(latency_s=args.latency, port=args.port).start()
    print(f"scripted judge at {server.url} (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
