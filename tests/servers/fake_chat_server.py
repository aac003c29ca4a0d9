"""A small OpenAI-compatible chat server with chosen latency and chosen faults.

For tests, benchmarks and dry runs of a pipeline without paying: it speaks the real
protocol over real HTTP, answers deterministically (the answer is a function of the
request), and misbehaves on demand the ways real APIs do:

* transient faults, drawn per attempt: 429 with Retry-After, 500, 503, a hang past the
  client's timeout, a 200 with a garbled JSON body, a dropped connection;
* faults that belong to the request, drawn from its hash (so every run sees the same
  ones, as with a real model): ``finish_reason: length``, an empty answer, a 400;
* the dialects of other servers, on demand: finish reasons spelled their way
  (``finish_spelling={"stop": "eos_token"}`` as text-generation-inference does), ``usage``
  left out or with null counts (``usage="none"`` / ``"null"``, as Ollama and some proxies do).

It also serves ``POST /v1/embeddings`` (a deterministic unit vector per text, from its hash)
and ``POST /v1/moderations`` (flags a text containing "attack", category violence), with the
same transient faults, so the client layer's retries can be tested on those endpoints too.

It counts completed answers per request hash (``GET /stats``), which is how the tests
prove that no finished request was paid for twice.

    python tests/servers/fake_chat_server.py --port 8000 --latency 0.2 --fault-rate 0.2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web

try:
    from servers.loopback import LoopbackServer, request_hash
except ModuleNotFoundError:  # run as a script (python tests/servers/NAME.py): its folder is on sys.path
    from loopback import LoopbackServer, request_hash

TRANSIENT = ("429", "500", "503", "hang", "malformed", "drop")
PERSISTENT = ("length", "empty", "400")


@dataclass
class FaultRates:
    """Probability of each fault. Transient ones are drawn per attempt, persistent ones per request."""

    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_503: float = 0.0
    rate_hang: float = 0.0
    rate_malformed: float = 0.0
    rate_drop: float = 0.0
    rate_length: float = 0.0
    rate_empty: float = 0.0
    rate_400: float = 0.0
    retry_after_s: float = 0.05  # sent as retry-after-ms, and rounded up as Retry-After
    hang_s: float = 30.0

    @classmethod
    def spread(cls, total: float, **kw: Any) -> FaultRates:
        """``total`` split evenly over every fault kind."""
        each = total / (len(TRANSIENT) + len(PERSISTENT))
        rates = {f"rate_{k}": each for k in (*TRANSIENT, *PERSISTENT)}
        rates.update(kw)
        return cls(**rates)


@dataclass
class ServerStats:
    received: int = 0
    completed: Counter = field(default_factory=Counter)  # request hash -> answers fully sent
    faults: Counter = field(default_factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0
    #: (monotonic time, request hash, outcome) per attempt: "ok", "429", "hang", ...
    events: list = field(default_factory=list)


def answer_for(body: dict[str, Any]) -> str:
    """The deterministic answer: a short reply that names the last user turn."""
    last_user = next(
        (m.get("content") or "" for m in reversed(body.get("messages", [])) if m.get("role") == "user"), ""
    )
    h = hashlib.sha256(last_user.encode()).hexdigest()[:8]
    return f"Answer {h}: you said {last_user[:60]!r}. Here is a helpful reply."


def embedding_for(text: str, dim: int = 8) -> list[float]:
    """The deterministic vector of a text: its hash spread over ``dim`` numbers (not unit length,
    so callers are seen to normalise)."""
    digest = hashlib.sha256(text.encode()).digest()
    return [(b - 127.5) / 64.0 for b in digest[:dim]]


def _tokens(text: str) -> int:
    return max(len(text.split()), sum(ord(ch) > 127 for ch in text))


def _unit(h: str, salt: str) -> float:
    """A number in [0, 1) fixed by the request hash: faults that stick to a request."""
    return int(hashlib.sha256((salt + h).encode()).hexdigest()[:12], 16) / float(1 << 48)


class FakeChatServer(LoopbackServer):
    """Run with ``start()`` (own thread and loop, port 0 = any free port) and ``stop()``,
    or as a context manager; ``url`` is the ``/v1`` base for ``--base-url``."""

    thread_name = "fake-chat-server"
    # A hang ends when the client gives up, as on a real server.
    runner_options = {"handler_cancellation": True}

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_s: float = 0.0,
        faults: FaultRates | None = None,
        seed: int = 0,
        require_key: str | None = None,
        echo_key_in_errors: bool = False,
        finish_spelling: dict[str, str] | None = None,
        usage: str = "full",
    ):
        super().__init__(host, port)
        self.latency_s = latency_s
        self.faults = faults or FaultRates()
        self.rng = random.Random(seed)
        self.require_key = require_key
        self.echo_key_in_errors = echo_key_in_errors
        self.finish_spelling = dict(finish_spelling or {})
        if usage not in ("full", "none", "null"):
            raise ValueError(f"usage must be full, none or null, not {usage!r}")
        self.usage = usage
        self.stats = ServerStats()

    # -- app ---------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/openai/deployments/{deployment}/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._chat)
        app.router.add_post("/v1/moderations", self._chat)
        app.router.add_get("/stats", self._stats)
        app.router.add_post("/reset", self._reset)
        return app

    async def _stats(self, request: web.Request) -> web.Response:
        s = self.stats
        return web.json_response(
            {
                "received": s.received,
                "completed": dict(s.completed),
                "faults": dict(s.faults),
                "max_in_flight": s.max_in_flight,
            }
        )

    async def _reset(self, request: web.Request) -> web.Response:
        self.stats = ServerStats()
        return web.json_response({"ok": True})

    def _key_of(self, request: web.Request) -> str:
        auth = request.headers.get("Authorization", "")
        return auth.removeprefix("Bearer ").strip() or request.headers.get("api-key", "")

    def _error(self, status: int, message: str, request: web.Request, **headers: str) -> web.Response:
        if self.echo_key_in_errors:
            key = self._key_of(request)
            masked = key[:6] + "*" * 10 + key[-4:] if len(key) > 10 else key
            message = f"{message} (key sent: {key}; Incorrect API key provided: {masked})"
        body = {"error": {"message": message, "type": "fake_server", "code": status}}
        return web.json_response(body, status=status, headers=headers)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        s = self.stats
        s.received += 1
        s.in_flight += 1
        s.max_in_flight = max(s.max_in_flight, s.in_flight)
        try:
            return await self._answer(request)
        finally:
            s.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        s, f = self.stats, self.faults
        if self.require_key is not None and self._key_of(request) != self.require_key:
            s.faults["401"] += 1
            return self._error(401, "Invalid authentication", request)
        if request.path.endswith(("/embeddings", "/moderations")):
            return await self._other_endpoint(request)
        try:
            body = json.loads(await request.read())
            messages = body["messages"]
            max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 16)
        except (ValueError, KeyError, TypeError):
            return self._error(400, "request body is not a chat completion request", request)
        h = request_hash(body)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)

        r = self.rng.random()
        for kind in TRANSIENT:
            rate = getattr(f, f"rate_{kind}")
            if r < rate:
                s.faults[kind] += 1
                s.events.append((time.monotonic(), h, kind))
                return await self._transient(kind, request)
            r -= rate

        if _unit(h, "400") < f.rate_400:
            s.faults["400"] += 1
            s.events.append((time.monotonic(), h, "400"))
            return self._error(400, "This model's maximum context length was exceeded", request)
        content = answer_for(body)
        words = content.split(" ")
        finish = "stop"
        if len(words) > max_tokens:
            content, finish = " ".join(words[:max_tokens]), "length"
        if _unit(h, "length") < f.rate_length:
            s.faults["length"] += 1
            content, finish = " ".join(words[: max(1, len(words) // 2)]), "length"
        elif _unit(h, "empty") < f.rate_empty:
            s.faults["empty"] += 1
            content = ""
        # A word a token, or a non-ASCII character a token where there are more of those (a Japanese
        # prompt has few spaces: counted by words it would look cut by the server to the answer
        # contract, tagengo.llm.answer).
        prompt_tokens = sum(_tokens(str(m.get("content", ""))) + 3 for m in messages)
        payload: dict[str, Any] = {
            "id": "chatcmpl-" + h[:16],
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or request.match_info.get("deployment", "fake"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": self.finish_spelling.get(finish, finish),
                }
            ],
        }
        if self.usage == "full":
            payload["usage"] = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": len(content.split()),
                "total_tokens": prompt_tokens + len(content.split()),
            }
        elif self.usage == "null":
            payload["usage"] = {"prompt_tokens": None, "completion_tokens": None, "total_tokens": None}
        return await self._send(request, payload, h)

    async def _other_endpoint(self, request: web.Request) -> web.StreamResponse:
        """/v1/embeddings and /v1/moderations: the same transient faults, then a real-shaped answer."""
        s = self.stats
        try:
            body = json.loads(await request.read())
            texts = body["input"]
            texts = [texts] if isinstance(texts, str) else [str(t) for t in texts]
        except (ValueError, KeyError, TypeError):
            return self._error(400, "request body has no 'input'", request)
        h = request_hash(body)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        r = self.rng.random()
        for kind in TRANSIENT:
            rate = getattr(self.faults, f"rate_{kind}")
            if r < rate:
                s.faults[kind] += 1
                s.events.append((time.monotonic(), h, kind))
                return await self._transient(kind, request)
            r -= rate
        model = body.get("model") or "fake"
        if request.path.endswith("/embeddings"):
            payload: dict[str, Any] = {
                "object": "list",
                "model": model,
                "data": [
                    {"object": "embedding", "index": i, "embedding": embedding_for(t)}
                    for i, t in enumerate(texts)
                ],
                "usage": {"prompt_tokens": sum(len(t.split()) for t in texts)},
            }
        else:
            payload = {
                "id": "modr-" + h[:16],
                "model": model,
                "results": [
                    {
                        "flagged": "attack" in t,
                        "categories": {"violence": "attack" in t, "hate": False},
                        "category_scores": {"violence": 0.9 if "attack" in t else 0.01, "hate": 0.0},
                    }
                    for t in texts
                ],
            }
        return await self._send(request, payload, h)

    async def _send(self, request: web.Request, payload: dict[str, Any], h: str) -> web.StreamResponse:
        s = self.stats
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        data = json.dumps(payload).encode()
        resp.content_length = len(data)
        await resp.prepare(request)
        await resp.write(data)
        await resp.write_eof()
        s.completed[h] += 1  # counted only once the whole answer went out
        s.events.append((time.monotonic(), h, "ok"))
        return resp

    async def _transient(self, kind: str, request: web.Request) -> web.StreamResponse:
        f = self.faults
        if kind == "429":
            secs = max(1, int(f.retry_after_s + 0.999))
            return self._error(
                429,
                "Rate limit reached",
                request,
                **{"Retry-After": str(secs), "retry-after-ms": str(int(f.retry_after_s * 1000))},
            )
        if kind in ("500", "503"):
            return self._error(int(kind), "The server had an error while processing your request", request)
        if kind == "hang":
            await asyncio.sleep(f.hang_s)
            return self._error(504, "gateway timeout", request)
        if kind == "malformed":
            return web.Response(
                status=200,
                body=b'{"id": "x", "choices": [{"message": {"content": "trunc',
                content_type="application/json",
            )
        # drop: close the connection without an answer, as a proxy or a crashed worker does
        assert request.transport is not None
        request.transport.abort()
        raise asyncio.CancelledError


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python tests/servers/fake_chat_server.py", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0: any free port (printed on the first line)")
    p.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    p.add_argument(
        "--fault-rate", type=float, default=0.0, help="total fault probability, spread over all kinds"
    )
    p.add_argument("--retry-after", type=float, default=0.05, help="seconds a 429 asks the client to wait")
    p.add_argument("--hang", type=float, default=30.0, help="seconds a hanging request hangs")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    faults = FaultRates.spread(a.fault_rate, retry_after_s=a.retry_after, hang_s=a.hang)

    async def run() -> None:
        server = FakeChatServer(host=a.host, port=a.port, latency_s=a.latency, faults=faults, seed=a.seed)
        await server._serve()
        print(json.dumps({"port": server.port, "url": server.url, "faults": asdict(faults)}), flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
