"""OpenAI-compatible chat completions over HTTP (OpenAI, vLLM, llama.cpp server, Ollama,
TGI...) and Azure OpenAI, which differs only in URL and auth header.

aiohttp rather than httpx: at 64 calls in flight httpx's async stack spends ~3 ms of CPU
per request on this kind of machine, aiohttp ~0.25 ms (benchmarks/generate_bench.py),
and a generation run is hundreds of thousands of requests.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
from typing import Any

import aiohttp
import orjson
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

from tagengo.llm.accounting import count_usage
from tagengo.llm.answer import content_parts
from tagengo.llm.backends.http_errors import (
    body_status,
    error_detail,
    is_filter,
    is_out_of_quota,
    retry_after_s,
    retry_wait,
)
from tagengo.llm.backends.sse import StreamError, join_stream
from tagengo.llm.config import OPENAI_DEFAULT_BASE, LLMConfig
from tagengo.llm.errors import FatalBackendError, LLMConfigError, LLMError, RequestError, RetryableError
from tagengo.llm.finish import STOP, normalise_finish_reason
from tagengo.llm.secrets import Redactor, read_key
from tagengo.llm.types import ChatRequest, ChatResponse, EndpointRequest

_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 520, 521, 522, 524, 529}
_FATAL_STATUS = {401, 403, 404, 405}


class OpenAIHTTPBackend:
    """One aiohttp session; the client's semaphore bounds how many calls it carries."""

    max_concurrency: int | None = None

    def __init__(self, config: LLMConfig):
        self.config = config
        self._key_env = config.key_env()
        key = read_key(self._key_env)
        self._redactor = Redactor(key)
        self._headers = {"Content-Type": "application/json"}
        #: Digests of request bodies whose answer was not valid UTF-8 once (retried once only).
        self._not_utf8_once: set[bytes] = set()
        if config.backend == "azure":
            endpoint = config.base_url or os.environ.get("AZURE_OPENAI_ENDPOINT", "").rstrip("/")
            if not endpoint:
                raise LLMConfigError(
                    "backend 'azure' needs the resource endpoint: set --base-url or $AZURE_OPENAI_ENDPOINT"
                )
            deployment = config.azure_deployment or config.model
            self._root = f"{endpoint}/openai/deployments/{deployment}"
            self._query = f"?api-version={config.azure_api_version}"
            self.url = f"{self._root}/chat/completions{self._query}"
            self.model_name = config.model or deployment
            self.model_id = config.cache_id or f"azure:{deployment}@{endpoint}"
            self._send_model = False
            if key:
                self._headers["api-key"] = key
        else:
            base = config.base_url or OPENAI_DEFAULT_BASE
            self._root, self._query = base, ""
            self.url = f"{base}/chat/completions"
            self.model_name = config.model or ""
            self.model_id = config.cache_id or f"openai:{config.model}@{base}"
            self._send_model = True
            if key:
                self._headers["Authorization"] = f"Bearer {key}"
        self._has_key = key is not None
        self._session: aiohttp.ClientSession | None = None
        self._proxy: URL | None = None
        self._proxy_auth: aiohttp.BasicAuth | None = None
        #: Whether this endpoint has answered a chat completion (in this run, or an answer cached
        #: from it: the client sets it on a cache hit). An HTML page after that is one call's
        #: proxy error page, not a wrong --base-url (see ``_not_json``).
        self.answered = False

    def redact(self, text: str) -> str:
        return self._redactor(text)

    async def start(self) -> None:
        # limit=0: no cap in aiohttp itself, the client's semaphore is the one concurrency knob.
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
        # trust_env=True would look up ~/.netrc and the proxy variables in a thread on every
        # request (two thread hops, the biggest CPU cost per call): look the proxy up once.
        try:
            self._proxy, self._proxy_auth = get_env_proxy_for_url(URL(self.url))
        except LookupError:
            self._proxy, self._proxy_auth = None, None
        self._session = aiohttp.ClientSession(
            connector=connector, headers=self._headers, cookie_jar=aiohttp.DummyCookieJar()
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def body(self, request: ChatRequest) -> dict[str, Any]:
        b: dict[str, Any] = {"messages": request.message_dicts(), "temperature": request.temperature}
        if self._send_model:
            b["model"] = self.config.model
        b[self.config.max_tokens_param] = request.max_tokens
        if request.top_p is not None:
            b["top_p"] = request.top_p
        if request.seed is not None:
            b["seed"] = request.seed
        if request.stop:
            b["stop"] = list(request.stop)
        for k, v in request.extra:
            b[k] = v
        return b

    async def complete(self, request: ChatRequest | EndpointRequest, timeout_s: float) -> ChatResponse:
        assert self._session is not None, "backend not started"
        if isinstance(request, EndpointRequest):
            return await self._complete_endpoint(request, timeout_s)
        data = _dumps(self.body(request))
        status, headers, payload = await self._post(self.url, data, timeout_s)
        if status != 200:
            self._raise_for_status(status, headers, payload)
        try:
            resp = self._parse(payload, headers)
        except _NotUTF8 as e:
            raise self._not_utf8_error(str(e), hashlib.blake2b(data, digest_size=16).digest()) from None
        self.answered = True
        if resp.tokens_estimated:
            resp.input_tokens, resp.output_tokens = count_usage(request, resp.content, resp.model)
        return resp

    async def _complete_endpoint(self, request: EndpointRequest, timeout_s: float) -> ChatResponse:
        """embeddings, moderations ...: same transport and error mapping, the JSON answer as content."""
        body = json.loads(request.body)
        if self._send_model:
            body["model"] = self.config.model
        url = f"{self._root}/{request.endpoint}{self._query}"
        status, headers, payload = await self._post(
            url, json.dumps(body, ensure_ascii=False).encode(), timeout_s
        )
        where = url.split("?", 1)[0]
        if status != 200:
            self._raise_for_status(status, headers, payload, where=where)
        try:
            d = _loads(payload)
        except (ValueError, UnicodeDecodeError):
            d = self._not_json(payload, where=where, stream=False)
        if not isinstance(d, dict):
            snippet = payload[:120].decode("utf-8", "replace")
            raise RetryableError(self.redact(f"malformed response: {snippet!r}"))
        if d.get("error") is not None or d.get("object") == "error":
            # A gateway's error object with status 200 is no answer: cached as one, it would come
            # back on every re-run as the embedding or the verdict of these texts.
            self._raise_for_body(d, headers, where=where)
        n_in = _count(d.get("usage"), "prompt_tokens")
        if n_in is None:
            n_in, _ = count_usage(request, None, self.config.model)
        return ChatResponse(
            content=payload.decode("utf-8"),
            finish_reason="stop",
            model=d.get("model") or self.model_name,
            input_tokens=n_in,
            tokens_estimated=_count(d.get("usage"), "prompt_tokens") is None,
            raw={k: d[k] for k in ("id", "created") if k in d},
        )

    async def _post(self, url: str, data: bytes, timeout_s: float) -> tuple[int, Any, bytes]:
        timeout = _timeout(timeout_s)
        try:
            async with self._session.post(
                url, data=data, timeout=timeout, proxy=self._proxy, proxy_auth=self._proxy_auth
            ) as resp:
                payload = await resp.read()
                status = resp.status
                headers = resp.headers
        except TimeoutError:
            raise RetryableError(f"timeout: no answer within {timeout_s:g}s") from None
        except aiohttp.ClientConnectorError as e:
            raise RetryableError(
                self.redact(f"connection: cannot reach {url.split('?', 1)[0]} ({e.os_error})")
            ) from None
        except (aiohttp.ClientError, OSError) as e:
            raise RetryableError(self.redact(f"connection: {type(e).__name__}: {e}")) from None
        return status, headers, payload

    def _where(self) -> str:
        return self.url.split("?", 1)[0]

    def _not_utf8_error(self, msg: str, key: bytes) -> LLMError:
        """The error for a body that is not valid UTF-8: retried once (a stream garbled on the way
        mends), then this row's ``provider error``: a server that sends Latin-1 sends it again, and
        six attempts only spent time. ``key`` (the request body's digest) tells the second time."""
        if key in self._not_utf8_once:
            self._not_utf8_once.discard(key)
            return RequestError(f"{msg} (asked twice)", kind="provider error")
        if len(self._not_utf8_once) >= 10_000:
            self._not_utf8_once.clear()
        self._not_utf8_once.add(key)
        return RetryableError(msg, kind="provider error")

    def _parse(self, payload: bytes, headers: Any = None) -> ChatResponse:
        body = _as_utf8(payload, headers)
        try:
            d = _loads(body)
        except (ValueError, UnicodeDecodeError):
            # A JSON body only: an HTML page or an event stream in another charset is still named
            # as such by _not_json (a wrong --base-url says more than its charset).
            if body.lstrip()[:1] == b"{" and (bad := _utf8_problem(body)) is not None:
                raise _NotUTF8(
                    self.redact(
                        f"malformed response: {bad}: the server (or a proxy) sent another charset than "
                        "UTF-8 without naming it in Content-Type"
                    )
                ) from None
            d = self._not_json(payload)
        if isinstance(d, dict) and not d.get("choices"):
            self._raise_for_body(d, headers or {})  # an error object, or a prompt held back by a filter
        try:
            choice, others = _first_choice(d["choices"])
            if "message" not in choice and "text" in choice:
                self._raise_text_completion(d)
            message = choice.get("message") or {}
            content, part_reasoning = content_parts(message.get("content"))
            finish = choice.get("finish_reason")
        except (KeyError, IndexError, TypeError, AttributeError):
            snippet = payload[:120].decode("utf-8", "replace")
            raise RetryableError(self.redact(f"malformed response: {snippet!r}")) from None
        _raise_if_not_text(message.get("content"))
        _raise_if_transient(finish, message, content, d.get("usage"))
        # vLLM/DeepSeek: reasoning_content; Ollama, OpenRouter, llama.cpp server: reasoning.
        reasoning = next(
            (
                v
                for k in ("reasoning_content", "reasoning")
                if isinstance(v := message.get(k), str) and v.strip()
            ),
            None,
        )
        if part_reasoning:
            reasoning = f"{reasoning}\n\n{part_reasoning}" if reasoning else part_reasoning
        usage = d.get("usage")
        n_in = _count(usage, "prompt_tokens")
        n_out = _count(usage, "completion_tokens")
        raw = {k: d[k] for k in ("id", "system_fingerprint", "created") if k in d}
        raw["finish_reason"] = finish  # the server's own word; finish_reason below is normalised
        if calls := _tool_call_names(message):
            raw["tool_calls"] = calls  # the answer contract counts them when no tool was offered
        if others:
            raw["extra_choices"] = others  # choices besides index 0: ignored, counted in meta
        if bad := _bad_usage(usage):
            raw["usage_ignored"] = bad  # counted here instead, as for a server that sends no usage
        return ChatResponse(
            content=content,
            finish_reason=normalise_finish_reason(finish),
            model=d.get("model") or self.model_name,
            input_tokens=n_in or 0,
            output_tokens=n_out or 0,
            # No usage, or null counts (Ollama and some proxies): ``complete`` counts them here,
            # so cost and --budget still hold.
            tokens_estimated=n_in is None or n_out is None,
            raw=raw,
            reasoning=reasoning,
        )

    def _raise_text_completion(self, d: dict[str, Any]) -> None:
        """A body shaped as a text completion (``choices[0].text``, no ``message``) answers the
        legacy completions API, not chat. Rejected, not read: that API applies no chat template,
        so the text continues whatever the server made of the messages and is not known to be the
        model's reply in the assistant's turn. Every call gets the same, so the run stops after
        --abort-after-failures of them with this reason."""
        raise RequestError(
            self.redact(
                f"malformed response: {self._where()} answered a text completion (choices[0].text, "
                f"object {d.get('object')!r}), not a chat completion: --base-url points at a /completions "
                "endpoint or at a server that speaks the legacy completions API; use the chat API's root "
                "(it usually ends in /v1)"
            ),
            kind="provider error",
        )

    def _not_json(self, payload: bytes, *, where: str | None = None, stream: bool = True) -> dict[str, Any]:
        """A 200 whose body is not JSON: an event stream nobody asked for (joined into the one
        answer it carries), an HTML page, or a garbled body (retried). An HTML page before the
        endpoint ever answered is a wrong --base-url or a proxy's login page (every call gets the
        same, so the run stops); after it answered, it is a proxy's error page for this one call
        (a gateway between the replicas), retried and then this row's failed call, so one such
        page among thousands of calls neither stops the run nor kills every resume on that row."""
        head = payload[:512].lstrip().lower()
        if stream and head.startswith((b"data:", b"event:", b":")):
            try:
                return join_stream(payload)
            except StreamError as e:
                raise RetryableError(self.redact(f"HTTP 200 with a broken event stream: {e}")) from None
        if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head:
            if self.answered:
                err = RetryableError(
                    self.redact(
                        f"malformed response: HTTP 200 with an HTML page ({error_detail(payload)}), not a "
                        "chat completion, from an endpoint that answered other calls (a proxy's error page)"
                    )
                )
                # The server is up (it answers): a resume that asks only this row is no "server down".
                err.server_answered = True
                raise err
            raise FatalBackendError(
                f"{where or self._where()} answered HTTP 200 with an HTML page ({self.redact(error_detail(payload))}), "
                "not a chat completion: --base-url must be the root of an OpenAI-compatible API (it "
                "usually ends in /v1), not a web page or a proxy's sign-in page"
            )
        if not payload.strip():
            raise RetryableError("malformed response: HTTP 200 with an empty body")
        snippet = payload[:120].decode("utf-8", "replace")
        raise RetryableError(self.redact(f"malformed response: {snippet!r}"))

    def _raise_for_body(self, d: dict[str, Any], headers: Any, *, where: str | None = None) -> None:
        """A 200 that carries no answer: an error object (vLLM's ``{"object": "error", ...}``,
        OpenRouter's and LiteLLM's ``{"error": {...}}``), or an empty ``choices`` (Azure's with
        the prompt's filter results). The error's code decides as a status would: 429 and 5xx
        are retried, 4xx rejects the row as ``provider error`` with the provider's message."""
        err = d.get("error")
        if err is None and d.get("object") == "error":
            err = d  # vLLM before 0.10.1 (and servers copying it): the error object is the body
        if err is not None:
            status, said = _body_status(err)
            payload = json.dumps({"error": err}).encode()
            self._raise_for_status(status, headers, payload, where, in_body=True, said=said)
        for result in d.get("prompt_filter_results") or []:
            cats = (result or {}).get("content_filter_results") or {}
            hit = sorted(k for k, v in cats.items() if isinstance(v, dict) and v.get("filtered"))
            if hit:
                raise RequestError(
                    f"the prompt was held back by a content filter ({', '.join(hit)})", kind="filtered"
                )
        if "choices" in d and d["choices"] is not None and not d["choices"]:
            # No error and no filter result: the same request gets the same (a safety block some
            # OpenAI-compatible gateways send this way), so the row is rejected, not retried.
            raise RequestError(
                'HTTP 200 with no answer in it ("choices": [], no error, no filter result)',
                kind="provider error",
            )

    def _raise_for_status(
        self,
        status: int,
        headers: Any,
        payload: bytes,
        where: str | None = None,
        *,
        in_body: bool = False,
        said: str | None = None,
    ) -> None:
        """Raise the error a status (or, ``in_body``, the code of an error object in a 200) means.
        ``said`` is how the error object named its class, when it sent no code (never a code the
        server did not send)."""
        detail = self.redact(error_detail(payload))
        if in_body:
            said = said or f"code {status} in an HTTP 200 body"
            msg = f"{detail} ({said})" if detail else said
        else:
            msg = f"HTTP {status}: {detail}" if detail else f"HTTP {status}"
        where = where or self._where()
        if status == 402 or (status == 429 and is_out_of_quota(payload)):
            # Not a rate limit: no wait makes it pass, and every other call gets the same answer.
            raise FatalBackendError(
                f"{where} answered {msg}; the account behind ${self._key_env} is out of quota or "
                "credit: add credit (or use another key) and re-run"
            )
        if status in _RETRY_STATUS or status >= 500:
            wait = retry_wait(headers, rate_limited=status == 429)
            raise RetryableError(
                msg,
                retry_after=wait[0] if wait else None,
                wait_header=wait[1] if wait else "Retry-After",
                rate_limited=status == 429,
                kind="provider error" if in_body else "failed",
            )
        if is_filter(payload):
            # Before the fatal statuses: OpenRouter answers a prompt its moderation flagged with 403.
            raise RequestError(f"the prompt was held back by a content filter ({msg})", kind="filtered")
        if status in _FATAL_STATUS:
            hint = {
                401: f"check the API key in ${self._key_env}"
                if self._has_key
                else f"no key was sent: set ${self._key_env} (or --api-key-env)",
                403: f"the key in ${self._key_env} may not use this model or endpoint",
                404: "check --base-url and --model (or the Azure deployment)",
                # A redirect (http to https, a missing path) makes aiohttp, as browsers do, follow
                # a POST with a GET, which the chat endpoint refuses: every call would.
                405: "check --base-url: it must be the API root itself (https:// where the server "
                "redirects http, the path with /v1), not a URL the server redirects",
            }[status]
            raise FatalBackendError(f"{where} answered {msg}; {hint}")
        raise RequestError(msg, kind="provider error" if in_body else "refused")


#: The class an error object without a code names in its ``type`` (vLLM's and FastAPI servers'
#: exception names, OpenAI's error types): a server error is retried like a 500, a request the
#: server calls invalid is refused like a 400.
_SERVER_ERROR_TYPE = re.compile(
    r"internal|server.?error|service.?unavailable|engine|overloaded|timeout", re.I
)
_REQUEST_ERROR_TYPE = re.compile(
    r"invalid|bad.?request|validation|not.?found|unprocessable|request.?error", re.I
)


def _sent_code(err: dict[str, Any]) -> bool:
    """Whether an error object carries an HTTP status as its ``code`` or ``status``."""
    for key in ("code", "status"):
        v = err.get(key)
        if isinstance(v, int | float) and not isinstance(v, bool) and 100 <= v <= 599:
            return True
        if isinstance(v, str) and v.strip().isdigit() and 100 <= int(v) <= 599:
            return True
    return False


def _body_status(err: Any) -> tuple[int, str | None]:
    """(the status an error object in a 200 stands for, how to say so when it sent no code). With
    a code, the code decides (``body_status``) and the reason names it; without one, its ``type``
    (``InternalServerError``, ``invalid_request_error``), else its word code or its message, and
    the reason names the type and that there was no code: never "code 400" the server did not send
    (the s33 trial's ``{"object": "error", "message": "Internal error", "type":
    "InternalServerError"}`` was "code 400" and rejected at once)."""
    if isinstance(err, dict) and _sent_code(err):
        return body_status(err), None
    status = body_status(err)
    if not isinstance(err, dict):  # {"error": "Model is overloaded"}: words only
        err = {"message": err}
    kind = next((v for k in ("code", "type") if isinstance(v := err.get(k), str) and v.strip()), None)
    message = str(err.get("message") or "")
    if status == 400 and not _REQUEST_ERROR_TYPE.search(f"{kind or ''} {message}"):
        # body_status knew no word of it: the type (else the message) names the class
        status = 500 if _SERVER_ERROR_TYPE.search(f"{kind or ''} {message}") else 400
    read = (
        "a server error: retried"
        if status >= 500
        else "a rate limit"
        if status == 429
        else "a refusal of this request"
    )
    named = f"{kind!r}" if kind else "an error object"
    return status, f"{named} in an HTTP 200 body with no code, read as {read}"


#: Server words for a generation the engine gave up on (vLLM's ``abort``: a preempted or
#: cancelled request), not the model's stop: the same request asked again gets an answer.
_ABORTED = {"abort", "aborted", "cancelled", "canceled"}
#: Message fields that make a null ``content`` an answer of another kind.
_OTHER_ANSWERS = ("tool_calls", "function_call", "refusal", "reasoning_content", "reasoning")


def _raise_if_transient(finish: Any, message: dict[str, Any], content: str | None, usage: Any) -> None:
    """Raise ``RetryableError`` for an answer that is a passing server fault, so it is asked again
    and never cached: an aborted generation (vLLM ``finish_reason: "abort"``, partial text), and
    Ollama's ``content: null`` with ``finish_reason: "stop"`` and no completion tokens (ollama
    issue 13371: the runner lost the request). A null content with tool calls, a refusal or
    reasoning is an answer of another kind and passes."""
    if isinstance(finish, str) and finish.strip().lower() in _ABORTED:
        raise RetryableError(
            f"the server aborted the generation (finish_reason={finish!r}, "
            f"{len(content or ''):,} characters of a partial answer): an engine abort, asked again"
        )
    if (
        content is None
        and normalise_finish_reason(finish) == STOP
        and not any(message.get(k) for k in _OTHER_ANSWERS)
        and not _count(usage, "completion_tokens")
    ):
        raise RetryableError(
            "the server finished with stop but sent content null and no completion tokens (an Ollama "
            "runner that lost the request, ollama issue 13371): asked again"
        )
    if (
        finish is None
        and not (content or "").strip()
        and not any(message.get(k) for k in _OTHER_ANSWERS)
        and not _count(usage, "completion_tokens")
    ):
        # The same lost request in Ollama's other shape: no finish reason at all, empty content,
        # usage 0/0. No generation ended here, so it is asked again and never cached (it was
        # ``unknown finish reason``, cached, and every re-run read it back).
        raise RetryableError(
            "the server sent no finish reason, no content and no completion tokens (a runner that "
            "lost the request): asked again"
        )


class _NotUTF8(RetryableError):
    """A response body that is not valid UTF-8 (what it says: the byte and where). Retryable where
    no request is known to count the tries (the batch client's lines)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="provider error")


def _utf8_problem(body: bytes) -> str | None:
    """Where ``body`` is not valid UTF-8, as the input readers say it ("byte 0xdf at position
    45", with the text around it), or None when it is valid."""
    try:
        body.decode("utf-8")
        return None
    except UnicodeDecodeError as e:
        around = body[max(0, e.start - 30) : e.start + 10].decode("utf-8", "replace")
        return f"the body is not valid UTF-8: byte 0x{body[e.start]:02x} at position {e.start + 1:,} (in {around!r})"


def _first_choice(choices: Any) -> tuple[Any, int]:
    """(the choice with ``index`` 0, how many others there are): the answer to the one completion
    asked for. A server or proxy that sends more (a second sample, another model's in a fan-out)
    may put them in any order, so the list's first is not it; without index 0, the lowest index
    (or the first, where none has an index). Raises what a malformed list raises on ``[0]``."""
    if not isinstance(choices, list) or len(choices) < 2:
        return choices[0], 0

    def index(c: Any) -> float:
        i = c.get("index") if isinstance(c, dict) else None
        return i if isinstance(i, int) and not isinstance(i, bool) else math.inf

    return min(choices, key=index), len(choices) - 1


def _raise_if_not_text(content: Any) -> None:
    """Raise ``RequestError`` for a ``content`` that is neither text, a list of parts nor null (a
    number, an object, a boolean: a broken server or proxy), so the row's reason says so rather
    than ``empty answer``."""
    if content is None or isinstance(content, str | list):
        return
    shown = json.dumps(content, ensure_ascii=False)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise RequestError(
        f"malformed response: the message's content is {type(content).__name__} {shown}, not text",
        kind="provider error",
    )


def _tool_call_names(message: dict[str, Any]) -> list[str]:
    """The functions a message's structured ``tool_calls`` (or legacy ``function_call``) call."""
    calls = message.get("tool_calls")
    calls = calls if isinstance(calls, list) else []
    if isinstance(message.get("function_call"), dict):
        calls = [*calls, {"function": message["function_call"]}]
    names = []
    for c in calls:
        fn = c.get("function") if isinstance(c, dict) else None
        name = fn.get("name") if isinstance(fn, dict) else None
        names.append(name if isinstance(name, str) else "?")
    return names


def _as_utf8(payload: bytes, headers: Any) -> bytes:
    """The body in UTF-8 (what JSON must be, and what the parsers read): a body that is not valid
    UTF-8 and whose Content-Type declares another charset (``charset=iso-8859-1`` from some
    proxies and Windows servers) is decoded by that charset first, not called malformed."""
    ctype = (headers or {}).get("Content-Type", "") if hasattr(headers, "get") else ""
    m = _CHARSET.search(ctype or "")
    if m is None:
        return payload
    try:
        # RFC 8259: JSON between systems is UTF-8. Bytes that are valid UTF-8 are read as such,
        # whatever the header says (a proxy that labels every body iso-8859-1 would otherwise turn
        # "Atmosphäre" into "AtmosphÃ¤re"); Latin-1 text is almost never valid UTF-8 by chance.
        payload.decode("utf-8")
        return payload
    except UnicodeDecodeError:
        pass
    charset = m.group(1).strip("\"'").lower()
    if charset.replace("-", "").replace("_", "") in ("utf8", "usascii", "ascii"):
        return payload
    try:
        return payload.decode(charset).encode("utf-8")
    except (LookupError, UnicodeDecodeError):
        return payload  # an unknown or wrong charset: read as UTF-8, as before


_CHARSET = re.compile(r"charset\s*=\s*([^;\s]+)", re.IGNORECASE)


@functools.lru_cache(maxsize=8)
def _timeout(timeout_s: float) -> aiohttp.ClientTimeout:
    """One (immutable) timeout object per value, not one per call."""
    return aiohttp.ClientTimeout(total=timeout_s, connect=min(timeout_s, 30.0))


def _dumps(body: dict[str, Any]) -> bytes:
    """The request body as UTF-8 JSON. orjson: a third of json's time per call on the event loop
    (docs/benchmarks.md); json for what orjson refuses (integers past 64 bits in ``extra``)."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body, ensure_ascii=False).encode()


def _loads(payload: bytes) -> Any:
    """A response body; json, which is more lenient (NaN, lone surrogates), where orjson refuses.
    A UTF-8 byte order mark in front (some Windows proxies add one) is dropped: neither takes it."""
    payload = payload.removeprefix(b"\xef\xbb\xbf")
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return json.loads(payload)


def _count(usage: Any, key: str) -> int | None:
    """A token count from ``usage``; None when usage, or this count, is missing, null or unusable
    (``NaN``, ``Infinity``, negative, not a number: Python's json reads ``NaN`` and ``Infinity``,
    and ``int(nan)`` raised for every row). Unusable counts are read as missing ones: the tokens
    are counted here (``tokens_estimated``), and :func:`_bad_usage` names them for the row's meta."""
    if not isinstance(usage, dict):
        return None
    value = usage.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value < 0:
        return None
    return int(value)


def _bad_usage(usage: Any) -> str | None:
    """The usage counts a server sent that cannot be counts (``completion_tokens=NaN``), or None
    when there are none: what the row's meta ``usage_ignored`` says."""
    if not isinstance(usage, dict):
        return None
    bad = [
        f"{k}={v!r}"
        for k in ("prompt_tokens", "completion_tokens")
        if (v := usage.get(k)) is not None and _count(usage, k) is None
    ]
    return ", ".join(bad) or None


#: ``retry_wait`` is read from here by the batch client (``tagengo.llm.batch.api``).
__all__ = ["OpenAIHTTPBackend", "retry_after_s", "retry_wait"]
