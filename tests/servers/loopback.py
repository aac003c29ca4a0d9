"""The part every loopback test server shares: an aiohttp application served on 127.0.0.1
from its own thread and event loop, so a synchronous test (or a benchmark) can start it, talk
to it over real HTTP and stop it. Port 0 picks a free port; ``url`` is the ``/v1`` API root.

:class:`ScriptedOpenAIServer` adds the plumbing of an OpenAI-compatible chat endpoint whose
replies a subclass scripts (the scripted servers of reverse/translate, extend, the judge and
prefer); :func:`run_as_script` is what each of them does when run as ``python tests/servers/NAME.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Self, TypeVar

from aiohttp import web

try:
    from servers.answer_faults import bend, error_reply, fault_of
except ModuleNotFoundError:  # run as a script: its folder is on sys.path
    from answer_faults import bend, error_reply, fault_of

S = TypeVar("S", bound="LoopbackServer")


class LoopbackServer:
    """Subclasses give ``app()`` (their routes) and may set ``runner_options`` and ``thread_name``."""

    thread_name: ClassVar[str] = "loopback-server"
    #: Extra ``web.AppRunner`` keywords (e.g. ``handler_cancellation``).
    runner_options: ClassVar[dict[str, Any]] = {}

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def app(self) -> web.Application:
        raise NotImplementedError

    async def _serve(self) -> None:
        # shutdown_timeout: stopping does not wait for requests that hang on purpose.
        self._runner = web.AppRunner(
            self.app(), access_log=None, handle_signals=False, shutdown_timeout=0.5, **self.runner_options
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def start(self) -> Self:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=self.thread_name, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=30)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def started_servers(make: Callable[..., S]) -> Iterator[Callable[..., S]]:
    """The body of a pytest factory fixture (``yield from started_servers(Cls)``): yields
    ``start(*args, **kw)`` -> ``make(*args, **kw)`` started; stops every server it started
    when the test is done."""
    servers: list[S] = []

    def start(*args: Any, **kw: Any) -> S:
        server = make(*args, **kw).start()
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


def request_hash(body: dict[str, Any]) -> str:
    """Hash of everything in the request body (model, messages, sampling parameters)."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class ScriptedHTTPError(Exception):
    """Raise from a script to answer with this HTTP status (e.g. 400: a call that fails for good)."""

    def __init__(self, status: int, message: str = "scripted failure") -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ScriptedOpenAIServer(LoopbackServer):
    """An OpenAI-compatible chat server (POST ``/v1/chat/completions``, the usual ``choices`` /
    ``usage`` body; GET ``/stats``) whose replies :meth:`reply` scripts; subclasses give it.

    Every request waits ``latency_s`` first. What a test counts: ``received`` (requests),
    ``completed`` (answers per :func:`request_hash`: a re-run that paid for nothing twice has
    every count 1), ``models`` (requests per model name), ``max_in_flight``, and with
    ``keep_requests`` every request body in ``requests``, in the order they arrived."""

    #: Keep every request body in ``requests`` (memory grows with the calls).
    keep_requests: ClassVar[bool] = False

    def __init__(self, latency_s: float = 0.0, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.latency_s = latency_s
        self.received = 0
        self.requests: list[dict[str, Any]] = []
        self.completed: Counter[str] = Counter()
        self.models: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    @property
    def answers(self) -> int:
        return sum(self.completed.values())

    def reply(self, body: dict[str, Any]) -> tuple[str, str]:
        """(content, finish_reason) of the answer to one request body; may raise ScriptedHTTPError."""
        raise NotImplementedError

    def usage(self, body: dict[str, Any], content: str) -> dict[str, int]:
        """The ``usage`` of an answer: about 4 characters a token (4 UTF-8 bytes in a prompt, so
        that a Japanese prompt is not reported at a third of what any tokenizer counts, which the
        answer contract would read as a prompt the server cut)."""
        return {
            "prompt_tokens": sum(
                len(m["content"].encode("utf-8", "surrogatepass")) // 4 + 1 for m in body["messages"]
            ),
            "completion_tokens": len(content) // 4 + 1,
            "total_tokens": 0,
        }

    async def _chat(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        with self._lock:
            self.received += 1
            n = self.received
            if self.keep_requests:
                self.requests.append(body)
            self.models[body.get("model", "")] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        fault = fault_of(body)
        try:
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            if fault is not None and (bad := error_reply(fault)) is not None:
                return web.json_response(bad[1], status=bad[0])
            content, finish = self.reply(body)
        except ScriptedHTTPError as e:
            err = {"error": {"message": e.message, "type": "scripted", "code": e.status}}
            return web.json_response(err, status=e.status)
        finally:
            with self._lock:
                self.in_flight -= 1
        out = {
            "id": f"chatcmpl-{n}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "scripted"),
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}
            ],
            "usage": self.usage(body, content),
        }
        if fault is not None:
            bend(fault, body, out)
        with self._lock:
            self.completed[request_hash(body)] += 1
        return web.json_response(out)

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "received": self.received,
                "calls": self.received,
                "answers": self.answers,
                "max_in_flight": self.max_in_flight,
            }
        )

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/stats", self._stats)
        return app


def run_as_script(
    make: Callable[..., LoopbackServer],
    description: str,
    announce: Callable[[str], str],
    *,
    port: int = 0,
    argv: list[str] | None = None,
) -> None:
    """``python tests/servers/NAME.py [--port N] [--latency S]`` (benchmarks): start
    ``make(latency_s=S, port=N)``, print ``announce(url)`` on the first line once it listens,
    and serve until interrupted."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--port", type=int, default=port, help="0: any free port")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds per reply")
    args = ap.parse_args(argv)
    server = make(latency_s=args.latency, port=args.port).start()
    print(announce(server.url), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
