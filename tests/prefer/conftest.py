"""Fixtures of the prefer tests: the scripted server of ``servers/scripted_prefer.py`` (real
HTTP, real protocol), which plays both the answering models and the ranking judge, and helpers
that point a config at it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from servers.loopback import started_servers
from servers.scripted_judge import ScriptedJudgeServer
from servers.scripted_prefer import SENTENCES, judge_reply, reply

__all__ = ["SENTENCES", "judge_reply", "reply"]


@pytest.fixture
def prefer_server() -> Iterator[Callable[..., ScriptedJudgeServer]]:
    """Factory: ``prefer_server(script=reply, latency_s=0)`` -> a started scripted server."""

    def make(script: Callable[[list[dict[str, str]]], str] = reply, **kw: Any) -> ScriptedJudgeServer:
        return ScriptedJudgeServer(script, **kw)

    yield from started_servers(make)


def scripted_model(server: ScriptedJudgeServer, role: str, cache: Path, **kw: Any) -> dict[str, Any]:
    """An AnswerModel config served by the scripted server in ``role``."""
    return {
        "name": role,
        "system_prompt": f"ROLE={role}",
        "llm": {
            "backend": "openai",
            "model": "scripted",
            "base_url": server.url,
            "cache_path": str(cache),
            "max_attempts": 2,
            "backoff_base_s": 0.01,
            "timeout_s": 20.0,
        },
        **kw,
    }


def scripted_judge(server: ScriptedJudgeServer, cache: Path) -> dict[str, Any]:
    return {
        "backend": "openai",
        "model": "judge",
        "base_url": server.url,
        "cache_path": str(cache),
        "max_attempts": 2,
        "backoff_base_s": 0.01,
        "timeout_s": 20.0,
    }


def write_prompts(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """(id, language, prompt) rows as a plain prompts JSONL."""
    path.write_text(
        "".join(
            json.dumps({"id": i, "language": lang, "prompt": p}, ensure_ascii=False) + "\n"
            for i, lang, p in rows
        )
    )
    return path
