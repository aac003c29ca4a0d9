"""A scripted OpenAI-compatible server for `tagengo eval`: it answers each request with the
reply of the longest key of ``script`` found in the last user message (a source sentence, an
article, a question), else ``default``. The tests know every answer, so they know every score."""

from __future__ import annotations

from typing import Any

from servers.loopback import ScriptedOpenAIServer


class ScriptedEvalServer(ScriptedOpenAIServer):
    keep_requests = True

    def __init__(self, script: dict[str, str] | None = None, default: str = "no idea", **kw: Any) -> None:
        super().__init__(**kw)
        self.script = dict(script or {})
        self.default = default

    def reply(self, body: dict[str, Any]) -> tuple[str, str]:
        last = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
        hits = [k for k in self.script if k in last]
        return (self.script[max(hits, key=len)] if hits else self.default), "stop"
