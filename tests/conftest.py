"""Fixtures shared across test packages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from servers.fake_chat_server import FakeChatServer


@pytest.fixture
def fake_server() -> Iterator[Callable[..., FakeChatServer]]:
    """Factory: ``fake_server(latency_s=..., faults=FaultRates(...))`` -> a started loopback
    OpenAI-compatible server (real HTTP) that injects the faults asked for; stopped afterwards."""
    servers: list[FakeChatServer] = []

    def start(**kw: Any) -> FakeChatServer:
        s = FakeChatServer(**kw).start()
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()
