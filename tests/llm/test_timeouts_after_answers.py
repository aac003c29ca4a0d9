"""A re-run whose only calls are those that timed out before stops with what happened, not with
"is the server up?" (newcomer 32, item 13); a wrong --base-url keeps its stop and its question."""

from __future__ import annotations

import socket

import pytest

from servers.fake_chat_server import FaultRates
from tagengo.llm import ChatRequest, RunAborted, build_client


def _requests(names: list[str]) -> list[ChatRequest]:
    return [
        ChatRequest.from_messages([{"role": "user", "content": f"Tell me about {n}."}], max_tokens=16)
        for n in names
    ]


def test_calls_that_time_out_on_a_server_that_answered_say_so(fake_server, quick_config) -> None:
    server = fake_server()
    cfg = quick_config(server, timeout_s=0.3, max_attempts=1)
    with build_client(cfg) as client:  # the first run: these answers are cached
        assert all(r.ok for r in client.chat_many(_requests(["cats", "dogs"])))
    server.faults = FaultRates(rate_hang=1.0, hang_s=5.0)  # now every new call hangs
    with build_client(cfg) as client, pytest.raises(RunAborted) as exc:
        client.chat_many(_requests(["cats", "dogs", "owls", "bats"]))
    msg = str(exc.value)
    assert msg.startswith("2 calls in a row timed out: no answer within --timeout-s 0.3 s (1 attempt(s) each")
    assert "answered other calls (in this run, or an earlier one's now in the cache)" in msg
    assert "Raise --timeout-s" in msg
    assert "is the server" not in msg and "up?" not in msg
    assert [r.ok for r in exc.value.responses] == [True, True, False, False]


def test_a_wrong_base_url_still_stops_with_its_question(fake_server, quick_config) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there
    cfg = quick_config(fake_server(), base_url=f"http://127.0.0.1:{port}/v1", max_attempts=1)
    with build_client(cfg) as client, pytest.raises(RunAborted) as exc:
        client.chat_many(_requests(["cats", "dogs"]))
    assert "2 calls in a row failed for good" in str(exc.value) and "up?" in str(exc.value)
