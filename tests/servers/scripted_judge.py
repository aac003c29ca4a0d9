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

__all__ = [
    "ScriptedHTTPError",
    "ScriptedJudgeServer",
    "first_position",
    "hashed_verdicts",
    "is_pairwise",
    "longer_better",
    "marked_better",
    "pair_answers",
    "prefer",
]

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


def pair_answers(messages: list[dict[str, str]]) -> tuple[str, str]:
    """The two replies of a first-turn pairwise prompt, as tagengo's prompts or FastChat's
    ("[The Start of Assistant A's Answer]") mark them."""
    prompt = next((m["content"] for m in messages if m["role"] == "user"), "")
    out = []
    for who in "AB":
        for begin, end in (
            (f"assistant {who} (begin)", f"assistant {who} (end)"),
            (f"[The Start of Assistant {who}'s Answer]", f"[The End of Assistant {who}'s Answer]"),
        ):
            if begin in prompt:
                out.append(prompt.split(begin, 1)[1].split(end, 1)[0].strip())
                break
        else:
            raise ValueError(f"no reply of assistant {who} in the prompt")
    return out[0], out[1]


def prefer(better: Callable[[str, str], bool | None]) -> Script:
    """A position-fair pairwise judge: ``better(a, b)`` True picks A, False B, None a tie.
    A reply holding FAIL makes the call fail (HTTP 400) every time."""

    def script(messages: list[dict[str, str]]) -> str:
        a, b = pair_answers(messages)
        if "FAIL" in a or "FAIL" in b:
            raise ScriptedHTTPError(400, "scripted: this request always fails")
        choice = better(a, b)
        return "Compared. " + ("[[C]]" if choice is None else "[[A]]" if choice else "[[B]]")

    return script


def marked_better(mark: str = "GOOD") -> Script:
    """Prefers the reply containing ``mark``; a tie when both or neither do."""
    return prefer(lambda a, b: None if (mark in a) == (mark in b) else mark in a)


def longer_better(messages: list[dict[str, str]]) -> str:
    """Prefers the longer reply (in characters), a tie at equal length: a judge with nothing
    but a length bias, for the length-controlled win rate."""
    return prefer(lambda a, b: None if len(a) == len(b) else len(a) > len(b))(messages)


def first_position(messages: list[dict[str, str]]) -> str:
    """Always picks the reply shown first: a judge with nothing but a position bias."""
    return "The first one. [[A]]"


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
