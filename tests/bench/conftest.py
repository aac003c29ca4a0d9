"""Fixtures for the bench tests: our hand-written FastChat-layout files, a scripted judge on
127.0.0.1 (real HTTP, verdicts chosen by the test) and judge configs pointing at it."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from servers.loopback import started_servers
from servers.scripted_judge import ScriptedJudgeServer
from tagengo.bench.config import JudgeConfig
from tagengo.llm import LLMConfig

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixture_copy(tmp_path: Path) -> Callable[[str], Path]:
    """Copy a fixture folder into tmp_path (tests write answers and judgments into it)."""

    def copy(name: str) -> Path:
        dest = tmp_path / "data" / name
        shutil.copytree(FIXTURES / name, dest)
        return dest

    return copy


@pytest.fixture
def judge_server() -> Iterator[Callable[..., ScriptedJudgeServer]]:
    def make(script: Any = None, **kw: Any) -> ScriptedJudgeServer:
        return ScriptedJudgeServer(script, **kw) if script is not None else ScriptedJudgeServer(**kw)

    yield from started_servers(make)


def server_llm(server: ScriptedJudgeServer, tmp_path: Path, **kw: Any) -> LLMConfig:
    base: dict[str, Any] = {
        "backend": "openai",
        "model": "judge-x",
        "base_url": server.url,
        "timeout_s": 5.0,
        "max_attempts": 2,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "concurrency": 8,
        "cache_path": tmp_path / "cache.sqlite",
    }
    base.update(kw)
    return LLMConfig(**base)


@pytest.fixture
def judge_config(tmp_path: Path) -> Callable[..., JudgeConfig]:
    def make(server: ScriptedJudgeServer, llm: dict[str, Any] | None = None, **kw: Any) -> JudgeConfig:
        return JudgeConfig(judge=server_llm(server, tmp_path, **(llm or {})), **kw)

    return make
