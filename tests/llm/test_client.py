"""LLMClient against a real HTTP server on loopback that misbehaves on demand
(tests/servers/fake_chat_server.py): cache, retries, Retry-After, timeouts, concurrency, budget, aborts."""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter, defaultdict

import pytest

from servers.fake_chat_server import FaultRates, answer_for
from tagengo.llm import BudgetExhausted, ChatRequest, RunAborted, build_client
from tagengo.llm.accounting import count_usage


def _requests(n: int, max_tokens: int = 32, prefix: str = "question") -> list[ChatRequest]:
    return [
        ChatRequest.from_messages([{"role": "user", "content": f"{prefix} {i}"}], max_tokens=max_tokens)
        for i in range(n)
    ]


def _expected(req: ChatRequest) -> str:
    return answer_for({"messages": req.message_dicts()})


def test_answers_come_back_in_order_and_a_rerun_replays_them_from_the_cache(fake_server, quick_config):
    server = fake_server()
    reqs = _requests(30)
    with build_client(quick_config(server)) as client:
        first = client.chat_many(reqs)
    assert [r.content for r in first] == [_expected(q) for q in reqs]
    assert all(r.finish_reason == "stop" and not r.cached and r.output_tokens > 0 for r in first)
    assert server.stats.received == 30

    with build_client(quick_config(server)) as client:
        again = client.chat_many(reqs)
        summary = client.summary()
    assert server.stats.received == 30  # nothing was asked twice
    assert [r.content for r in again] == [r.content for r in first]
    assert all(r.cached for r in again)
    assert summary["teacher"]["cached"] == 30 and summary["teacher"]["calls"] == 0


def test_with_twenty_percent_faults_every_request_ends_answered_or_with_a_reason(fake_server, quick_config):
    server = fake_server(faults=FaultRates.spread(0.2, hang_s=5.0))
    reqs = _requests(150)
    with build_client(quick_config(server, timeout_s=0.5, concurrency=16)) as client:
        out = client.chat_many(reqs)
        summary = client.summary()["teacher"]

    assert len(out) == len(reqs)
    for req, r in zip(reqs, out, strict=True):
        if r.ok:
            assert r.finish_reason in ("stop", "length")
            assert r.content is not None and (r.content == "" or r.content in _expected(req))
        else:
            assert r.error and r.content is None
    # Every transient kind was met and retried past; only the request-bound 400s fail.
    for kind in ("429", "500", "503", "hang", "malformed", "drop"):
        assert server.stats.faults[kind] > 0, kind
    errors = [r.error for r in out if not r.ok]
    assert errors and all(e.startswith("HTTP 400") for e in errors)
    assert summary["retries"] > 0
    # Each answered request was completed by the server exactly once.
    assert sum(server.stats.completed.values()) == sum(r.ok for r in out)
    assert max(server.stats.completed.values()) == 1


def test_retry_after_is_honoured_before_the_same_request_is_sent_again(fake_server, quick_config):
    server = fake_server(faults=FaultRates(rate_429=0.4, retry_after_s=0.3), seed=3)
    with build_client(quick_config(server, concurrency=4)) as client:
        out = client.chat_many(_requests(12))
    assert all(r.ok for r in out)
    by_hash: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for t, h, kind in server.stats.events:
        by_hash[h].append((t, kind))
    gaps = [
        later[0] - earlier[0]
        for events in by_hash.values()
        for earlier, later in zip(events, events[1:])
        if earlier[1] == "429"
    ]
    assert gaps, "the server never said 429"
    assert min(gaps) >= 0.3


def test_a_hang_past_the_timeout_is_retried(fake_server, quick_config):
    server = fake_server(faults=FaultRates(rate_hang=0.3, hang_s=10.0), seed=1)
    with build_client(quick_config(server, timeout_s=0.3)) as client:
        out = client.chat_many(_requests(20))
        summary = client.summary()["teacher"]
    assert all(r.ok for r in out)
    assert server.stats.faults["hang"] > 0
    assert summary["retries"] >= server.stats.faults["hang"]
    assert max(r.attempts for r in out) >= 2


def test_a_request_error_is_not_retried_and_not_cached(fake_server, quick_config):
    server = fake_server(faults=FaultRates(rate_400=1.0))
    with build_client(quick_config(server)) as client:
        out = client.chat_many(_requests(5))
        cached = len(client.cache)
    assert [r.attempts for r in out] == [1] * 5
    assert all(r.error.startswith("HTTP 400: This model's maximum context length") for r in out)
    assert server.stats.received == 5
    assert cached == 0  # a re-run tries again


def test_transient_failures_give_up_after_max_attempts(fake_server, quick_config):
    server = fake_server(faults=FaultRates(rate_503=1.0))
    with build_client(quick_config(server, max_attempts=3)) as client, pytest.raises(RunAborted) as exc:
        client.chat_many(_requests(2))
    out = exc.value.responses  # not one call got an answer: the run stops, resumable
    assert [r.attempts for r in out] == [3, 3]
    assert all("HTTP 503" in r.error and "gave up after 3 attempts" in r.error for r in out)
    assert server.stats.received == 6


def test_a_transient_failure_among_answers_only_rejects_its_row(fake_server, quick_config):
    server = fake_server(faults=FaultRates(rate_503=0.5), seed=2)
    with build_client(quick_config(server, max_attempts=1, abort_after_failures=50)) as client:
        out = client.chat_many(_requests(12))
    failed = [r for r in out if not r.ok]
    assert failed and len(failed) < len(out)
    assert all("HTTP 503" in r.error and "gave up after 1 attempts" in r.error for r in failed)


def test_wrong_key_stops_the_run_with_a_hint_and_never_shows_the_key(fake_server, quick_config, monkeypatch):
    secret = "sk-test-Zq8rT2vLw9XkP4mN7bH3"
    monkeypatch.setenv("TAGENGO_TEST_KEY", secret)
    server = fake_server(require_key="sk-the-right-one", echo_key_in_errors=True)
    client = build_client(quick_config(server, api_key_env="TAGENGO_TEST_KEY"))
    with client, pytest.raises(RunAborted) as exc:
        client.chat_many(_requests(4))
    msg = str(exc.value)
    assert "HTTP 401" in msg and "$TAGENGO_TEST_KEY" in msg
    assert secret not in msg and secret[:8] not in msg and secret[-6:] not in msg
    assert "[redacted]" in msg


def test_a_server_that_is_down_stops_the_run_after_failures_in_a_row(quick_config, fake_server):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again at once: nothing listens there
    cfg = quick_config(
        fake_server(), base_url=f"http://127.0.0.1:{port}/v1", max_attempts=2, abort_after_failures=3
    )
    client = build_client(cfg.model_copy(update={"concurrency": 1}))
    with client, pytest.raises(RunAborted) as exc:
        client.chat_many(_requests(10))
    assert "3 calls in a row failed" in str(exc.value) and "cannot reach" in str(exc.value)
    assert sum(r is not None for r in exc.value.responses) == 3


def test_a_down_server_stops_the_run_even_with_fewer_calls_than_abort_after_failures(
    quick_config, fake_server
):
    # A small dataset: 3 calls, all refused at connect, far under --abort-after-failures. Rejecting
    # them would mark the rows finished, and a re-run would never ask again.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = quick_config(fake_server(), base_url=f"http://127.0.0.1:{port}/v1", max_attempts=2)
    assert cfg.abort_after_failures > 3
    with build_client(cfg) as client, pytest.raises(RunAborted) as exc:
        client.chat_many(_requests(3))
    assert "3 calls in a row failed" in str(exc.value) and "cannot reach" in str(exc.value)
    assert "re-run to resume" in str(exc.value)
    assert [r.ok for r in exc.value.responses] == [False] * 3


def test_concurrency_bounds_the_calls_in_flight(fake_server, quick_config):
    server = fake_server(latency_s=0.05)
    with build_client(quick_config(server, concurrency=4)) as client:
        client.chat_many(_requests(40))
    assert 2 <= server.stats.max_in_flight <= 4


def test_every_answer_is_committed_when_chat_many_returns(fake_server, quick_config):
    """Answers are committed in groups (tagengo.llm.cache); none may still wait when the batch
    is handed back, or a process killed right after would ask for them again."""
    import sqlite3

    server = fake_server(latency_s=0.005)
    cfg = quick_config(server, concurrency=4)
    with build_client(cfg) as client:
        client.chat_many(_requests(25))
        # Another connection sees only committed rows; the client is still open.
        other = sqlite3.connect(cfg.cache_path)
        try:
            assert other.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 25
        finally:
            other.close()
        assert client.cache.pending == 0


def test_identical_requests_are_called_once(fake_server, quick_config):
    server = fake_server()
    req = _requests(1)[0]
    with build_client(quick_config(server)) as client:
        out = client.chat_many([req] * 6)
    assert server.stats.received == 1
    assert len({r.content for r in out}) == 1
    assert Counter(r.cached for r in out) == {False: 1, True: 5}


def test_budget_stops_new_calls_and_a_rerun_resumes_without_paying_twice(fake_server, quick_config):
    server = fake_server(latency_s=0.01)
    # 1,000 per million tokens: a call costs ~0.02 and is reserved at its worst case (~0.06).
    priced = {"input_price_per_1m": 1000.0, "output_price_per_1m": 1000.0, "concurrency": 4}
    reqs = _requests(60)
    with build_client(quick_config(server, budget=0.4, **priced)) as client:
        with pytest.raises(BudgetExhausted) as exc:
            client.chat_many(reqs)
        spent = client.accounting.spent
    done = [r for r in exc.value.responses if r is not None]
    assert 0 < len(done) < len(reqs)
    assert spent <= 0.4
    assert spent == pytest.approx(sum(r.cost for r in done))
    assert "budget 0.4 reached" in str(exc.value)

    with build_client(quick_config(server, **priced)) as client:
        out = client.chat_many(reqs)
    assert all(r.ok for r in out)
    assert sum(r.cached for r in out) == len(done)
    assert max(server.stats.completed.values()) == 1  # nothing finished was paid for twice


@pytest.mark.parametrize("usage", ["none", "null"])
def test_without_usage_tokens_are_counted_here_and_the_budget_still_stops_the_run(
    fake_server, quick_config, usage, capsys
):
    # Ollama and some proxies send no usage (or null counts): counted as 0, cost stayed 0 and
    # --budget never stopped a run. Now the client counts the tokens itself.
    server = fake_server(latency_s=0.01, usage=usage)
    priced = {"input_price_per_1m": 1000.0, "output_price_per_1m": 1000.0, "concurrency": 4}
    reqs = _requests(60)
    with build_client(quick_config(server, budget=0.4, **priced)) as client:
        with pytest.raises(BudgetExhausted):
            client.chat_many(reqs)
        spent = client.accounting.spent
        summary = client.summary()["teacher"]
    assert 0 < summary["calls"] < len(reqs)
    assert 0.3 < spent <= 0.4
    assert summary["tokens_estimated"] == summary["calls"]
    assert summary["input_tokens"] > 0 and summary["output_tokens"] > 0
    assert capsys.readouterr().err.count("sent no token usage") == 1  # warned once, not per call

    with build_client(quick_config(server)) as client:
        (one,) = client.chat_many(reqs[:1])  # replayed from the cache: still marked
    assert one.cached and one.tokens_estimated
    assert (one.input_tokens, one.output_tokens) == count_usage(reqs[0], one.content, "teacher")


def test_async_callers_can_await_from_their_own_loop(fake_server, quick_config):
    server = fake_server()

    async def main() -> list[str | None]:
        with build_client(quick_config(server)) as client:
            return [r.content for r in await client.achat_many(_requests(3))]

    assert asyncio.run(main()) == [_expected(q) for q in _requests(3)]


def test_requests_per_minute_limit_spaces_the_calls(fake_server, quick_config):
    server = fake_server()
    with build_client(quick_config(server, rpm=1200, concurrency=16)) as client:
        started = time.monotonic()  # the server runs in this process: same clock
        client.chat_many(_requests(30))
    # 20 a second with a bucket of 20: the first 20 may go at once, the 30th not before +0.5 s.
    # (A lower bound: a slow machine can only make it later.)
    assert max(t for t, _, _ in server.stats.events) - started >= 0.5


def test_the_progress_bar_shows_answers_tokens_per_second_and_spend(fake_server, quick_config):
    from rich.console import Console

    server = fake_server()
    console = Console(record=True, force_terminal=True, width=200)
    cfg = quick_config(server, input_price_per_1m=1.0, output_price_per_1m=2.0)
    with build_client(cfg, progress=True, console=console) as client:
        client.chat_many(_requests(5), desc="answering")
        client.chat_many(_requests(7), desc="answering")
    text = console.export_text()
    assert "answering" in text and "12/12" in text and "tok/s" in text and "spent 0.0" in text


def test_off_a_terminal_the_client_writes_a_line_per_interval_and_one_per_phase(
    fake_server, quick_config, log_progress
):
    import io

    from rich.console import Console

    from progress_checks import assert_progress_lines

    log_progress(0.2)
    server = fake_server(latency_s=0.02)
    log = io.StringIO()  # a log file: no terminal
    cfg = quick_config(server, concurrency=4, input_price_per_1m=1.0, output_price_per_1m=2.0)
    with build_client(cfg, progress=True, console=Console(file=log)) as client:
        # 120 calls at 20 ms, 4 at a time: at least 0.6 s per phase, three intervals.
        client.chat_many(_requests(40), desc="answering")
        client.chat_many(_requests(40, prefix="more"), desc="answering")  # the same phase, grown
        client.chat_many(_requests(80, prefix="hm") + _requests(40), desc="judging")  # 40 from the cache
        client.chat_many(_requests(40), desc="replay")  # all cached: no phase, no line
    text = log.getvalue()
    assert "\x1b[" not in text  # plain text, no cursor movement
    answering = assert_progress_lines(text, "answering", 80)
    judging = assert_progress_lines(text, "judging", 120)
    assert text.index(answering[-1]) < text.index(judging[0])  # a phase's end line comes when the next begins
    assert "replay" not in text
    assert "tok/s · spent 0.0" in judging[-1] and "0 failed" in judging[-1]
