"""An OpenAI-compatible chat server on loopback that answers the way real servers and gateways
misbehave at the HTTP level, on demand, for the client's tests (tests/llm/test_server_errors.py).

A request whose last message holds ``SERVE=<kind>`` (``SERVE=<kind>:<arg>``) is answered with that
misbehaviour (on ``/v1/embeddings`` too, for the kinds that are not a chat answer's shape:
the marker in the last input text); ``*N`` after it (``SERVE=wait429:0.2*1``) misbehaves for the first N times that very
request arrives and answers properly after. Other requests get ``answer to: <text>``.

================  =====================================================================================
kind              what is sent (who sends it)
================  =====================================================================================
``wait429:S``     429 with ``Retry-After: S`` (OpenAI, Azure, every rate limiter)
``wait503date:S`` 503 with ``Retry-After`` as an HTTP date S seconds ahead (maintenance pages, RFC 9110)
``waitms:MS``     429 with ``retry-after-ms: MS`` and no ``Retry-After`` (OpenAI, Azure)
``reset:S``       429 with ``x-ratelimit-remaining-tokens: 0`` and ``x-ratelimit-reset-tokens`` as a
                  Go duration (``1m30s``; OpenAI, Groq), no ``Retry-After``
``vllmerror``     200, ``{"object": "error", "message": ..., "type": "BadRequestError", "code": 400}``
                  (vLLM before 0.10.1, and servers that copied its error shape)
``routererror:C`` 200, ``{"error": {"code": C, "message": ..., "metadata": {"provider_name": ...}}}``
                  (OpenRouter: an upstream failure after the request was accepted)
``litellm429``    200, ``{"error": {"message": ..., "type": "None", "code": "429"}}`` (LiteLLM proxy)
``html``          200 with an HTML page (a --base-url that points at a web UI, a proxy's sign-in page)
``html502``       502 with nginx's HTML error page
``sse``           200 with a ``text/event-stream`` of chunks although no stream was asked for
``ssecut``        the same stream, cut before any chunk says how it finished
``sseerror``      the same stream, then ``data: {"error": {"code": 502, ...}}`` instead of a finish
                  (OpenRouter: an upstream failure after the answer began)
``nochoices``     200, ``choices: []``, no error, no filter results
``flagged``       403 with OpenRouter's moderation metadata (``reasons``, ``flagged_input``)
``credits``       402 "insufficient credits" (OpenRouter)
``redirect``      301 to the same URL (an http:// base URL on a server that redirects to https://):
                  the client follows a POST's redirect with a GET, as browsers do, which gets a 405
``bom``           the answer's JSON with a UTF-8 byte order mark in front (Windows proxies)
================  =====================================================================================
"""

from __future__ import annotations

import email.utils
import json
import re
import threading
import time
from collections import Counter
from typing import Any

from aiohttp import web

try:
    from servers.loopback import LoopbackServer, request_hash
except ModuleNotFoundError:  # run as a script: its folder is on sys.path
    from loopback import LoopbackServer, request_hash

SERVE = re.compile(r"SERVE=([a-z0-9]+)(?::([0-9.]+))?(?:\*(\d+))?")
CONTEXT_MESSAGE = (
    "This model's maximum context length is 2048 tokens. However, you requested 4100 tokens "
    "(100 in the messages, 4000 in the completion). Please reduce the length of the messages or completion."
)


def answer_to(body: dict[str, Any]) -> str:
    return "answer to: " + str(body["messages"][-1]["content"])


class MisbehavingChatServer(LoopbackServer):
    """``.url`` is the API root (…/v1); ``seen`` counts requests per kind (``answered`` too)."""

    thread_name = "misbehaving-chat"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.seen: Counter[str] = Counter()
        self._times: Counter[str] = Counter()
        self._lock = threading.Lock()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        return app

    def _kind(self, body: dict[str, Any], text: str) -> tuple[str, float]:
        """The kind to serve for this request (``answered`` once its ``*N`` is used up), its arg."""
        m = SERVE.search(text)
        with self._lock:
            self._times[request_hash(body)] += 1
            times = self._times[request_hash(body)]
            kind = m.group(1) if m and (m.group(3) is None or times <= int(m.group(3))) else "answered"
            self.seen[kind] += 1
        return kind, float(m.group(2) or 0) if m else 0.0

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        kind, arg = self._kind(body, str(texts[-1]))
        if kind != "answered":
            return _misbehave(kind, arg, {"messages": [{"role": "user", "content": texts[-1]}]})
        data = [
            {"object": "embedding", "index": i, "embedding": [float(len(t)), 1.0]}
            for i, t in enumerate(texts)
        ]
        return web.json_response({"object": "list", "data": data, "model": body.get("model", "m"),
                                  "usage": {"prompt_tokens": 3, "total_tokens": 3}})  # fmt: skip

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        kind, arg = self._kind(body, str(body["messages"][-1]["content"]))
        if kind == "answered":
            return web.json_response(_completion(body, answer_to(body)))
        return _misbehave(kind, arg, body)


def _completion(body: dict[str, Any], content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "m"),
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": len(content) // 4 + 1, "total_tokens": 0},
    }


def _error(status: int, message: str, **headers: str) -> web.Response:
    body = {"error": {"message": message, "type": "rate_limit_error", "code": status}}
    return web.json_response(body, status=status, headers=headers)


def _stream(body: dict[str, Any], *, cut: bool, error: bool = False) -> web.Response:
    words = answer_to(body).split(" ")
    chunk = {"id": "chatcmpl-s", "object": "chat.completion.chunk", "model": body.get("model", "m")}
    events = [{**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    for i, w in enumerate(words):
        piece = w if i == 0 else " " + w
        events.append(
            {**chunk, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        )
    if error:
        events.append({"error": {"code": 502, "message": "Upstream stream ended early"}})
    elif not cut:
        events.append({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        usage = {"prompt_tokens": 12, "completion_tokens": len(words), "total_tokens": 12 + len(words)}
        events.append({**chunk, "choices": [], "usage": usage})
    text = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + ("" if cut else "data: [DONE]\n\n")
    return web.Response(text=text, content_type="text/event-stream")


def _misbehave(kind: str, arg: float, body: dict[str, Any]) -> web.Response:
    if kind == "wait429":
        return _error(429, "Rate limit reached for requests", **{"Retry-After": f"{arg:g}"})
    if kind == "wait503date":
        date = email.utils.formatdate(time.time() + arg, usegmt=True)
        return _error(503, "The service is down for maintenance", **{"Retry-After": date})
    if kind == "waitms":
        return _error(429, "Rate limit reached for tokens", **{"retry-after-ms": f"{arg:g}"})
    if kind == "reset":
        minutes, seconds = divmod(arg, 60)
        reset = f"{int(minutes)}m{seconds:g}s" if minutes else f"{seconds:g}s"
        headers = {"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": reset}
        return _error(429, "Rate limit reached for tokens per minute", **headers)
    if kind == "vllmerror":
        err = {
            "object": "error",
            "message": CONTEXT_MESSAGE,
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        }
        return web.json_response(err)
    if kind == "routererror":
        meta = {"provider_name": "ExampleCloud", "raw": "upstream connect error"}
        return web.json_response(
            {"error": {"code": int(arg), "message": "Provider returned error", "metadata": meta}}
        )
    if kind == "errorstring":  # a proxy's bare error string, no code: what it says decides
        words = {1: "Model is overloaded, please try again later", 2: "Invalid request: unknown field 'foo'"}
        return web.json_response({"error": words[int(arg) or 1]})
    if kind == "litellm429":
        msg = "litellm.RateLimitError: RateLimitError: upstream rate limit, retry later"
        return web.json_response({"error": {"message": msg, "type": "None", "param": None, "code": "429"}})
    if kind == "html":
        page = "<!DOCTYPE html><html><head><title>Open WebUI</title></head><body><div id=app></div></body></html>"
        return web.Response(text=page, content_type="text/html")
    if kind == "html502":
        page = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
        return web.Response(text=page + "</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>", status=502,
                            content_type="text/html")  # fmt: skip
    if kind in ("sse", "ssecut", "sseerror"):
        return _stream(body, cut=kind == "ssecut", error=kind == "sseerror")
    if kind == "nochoices":
        return web.json_response({**_completion(body, ""), "choices": []})
    if kind == "flagged":
        meta = {
            "reasons": ["violence"],
            "flagged_input": "how to hurt...",
            "provider_name": "Mod",
            "model_slug": "m",
        }
        err = {"error": {"code": 403, "message": "Your input was flagged by moderation", "metadata": meta}}
        return web.json_response(err, status=403)
    if kind == "redirect":
        raise web.HTTPMovedPermanently(location="/v1/chat/completions")
    if kind == "bom":
        text = "\ufeff" + json.dumps(_completion(body, answer_to(body)))
        return web.Response(text=text, content_type="application/json")
    if kind == "credits":
        err = {
            "error": {"code": 402, "message": "Insufficient credits. Add more using https://example/credits"}
        }
        return web.json_response(err, status=402)
    raise ValueError(f"unknown SERVE kind {kind!r}")
