"""Fixtures for `tagengo extend`: the scripted server (tests/servers/scripted_extend.py) and
small conversation files written per test."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from servers import scripted_extend
from servers.loopback import started_servers
from servers.scripted_extend import ScriptedExtendServer


@pytest.fixture
def extend_server() -> Iterator[Callable[..., ScriptedExtendServer]]:
    """Factory: ``extend_server(latency_s=0.0)`` -> a started ScriptedExtendServer, stopped afterwards."""
    yield from started_servers(ScriptedExtendServer)


@pytest.fixture
def script() -> Any:
    """The scripted server's module (QUESTIONS, FOLLOW_UPS, ANSWERS for expected values)."""
    return scripted_extend


@pytest.fixture
def write_rows(tmp_path: Path) -> Callable[..., Path]:
    """``write_rows(rows, name)`` -> a JSONL file of the rows."""

    def write(rows: list[dict], name: str = "chats.jsonl") -> Path:
        path = tmp_path / name
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        return path

    return write
