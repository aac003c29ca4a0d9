"""Fixtures for the client layer: a fault-injecting OpenAI-compatible server on loopback
(the shared `fake_server` fixture in tests/conftest.py) and configs with quick retries so tests stay short."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from servers.fake_chat_server import FakeChatServer
from tagengo.llm import LLMConfig


@pytest.fixture
def quick_config(tmp_path: Path) -> Callable[..., LLMConfig]:
    """An LLMConfig for a fake server: short timeout and backoff, cache in tmp_path."""

    def make(server: FakeChatServer, **kw: Any) -> LLMConfig:
        base: dict[str, Any] = {
            "backend": "openai",
            "model": "teacher",
            "base_url": server.url,
            "timeout_s": 1.0,
            "backoff_base_s": 0.02,
            "backoff_max_s": 0.2,
            "max_attempts": 10,
            "concurrency": 8,
            "cache_path": tmp_path / "cache.sqlite",
        }
        base.update(kw)
        return LLMConfig(**base)

    return make
