"""Fixtures: the scripted OpenAI-compatible server (tests/servers/scripted_chat.py, loaded by
path since tests/ is not a package) and a client config pointing at it."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_NAME = "tagengo_tests_scripted_chat"


def scripted_chat() -> Any:
    """The module tests/servers/scripted_chat.py."""
    if _NAME not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            _NAME, Path(__file__).parents[1] / "servers" / "scripted_chat.py"
        )
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[_NAME] = mod
        spec.loader.exec_module(mod)
    return sys.modules[_NAME]


@pytest.fixture
def scripted() -> Any:
    """The scripted server's module (its ``translate``, ``SENTENCES`` ... for expected values)."""
    return scripted_chat()


@pytest.fixture
def scripted_server() -> Iterator[Callable[..., Any]]:
    """Factory: ``scripted_server(latency_s=0.0)`` -> a started ScriptedChatServer, stopped afterwards."""
    servers: list[Any] = []

    def start(**kw: Any) -> Any:
        s = scripted_chat().ScriptedChatServer(**kw).start()
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def llm_options(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """``llm_options(server, **overrides)`` -> config fields for a stage talking to ``server``."""

    def make(server: Any, **kw: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "backend": "openai",
            "model": "scripted",
            "base_url": server.url,
            "timeout_s": 10.0,
            "max_attempts": 2,
            "backoff_base_s": 0.01,
            "concurrency": 8,
            "cache_path": tmp_path / "cache.sqlite",
        }
        base.update(kw)
        return base

    return make
