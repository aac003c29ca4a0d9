"""LLMClient with its HTTP calls spread over several call loops (tagengo.llm.client.call_loops):
the answers, the cache, and everything that is per client (the concurrency limit, the budget,
the rate limit, the 429 pause, the progress count) hold across the loops as on one."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from servers.fake_chat_server import FaultRates, answer_for
from tagengo.llm import BudgetExhausted, ChatRequest, LLMConfigError, build_client
from tagengo.llm.backends.llamacpp import LlamaCppBackend
from tagengo.llm.backends.openai_http import OpenAIHTTPBackend
from tagengo.llm.client import LOOPS_ENV, call_loops
from tagengo.llm.errors import RetryableError


def _requests(n: int, prefix: str = "question") -> list[ChatRequest]:
    return [
        ChatRequest.from_messages([{"role": "user", "content": f"{prefix} {i}"}], max_tokens=32)
        for i in range(n)
    ]


@pytest.fixture
def loops(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv(LOOPS_ENV, "4")
    return 4


def _log_calls(client: Any) -> list[tuple[float, float, str, str]]:
    """Wrap the backend's ``complete``: (start, end, thread, outcome) of every attempt."""
    log: list[tuple[float, float, str, str]] = []
    real = client.backend.complete

    async def complete(req: Any, timeout_s: float) -> Any:
        start = time.monotonic()
        try:
            resp = await real(req, timeout_s)
        except RetryableError as e:
            log.append(
                (start, time.monotonic(), threading.current_thread().name, "429" if e.rate_limited else "x")
            )
            raise
        log.append((start, time.monotonic(), threading.current_thread().name, "ok"))
        return resp

    client.backend.complete = complete
    return log


def test_the_calls_go_out_on_every_call_loop_and_come_back_in_order_and_cached(
    fake_server, quick_config, loops
):
    server = fake_server(latency_s=0.01)
    reqs = _requests(60)
    with build_client(quick_config(server, concurrency=16)) as client:
        log = _log_calls(client)
        out = client.chat_many(reqs)
        summary = client.summary()["teacher"]
    assert [r.content for r in out] == [answer_for({"messages": q.message_dicts()}) for q in reqs]
    assert {name for _, _, name, _ in log} == {f"tagengo-llm-calls-{i}" for i in range(loops)}
    assert summary["calls"] == 60 and server.stats.received == 60

    with build_client(quick_config(server, concurrency=16)) as client:
        again = client.chat_many(reqs)
    assert all(r.cached for r in again) and server.stats.received == 60


def test_the_concurrency_limit_holds_across_the_loops(fake_server, quick_config, loops):
    server = fake_server(latency_s=0.03)
    with build_client(quick_config(server, concurrency=6)) as client:
        client.chat_many(_requests(60))
    assert 2 <= server.stats.max_in_flight <= 6


def test_the_budget_holds_across_the_loops_and_a_rerun_pays_nothing_twice(fake_server, quick_config, loops):
    server = fake_server(latency_s=0.01)
    priced = {"input_price_per_1m": 1000.0, "output_price_per_1m": 1000.0, "concurrency": 8}
    reqs = _requests(60)
    with build_client(quick_config(server, budget=0.4, **priced)) as client:
        with pytest.raises(BudgetExhausted) as exc:
            client.chat_many(reqs)
        spent = client.accounting.spent
    done = [r for r in exc.value.responses if r is not None]
    assert 0 < len(done) < len(reqs) and spent <= 0.4
    assert spent == pytest.approx(sum(r.cost for r in done))

    with build_client(quick_config(server, **priced)) as client:
        out = client.chat_many(reqs)
    assert all(r.ok for r in out) and sum(r.cached for r in out) == len(done)
    assert max(server.stats.completed.values()) == 1


def test_a_429_on_one_loop_pauses_the_calls_of_every_loop(fake_server, quick_config, loops):
    server = fake_server(latency_s=0.02, faults=FaultRates(rate_429=0.15, retry_after_s=0.3), seed=5)
    with build_client(quick_config(server, concurrency=8)) as client:
        log = _log_calls(client)
        out = client.chat_many(_requests(40))
    assert all(r.ok for r in out)
    limited = [(end, name) for _, end, name, what in log if what == "429"]
    assert limited, "the server never said 429"
    # Calls already on their way when the 429 came back may still go out; from 0.1 s on, none
    # may start on any loop until the server's 0.3 s have passed.
    for end, _ in limited:
        starts = [s for s, _, _, _ in log if end + 0.1 <= s < end + 0.3]
        assert not starts, f"{len(starts)} calls started during the pause of a 429 at {end}"


def test_the_requests_per_minute_limit_holds_across_the_loops(fake_server, quick_config, loops):
    server = fake_server()
    with build_client(quick_config(server, rpm=1200, concurrency=16)) as client:
        started = time.monotonic()  # the server runs in this process: same clock
        client.chat_many(_requests(30))
    # 20 a second with a bucket of 20: the 30th not before +0.5 s (a lower bound).
    assert max(t for t, _, _ in server.stats.events) - started >= 0.5


def test_progress_counts_every_answer_once(fake_server, quick_config, loops):
    server = fake_server(latency_s=0.005)
    with build_client(quick_config(server, concurrency=16)) as client:
        client.chat_many(_requests(25))
        client.chat_many(_requests(25, prefix="other") + _requests(5))
        assert client._progress._done == client._progress._total == 55


def test_closing_the_client_ends_every_loop_thread(fake_server, quick_config, loops):
    server = fake_server()
    with build_client(quick_config(server, concurrency=16)) as client:
        client.chat_many(_requests(8))
        assert sum(t.name.startswith("tagengo-llm-calls-") for t in threading.enumerate()) == loops
    assert not [t.name for t in threading.enumerate() if t.name.startswith("tagengo-llm")]


def test_how_many_loops_carry_the_calls(monkeypatch, tmp_path):
    from tagengo.llm import LLMConfig

    monkeypatch.delenv(LOOPS_ENV, raising=False)
    http = OpenAIHTTPBackend(LLMConfig(model="m", base_url="http://127.0.0.1:1/v1"))
    # One per 16 calls in flight, at most 4; the default 8 in flight keep the one control loop.
    assert [call_loops(c, http) for c in (1, 8, 16, 40, 64, 512)] == [1, 1, 1, 2, 4, 4]
    assert call_loops(64, http, loops=2) == 2 and call_loops(3, http, loops=8) == 3
    # A backend with one model in process never spreads.
    assert not getattr(LlamaCppBackend, "spreads_over_loops", False)
    monkeypatch.setenv(LOOPS_ENV, "3")
    assert call_loops(64, http) == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(LOOPS_ENV, bad)
        with pytest.raises(
            LLMConfigError, match=rf"\${LOOPS_ENV} must be a whole number from 1 up, not '{bad}'"
        ):
            call_loops(64, http)
