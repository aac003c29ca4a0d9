"""One chat completion out of a server-sent event stream that arrived although no stream was asked
for (some gateways and proxies stream every answer, or force ``stream: true`` upstream).

The stream's chunks (``data: {...}`` lines, ``choices[0].delta``) are joined into the body a
non-streaming call gets (``choices[0].message``), so the answer goes through the same parsing and
the same answer contract. A stream that ends before any chunk said how it finished (no
``finish_reason``, no ``[DONE]``) was cut: ``StreamError``, which the backend retries. An error
event in the stream (OpenRouter sends upstream failures this way) is returned as the error object.
"""

from __future__ import annotations

import json
from typing import Any


class StreamError(ValueError):
    """The body is an event stream that does not hold one whole answer."""


def _events(payload: bytes) -> list[Any]:
    """The JSON object of every ``data:`` event, in order; ``"[DONE]"`` kept as the string."""
    events: list[Any] = []
    data: list[str] = []
    # An event is one or more data lines up to a blank line (the SSE format); most servers send
    # one line per event, some split long JSON over several.
    for line in [*payload.decode("utf-8", "replace").splitlines(), ""]:
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif not line.strip() and data:
            text = "\n".join(data).strip()
            data = []
            if text == "[DONE]":
                events.append(text)
                continue
            try:
                events.append(json.loads(text))
            except ValueError:
                raise StreamError(f"an event is not JSON: {text[:80]!r}") from None
    return events


def join_stream(payload: bytes) -> dict[str, Any]:
    """The non-streaming body the stream ``payload`` stands for (see module doc)."""
    events = _events(payload)
    content: list[str] = []
    reasoning: list[str] = []
    finish: str | None = None
    out: dict[str, Any] = {}
    for ev in events:
        if ev == "[DONE]" or not isinstance(ev, dict):
            continue
        if ev.get("error") is not None or ev.get("object") == "error":
            return {"error": ev.get("error", ev)}
        for key in ("id", "model", "created", "system_fingerprint"):
            if ev.get(key) and key not in out:
                out[key] = ev[key]
        if isinstance(ev.get("usage"), dict):
            out["usage"] = ev["usage"]  # the last chunk carries it (stream_options.include_usage)
        for choice in ev.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or choice.get("message") or {}
            if isinstance(delta.get("content"), str):
                content.append(delta["content"])
            for key in ("reasoning_content", "reasoning"):
                if isinstance(delta.get(key), str):
                    reasoning.append(delta[key])
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
    if finish is None:
        done = "[DONE]" in events
        raise StreamError(
            "the stream ended without a finish reason" + ("" if done else " or [DONE]: it was cut")
        )
    message: dict[str, Any] = {"role": "assistant", "content": "".join(content)}
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    out["choices"] = [{"index": 0, "message": message, "finish_reason": finish}]
    return out
