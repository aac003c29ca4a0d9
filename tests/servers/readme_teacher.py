"""One local OpenAI-compatible server that plays every model the README's "Using it" block calls
(tests/docs/test_readme_block.py): the teacher, the follow-up writer, the translator, the instruction
writer and its rater, the ranking judge of route and prefer, the MT-Bench judge, and a Batch API.
A real teacher is not there offline; this one speaks the real protocol over real HTTP (the chat
endpoint and the Files/Batches endpoints of tests/servers/batch_api.py), and reads each request the
way the stage wrote it, reusing the scripted servers' answers:

* prefer's ranking prompt (route uses it too): the longer answer ranks first, equal lengths tie
  (``Ranking: A>B``, one reason a line, as scripted_prefer writes them);
* extend's follow-up writer: scripted_extend;
* translate's translator, reverse's instruction writer and rater: scripted_chat;
* an MT-Bench judge prompt (a verdict in double brackets): scripted_judge's hashed verdicts;
* anything else is a teacher's request: answered with the user's last turn, repeated once
  (``Answer: ...``), so the answer is in the prompt's language whatever that is; a model whose
  name holds ``other`` says it once only, so that route and prefer see two teachers differ.

Batches complete on the first look (no waiting 30 s between polls in a test); everything else of
a batch is as batch_api.py checks it.

    python tests/servers/readme_teacher.py --port 8000    # prints its URL, serves until killed
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

try:
    from servers import scripted_chat, scripted_extend, scripted_judge, scripted_prefer
    from servers.batch_api import BatchAPIServer
    from servers.loopback import run_as_script
except ModuleNotFoundError:  # run as a script: its folder is on sys.path
    import scripted_chat
    import scripted_extend
    import scripted_judge
    import scripted_prefer
    from batch_api import BatchAPIServer
    from loopback import run_as_script

from tagengo.extend.prompts import WRITER_SYSTEM

_CHAT_SYSTEMS = (
    "You are a professional translator",
    "You help build a dataset",
    "You rate training examples",
)
_BRACKET_VERDICT = re.compile(r"\[\[(?:rating|A\]\]|\d)")


def reply(body: dict[str, Any]) -> tuple[str, str]:
    """The answer to one chat request, by who the request says is asked (see module doc)."""
    messages = body.get("messages") or []
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
    if system.startswith(scripted_prefer._JUDGE_MARK):
        return _rank_by_length(messages), "stop"
    if system == WRITER_SYSTEM:
        return scripted_extend.answer(body)
    if system.startswith(_CHAT_SYSTEMS):
        return scripted_chat.answer(body), "stop"
    prompt_text = " ".join(str(m.get("content") or "") for m in messages)
    if _BRACKET_VERDICT.search(prompt_text):
        return scripted_judge.hashed_verdicts(messages), "stop"
    last = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    if "other" in str(body.get("model", "")):
        return f"Answer: {last}", "stop"
    return f"Answer: {last}\n\n{last}", "stop"


def _rank_by_length(messages: list[dict[str, str]]) -> str:
    first_user = next(m["content"] for m in messages if m["role"] == "user")
    answers = dict(scripted_prefer._ANSWER.findall(first_user))
    tiers: dict[int, list[str]] = {}
    for label in sorted(answers):
        tiers.setdefault(len(answers[label]), []).append(label)
    ranking = ">".join("=".join(tiers[n]) for n in sorted(tiers, reverse=True))
    reasons = "\n".join(f"{label}: {len(a)} characters." for label, a in sorted(answers.items()))
    return f"{reasons}\nRanking: {ranking}"


class ReadmeTeacherServer(BatchAPIServer):
    """``start()`` / ``stop()`` or a context manager; ``port`` 8000 is what the README names."""

    thread_name = "readme-teacher"

    def __init__(self, *, latency_s: float = 0.0, port: int = 0) -> None:
        super().__init__(reply, latency_s=latency_s, port=port)

    async def _create(self, request: web.Request) -> web.Response:
        resp = await super()._create(request)
        if resp.status == 200:
            bid = json.loads(resp.body)["id"]
            with self._block:
                if self._script[bid][-1] == "completed":
                    self._script[bid] = ["completed"]
        return resp


def main(argv: list[str] | None = None) -> None:
    run_as_script(
        ReadmeTeacherServer,
        __doc__.splitlines()[0],
        lambda url: json.dumps({"url": url}),
        port=8000,
        argv=argv,
    )


if __name__ == "__main__":
    main()
