"""A scripted judge: an OpenAI-compatible chat server on 127.0.0.1 whose replies a script
decides. For tests, benchmarks and dry runs of ``tagengo bench judge`` without paying for a
real judge: it speaks the real protocol over real HTTP, so the whole client layer (cache,
retries, concurrency) is exercised, and the verdicts are known in advance.

A script is a function ``messages -> reply text``. :func:`hashed_verdicts` is the default: a
plausible judge that grades 1-10 (or picks A/B/C for pairwise prompts) from a hash of the
answer, so reruns agree and the scores vary.

    python tests/servers/scripted_judge.py --port 8011 --latency 0.2
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

try:
    from servers.loopback import ScriptedHTTPError, ScriptedOpenAIServer, run_as_script
except ModuleNotFoundError:  # run as a script (python tests/servers/NAME.py): its folder is on sys.path
    from loopback import ScriptedHTTPError, ScriptedOpenAIServer, run_as_script

__all__ = ["ScriptedHTTPError", "ScriptedJudgeServer", "hashed_verdicts", "is_pairwise"]

Script = Callable[[list[dict[str, str]]], str]


def _h(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def is_pairwise(messages: list[dict[str, str]]) -> bool:
    text = " ".join(m.get("content") or "" for m in messages)
    return "[[A]]" in text and "[[B]]" in text


def hashed_verdicts(messages: list[dict[str, str]]) -> str:
    """A deterministic judge: grade = 1 + hash(prompt) % 10, or A/B/C for pairwise prompts.
    Follow-up questions (after an unreadable verdict) get the bare verdict."""
    first_user = next((m["content"] for m in messages if m["role"] == "user"), "")
    h = _h(first_user)
    if is_pairwise(messages):
        verdict = "[[" + "ABC"[h % 3] + "]]"
        return (
            verdict
            if len(messages) > 2 and messages[-2]["role"] == "assistant"
            else f"A is clearer. {verdict}"
        )
    grade = 1 + h % 10
    return f"The reply is adequate. Rating: [[{grade}]]"


class ScriptedJudgeServer(ScriptedOpenAIServer):
    """``start()`` (own thread and event loop; port 0 picks a free one) and ``stop()``, or use as
    a context manager. ``url`` is the ``/v1`` base for ``--judge-base-url``; ``requests`` holds
    every request body received, in order."""

    thread_name = "scripted-judge"
    keep_requests = True

    def __init__(self, script: Script = hashed_verdicts, *, latency_s: float = 0.0, port: int = 0) -> None:
        self.script = script
        super().__init__(latency_s, port=port)

    @property
    def calls(self) -> int:
        return self.received

    def reply(self, body: dict[str, Any]) -> tuple[str, str]:
        return self.script(body.get("messages", [])), "stop"

    def usage(self, body: dict[str, Any], content: str) -> dict[str, int]:
        """Words for tokens (or non-ASCII characters where there are more: a Japanese prompt has
        few spaces, and counted by words it would look cut by the server to the answer contract)."""
        prompt_tokens = sum(_tokens(m.get("content") or "") for m in body.get("messages", []))
        completion_tokens = len(content.split())
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }


def main(argv: list[str] | None = None) -> None:
    run_as_script(
        ScriptedJudgeServer,
        __doc__.splitlines()[0],
        lambda url: f"scripted judge at {url} (Ctrl-C to stop)",
        port=8011,
        argv=argv,
    )


if __name__ == "__main__":
    main()


def _tokens(text: str) -> int:
    return max(len(text.split()), sum(ord(ch) > 127 for ch in text))
