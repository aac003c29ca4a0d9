"""The Batch API's Files and Batches calls wait what the server asks the way a chat call does
(tagengo.llm.waits.WaitCap, one rule for both): from every header the chat client reads
(``retry-after-ms``, Retry-After, a 429's ``x-ratelimit-reset-*``), cut to --retry-after-max-s,
told on a line; an answer in between starts afresh. Against the scripted Batch API over real HTTP,
made to answer 429 first."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from servers.batch_api import BatchAPIServer
from servers.loopback import started_servers
from tagengo.llm import LLMConfig
from tagengo.llm.batch.api import BatchAPI
from tagengo.llm.errors import FatalBackendError, RetryableError
from tagengo.llm.waits import WaitCap


class BusyBatchAPI(BatchAPIServer):
    """Answers the first ``busy`` requests 429 with ``headers`` (and no Retry-After unless given)."""

    def __init__(self, *, busy: int = 1, headers: dict[str, str] | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.busy = busy
        self.busy_headers = headers or {}
        self.refused = 0

    def _check(self, request: web.Request) -> web.Response | None:
        if self.refused < self.busy:
            self.refused += 1
            return web.json_response(
                {"error": {"message": "Rate limit reached for requests", "code": "rate_limit_exceeded"}},
                status=429,
                headers=self.busy_headers,
            )
        return super()._check(request)


@pytest.fixture
def busy_server() -> Iterator[Callable[..., BusyBatchAPI]]:
    yield from started_servers(BusyBatchAPI)


def _upload(server: BusyBatchAPI, tmp_path: Path, cap: float) -> tuple[dict[str, Any], list[str], float]:
    config = LLMConfig(
        backend="openai", model="teacher", base_url=server.url, cache_path=tmp_path / "c.sqlite",
        batch=True, retry_after_max_s=cap, max_attempts=4, backoff_base_s=0.01,
    )  # fmt: skip
    said: list[str] = []
    api = BatchAPI(config, said.append)
    path = tmp_path / "in.jsonl"
    path.write_text('{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n')

    async def go() -> dict[str, Any]:
        await api.start()
        try:
            return await api.upload(path)
        finally:
            await api.aclose()

    start = time.monotonic()
    got = asyncio.run(go())
    return got, said, time.monotonic() - start


def test_a_429_with_only_the_rate_limit_reset_header_is_waited_to_the_cap_and_told(busy_server, tmp_path):
    """OpenAI and Groq send a 429 without Retry-After but with the exhausted limit's reset:
    the Batch API used to read only Retry-After, and backed off blindly."""
    server = busy_server(
        headers={"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1h0m0s"}
    )
    got, said, took = _upload(server, tmp_path, cap=0.3)
    assert got["id"].startswith("file") and server.refused == 1
    assert len(said) == 1 and "asked to wait 3600 s" in said[0], said
    assert "x-ratelimit-reset-requests" in said[0] and "--retry-after-max-s" in said[0]
    assert 0.3 <= took < 3.0


def test_retry_after_ms_is_read_and_a_short_wait_is_waited_silently(busy_server, tmp_path):
    server = busy_server(busy=2, headers={"retry-after-ms": "150"})
    got, said, took = _upload(server, tmp_path, cap=60.0)
    assert got["id"].startswith("file") and server.refused == 2 and said == []
    assert took >= 0.3  # two waits of 150 ms, not the 10 ms backoff


def test_the_rate_limit_reset_counts_only_when_the_limit_is_exhausted(busy_server, tmp_path):
    """A reset header of a limit with requests left says nothing about this 429: backoff, no line."""
    server = busy_server(headers={"x-ratelimit-remaining-requests": "12", "x-ratelimit-reset-requests": "1h"})
    got, said, took = _upload(server, tmp_path, cap=0.3)
    assert got["id"].startswith("file") and said == [] and took < 0.3


def test_one_rule_for_the_client_and_the_batch_api():
    cap = WaitCap(10.0)
    assert cap.wait(3.0, 100.0) == (3.0, False) and cap.capped_until is None
    assert cap.wait(3600.0, 100.0) == (10.0, True)
    # Asked again during the capped wait: the same end, not a new cap (every call waits together).
    assert cap.wait(3600.0, 105.0) == (5.0, True) and not cap.past_cap_again(3600.0, 105.0)
    assert cap.past_cap_again(3600.0, 110.0) and not cap.past_cap_again(5.0, 110.0)
    cap.clear()  # an answer in between: a later long ask gets its capped wait again
    assert not cap.past_cap_again(3600.0, 200.0) and cap.wait(3600.0, 200.0) == (10.0, True)


def test_an_answer_between_two_long_waits_gives_the_batch_api_a_fresh_cap(tmp_path):
    """The Batch API kept its capped time for ever: an hour later, one more long ask stopped the
    run at once, though the server had answered in between (the chat client cleared it)."""
    config = LLMConfig(
        backend="openai", model="teacher", base_url="http://127.0.0.1:9/v1",
        cache_path=tmp_path / "c.sqlite", batch=True, retry_after_max_s=0.1,
    )  # fmt: skip
    api = BatchAPI(config, [].append)
    e = RetryableError("HTTP 429: slow down", retry_after=3600.0)
    assert api._server_wait(3600.0, e) == pytest.approx(0.1, abs=0.01)
    time.sleep(0.15)
    api._cap.clear()  # what a 200 does in BatchAPI._request
    assert api._server_wait(3600.0, e) == pytest.approx(0.1, abs=0.01)
    time.sleep(0.15)
    with pytest.raises(FatalBackendError, match="still asks to wait 3600 s"):
        api._server_wait(3600.0, e)
