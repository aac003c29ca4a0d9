"""Fixtures of the prefer tests: one scripted OpenAI-compatible server (real HTTP, real protocol)
that plays both the answering models and the ranking judge, with replies chosen here.

Answering models are told apart by their system prompt (``ROLE=best`` / ``ROLE=weak`` /
``ROLE=plain``, set with the model spec's ``system_prompt``):

* best: ``BEST`` and a sentence in the prompt's language;
* weak: ``WEAK`` and an English sentence, whatever the prompt's language;
* plain: a sentence in the prompt's language.

The judge (a request with our ranking prompt) ranks answers holding ``BEST`` first, then plain
ones (tied), then ``WEAK`` ones, with one reason per answer. Control words in the prompt:
``GARBLE-ONCE``: the first reply has no ranking line, the re-ask gets a valid one;
``GARBLE-ALWAYS``: no reply ever has one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from servers.scripted_judge import ScriptedJudgeServer
from tagengo.prefer.prompts import JUDGE_SYSTEM

SENTENCES = {
    "en": "This is a careful answer to your question, written in plain and simple English words.",
    "de": "Das ist eine sorgfältige Antwort auf deine Frage, geschrieben in einfachen deutschen Worten.",
    "fr": "Voici une réponse soignée à votre question, écrite avec des mots français simples et clairs.",
    "ja": "これはあなたの質問に対する丁寧な回答です。簡単な日本語の言葉で書かれています。",
}
_ANSWER = re.compile(r"\[Answer ([A-Z])\]\n(.*?)\n\[End of answer \1\]", re.DOTALL)
_JUDGE_MARK = JUDGE_SYSTEM.split("{")[0][:60]


def score(answer: str) -> int:
    return 2 if "BEST" in answer else 0 if "WEAK" in answer else 1


def judge_reply(messages: list[dict[str, str]]) -> str:
    first_user = next(m["content"] for m in messages if m["role"] == "user")
    asked_again = any(m["role"] == "assistant" for m in messages)
    if "GARBLE-ALWAYS" in first_user or ("GARBLE-ONCE" in first_user and not asked_again):
        return "All of these answers look fine to me; the first one is perhaps the best."
    answers = dict(_ANSWER.findall(first_user))
    tiers: dict[int, list[str]] = {}
    for label in sorted(answers):
        tiers.setdefault(score(answers[label]), []).append(label)
    ranking = ">".join("=".join(tiers[s]) for s in sorted(tiers, reverse=True))
    reasons = "\n".join(
        f"{label}: {['weak', 'adequate', 'thorough'][score(a)]}." for label, a in sorted(answers.items())
    )
    return f"{reasons}\nRanking: {ranking}"


def language_of(text: str) -> str:
    for code, word in (("de", "Wetter"), ("fr", "Bonjour"), ("ja", "天気")):
        if word in text:
            return code
    return "en"


def reply(messages: list[dict[str, str]]) -> str:
    """The scripted server's whole behaviour: judge or one of the answering roles."""
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
    if system.startswith(_JUDGE_MARK):
        return judge_reply(messages)
    user = messages[-1]["content"]
    sentence = SENTENCES[language_of(user)]
    if "ROLE=best" in system:
        return f"BEST {sentence}"
    if "ROLE=weak" in system:
        return f"WEAK {SENTENCES['en']}"
    return sentence


@pytest.fixture
def prefer_server() -> Iterator[Callable[..., ScriptedJudgeServer]]:
    """Factory: ``prefer_server(script=reply, latency_s=0)`` -> a started scripted server."""
    servers: list[ScriptedJudgeServer] = []

    def start(script: Callable[[list[dict[str, str]]], str] = reply, **kw: Any) -> ScriptedJudgeServer:
        s = ScriptedJudgeServer(script, **kw).start()
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


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
