"""The Files and Batches endpoints of OpenAI and Azure OpenAI, as the batch runner uses them.

=====================  =========================================  ==========================================
what                   OpenAI (and compatible servers)            Azure OpenAI
=====================  =========================================  ==========================================
upload the requests    ``POST {base}/files`` (multipart,          ``POST {endpoint}/openai/files?api-version``
                       ``purpose=batch``)
create the batch       ``POST {base}/batches``                    ``POST {endpoint}/openai/batches?api-version``
look at it             ``GET {base}/batches/{id}``                the same under ``/openai``
find one by its file   ``GET {base}/batches?limit=100&after=``    the same under ``/openai``
download output        ``GET {base}/files/{id}/content``          the same under ``/openai``
``url`` of a line      ``/v1/chat/completions``                   ``/chat/completions`` (``model``: the
                                                                  deployment)
=====================  =========================================  ==========================================

Each call is retried like a chat call (429, 5xx, timeouts and dropped connections, up to
``max_attempts``), waiting what the server asks in the headers a chat call honours
(``retry-after-ms``, Retry-After, and on a 429 the ``x-ratelimit-reset-*`` of the exhausted
limit) up to ``--retry-after-max-s``, by the chat client's rule (tagengo.llm.waits.WaitCap);
401/403/404 stop the run (``FatalBackendError``) with the hint an online call gives; any other refusal is a :class:`BatchAPIError` naming the call.
Uploads and downloads stream from and to files, so a 200 MB batch file never sits in memory.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from pathlib import Path
from typing import Any

import aiohttp

from tagengo.llm.backends.openai_http import OPENAI_DEFAULT_BASE, retry_wait
from tagengo.llm.config import LLMConfig
from tagengo.llm.errors import FatalBackendError, LLMConfigError, LLMError, RetryableError
from tagengo.llm.secrets import Redactor, read_key
from tagengo.llm.waits import ANNOUNCE_WAIT_S, WaitCap, long_wait_line, long_wait_stop

_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 520, 521, 522, 524, 529}
#: Seconds an upload or download of a whole batch file may take (a chat call's --timeout-s is
#: meant for one answer, not 200 MB).
_FILE_TIMEOUT_S = 1800.0
_CHUNK = 1 << 20


class BatchAPIError(LLMError):
    """A call to the Files or Batches endpoints that failed for good (a refusal, or retries used up)."""


class BatchAPI:
    """One aiohttp session on the provider's Files and Batches endpoints; start it on the
    client's event loop (``await start()``), close it with ``aclose()``."""

    def __init__(self, config: LLMConfig, say: Any = None) -> None:
        self.config = config
        #: A line for the user (the batch runner's): long waits the server asks for are told.
        self.say = say or (lambda text: None)
        #: The --retry-after-max-s rule, the chat client's own (tagengo.llm.waits.WaitCap): a
        #: server still asking past the cap after the capped wait stops the run.
        self._cap = WaitCap(config.retry_after_max_s)
        self._key_env = config.key_env()
        key = read_key(self._key_env)
        self.redact = Redactor(key)
        self._headers: dict[str, str] = {}
        if config.backend == "azure":
            endpoint = config.base_url or os.environ.get("AZURE_OPENAI_ENDPOINT", "").rstrip("/")
            if not endpoint:
                raise LLMConfigError(
                    "backend 'azure' needs the resource endpoint: set --base-url or $AZURE_OPENAI_ENDPOINT"
                )
            self.root = f"{endpoint}/openai"
            self._params = {"api-version": config.azure_api_version}
            #: ``url`` of every request line, and the batch's ``endpoint``.
            self.line_url = "/chat/completions"
            #: ``model`` each line's body must name (Azure: the deployment), None: the body has it.
            self.body_model: str | None = config.azure_deployment or config.model
            if key:
                self._headers["api-key"] = key
        else:
            self.root = config.base_url or OPENAI_DEFAULT_BASE
            self._params = {}
            self.line_url = "/v1/chat/completions"
            self.body_model = None
            if key:
                self._headers["Authorization"] = f"Bearer {key}"
        self._has_key = key is not None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers=self._headers, cookie_jar=aiohttp.DummyCookieJar(), trust_env=True
            )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- the endpoints ------------------------------------------------------------------------

    async def upload(self, path: Path) -> dict[str, Any]:
        """``POST /files`` with ``purpose=batch``: the file object (``id``, ``bytes``, ``status``)."""

        def form() -> aiohttp.FormData:
            data = aiohttp.FormData()
            data.add_field("purpose", "batch")
            data.add_field("file", path.open("rb"), filename=path.name, content_type="application/jsonl")
            return data

        return await self._json("POST", "files", make_data=form, timeout_s=_FILE_TIMEOUT_S)

    async def create(self, input_file_id: str, metadata: dict[str, str]) -> dict[str, Any]:
        """``POST /batches``: the batch object."""
        body = {
            "input_file_id": input_file_id,
            "endpoint": self.line_url,
            "completion_window": "24h",
            "metadata": metadata,
        }
        return await self._json("POST", "batches", body=body)

    async def retrieve(self, batch_id: str) -> dict[str, Any]:
        return await self._json("GET", f"batches/{batch_id}")

    async def find_by_input(self, input_file_id: str, pages: int = 10) -> dict[str, Any] | None:
        """The batch made from ``input_file_id``, looked for in the newest ``pages`` x 100 batches:
        after a crash between creating a batch and recording its id, the run adopts that batch
        instead of paying for a second one."""
        after: str | None = None
        for _ in range(pages):
            params = {"limit": "100", **({"after": after} if after else {})}
            page = await self._json("GET", "batches", params=params)
            data = page.get("data") or []
            for b in data:
                if isinstance(b, dict) and b.get("input_file_id") == input_file_id:
                    return b
            if not page.get("has_more") or not data:
                return None
            after = page.get("last_id") or data[-1].get("id")
        return None

    async def download(self, file_id: str, dest: Path) -> None:
        """``GET /files/{id}/content`` streamed into ``dest``."""
        tmp = dest.with_name(dest.name + ".part")

        async def save(resp: aiohttp.ClientResponse) -> None:
            with tmp.open("wb") as f:
                async for chunk in resp.content.iter_chunked(_CHUNK):
                    f.write(chunk)

        await self._request("GET", f"files/{file_id}/content", consume=save, timeout_s=_FILE_TIMEOUT_S)
        os.replace(tmp, dest)

    # -- transport --------------------------------------------------------------------------------

    async def _json(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        box: list[Any] = []

        async def read(resp: aiohttp.ClientResponse) -> None:
            box.append(await resp.read())

        await self._request(method, path, consume=read, **kw)
        try:
            d = json.loads(box[0])
        except (ValueError, UnicodeDecodeError):
            raise BatchAPIError(
                self.redact(
                    f"{method} {self._where(path)} answered something that is not JSON: {box[0][:120]!r}"
                )
            ) from None
        if not isinstance(d, dict):
            raise BatchAPIError(f"{method} {self._where(path)} answered {type(d).__name__}, not an object")
        return d

    def _where(self, path: str) -> str:
        return f"{self.root}/{path}"

    async def _request(
        self,
        method: str,
        path: str,
        *,
        consume: Any,
        body: dict[str, Any] | None = None,
        make_data: Any = None,
        params: dict[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> None:
        assert self._session is not None, "BatchAPI not started"
        cfg = self.config
        url = self._where(path)
        timeout = aiohttp.ClientTimeout(total=max(cfg.timeout_s, timeout_s or 0.0), connect=30.0)
        query = {**self._params, **(params or {})}
        attempt = 0
        while True:
            attempt += 1
            wait: tuple[float, str] | None = None
            data = make_data() if make_data is not None else None
            try:
                async with self._session.request(
                    method, url, params=query or None, json=body, data=data, timeout=timeout
                ) as resp:
                    if resp.status == 200:
                        self._cap.clear()  # the server answers again
                        await consume(resp)
                        return
                    payload = await resp.read()
                    # Every header the chat client honours: retry-after-ms, Retry-After, and on a
                    # 429 the x-ratelimit-reset-* of the exhausted limit (backends.http_errors).
                    status, wait = resp.status, retry_wait(resp.headers, rate_limited=resp.status == 429)
                problem = f"HTTP {status}: {_detail(payload)}"
            except TimeoutError:
                status, problem = 0, f"timeout: no answer within {timeout.total:g}s"
            except (aiohttp.ClientError, OSError) as e:
                status, problem = 0, f"connection: {type(e).__name__}: {e}"
            finally:
                if data is not None:
                    _close_files(data)
            problem = self.redact(problem)
            if status in (401, 403, 404):
                hint = {
                    401: f"check the API key in ${self._key_env}"
                    if self._has_key
                    else f"no key was sent: set ${self._key_env} (or --api-key-env)",
                    403: f"the key in ${self._key_env} may not use the Batch API or this model",
                    404: "check --base-url (the server may have no Batch API: vLLM's is offline, use "
                    "--batch-dir) and the id",
                }[status]
                raise FatalBackendError(f"{method} {url} answered {problem}; {hint}")
            if status and status not in _RETRY_STATUS and status < 500:
                raise BatchAPIError(f"{method} {url} answered {problem}")
            if attempt >= cfg.max_attempts:
                raise BatchAPIError(f"{method} {url}: {problem} (gave up after {attempt} attempts)")
            if wait is not None:
                asked, header = wait
                delay = self._server_wait(
                    asked, RetryableError(problem, retry_after=asked, wait_header=header)
                )
            else:
                delay = random.uniform(0.0, min(cfg.backoff_max_s, cfg.backoff_base_s * 2 ** (attempt - 1)))
            await asyncio.sleep(delay)

    def _server_wait(self, asked: float, e: RetryableError) -> float:
        """How long to wait when the server asks for ``asked`` seconds: up to --retry-after-max-s,
        told when long; a second ask past the cap after a capped wait stops the run."""
        now = time.monotonic()
        cap = self._cap.cap
        if self._cap.past_cap_again(asked, now):
            raise FatalBackendError(self.redact(long_wait_stop(self.root, asked, e, cap)))
        wait, capped = self._cap.wait(asked, now)
        if capped or asked >= ANNOUNCE_WAIT_S:
            self.say(self.redact(long_wait_line(self.root, asked, e, wait, cap if capped else None)))
        return wait


def _close_files(data: aiohttp.FormData) -> None:
    for _, _, value in getattr(data, "_fields", ()):
        close = getattr(value, "close", None)
        if close is not None:
            close()


def _detail(payload: bytes) -> str:
    text = payload.decode("utf-8", "replace").strip()
    try:
        d = json.loads(text)
        err = d.get("error", d) if isinstance(d, dict) else d
        text = str(err.get("message") or err.get("code") or err) if isinstance(err, dict) else str(err)
    except ValueError:
        pass
    text = " ".join(text.split())
    return text[:300] + ("..." if len(text) > 300 else "")
