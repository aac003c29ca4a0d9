"""The plainest scripted chat server: it answers every request with ``Answer: <last user text>``
and ``finish_reason: stop``. With the ``FAULT=<kind>`` markers of tests/servers/answer_faults.py
in the text it sends what real servers send when they misbehave (the client layer's tests)."""

from __future__ import annotations

from typing import Any

from servers.loopback import ScriptedOpenAIServer


class EchoChatServer(ScriptedOpenAIServer):
    keep_requests = True

    def reply(self, body: dict[str, Any]) -> tuple[str, str]:
        last = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
        return f"Answer: {last}", "stop"
