"""The request/response types every caller of a language model uses.

Generation, translation, reverse instructions and judging all speak these types, so that
the cache, retries, rate limits and accounting live in one place (``tagengo.llm``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat-completion call. Everything that can change the answer is a field, so the
    canonical JSON of this object (plus the backend's model id) is the cache key."""

    messages: tuple[tuple[str, str], ...]  # ((role, content), ...): hashable and ordered
    temperature: float = 0.0
    max_tokens: int = 2048
    top_p: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] | None = None
    # Backend-specific sampling parameters (e.g. repeat_penalty). Part of the key.
    extra: tuple[tuple[str, Any], ...] = ()
    # Which independent draw of this very request (0, 1, ...): part of the key, never sent.
    # Without it a second sample of a temperature-0.7 answer would replay the first from the
    # cache. Sample 0 leaves the key as it was before the field existed.
    sample: int = 0

    @classmethod
    def from_messages(cls, messages: list[dict[str, str]], **kw: Any) -> ChatRequest:
        if "stop" in kw and kw["stop"] is not None:
            kw["stop"] = tuple(kw["stop"])
        if "extra" in kw and isinstance(kw["extra"], dict):
            kw["extra"] = tuple(sorted(kw["extra"].items()))
        return cls(messages=tuple((m["role"], m["content"]) for m in messages), **kw)

    def message_dicts(self) -> list[dict[str, str]]:
        return [{"role": r, "content": c} for r, c in self.messages]

    def prompt_texts(self) -> list[str]:
        """The texts sent (every message's content): what token estimates count."""
        return [c for _, c in self.messages]

    def canonical(self, model_id: str) -> str:
        """Canonical JSON used for the cache key: sorted keys, no whitespace."""
        # Built by hand rather than with dataclasses.asdict (same JSON, a fifth of the CPU:
        # it runs for every request of a run).
        d = {
            "messages": self.message_dicts(),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "top_p": self.top_p,
            "seed": self.seed,
            "stop": list(self.stop) if self.stop is not None else None,
            "extra": dict(self.extra),
            "model": model_id,
        }
        if self.sample:
            d["sample"] = self.sample
        return json.dumps(d, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def key(self, model_id: str) -> str:
        return hashlib.sha256(self.canonical(model_id).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class EndpointRequest:
    """One call to another endpoint of an OpenAI-compatible API (``embeddings``, ``moderations``):
    ``body`` (JSON text, without ``model``: the backend adds its own) is POSTed to
    ``{base_url}/{endpoint}``. It goes through the same cache, retries, limits and accounting
    as a chat call; the answer's JSON text comes back as ``ChatResponse.content``.

    ``texts`` are the strings the body sends (for token estimates and the TPM limit)."""

    endpoint: str
    body: str
    texts: tuple[str, ...] = ()
    max_tokens: int = 0  # no output tokens: the worst case of a call is its input

    @classmethod
    def from_body(cls, endpoint: str, body: dict[str, Any], texts: list[str]) -> EndpointRequest:
        return cls(endpoint, json.dumps(body, sort_keys=True, ensure_ascii=False), tuple(texts))

    def prompt_texts(self) -> list[str]:
        return list(self.texts)

    def canonical(self, model_id: str) -> str:
        return json.dumps(
            {"endpoint": self.endpoint, "body": json.loads(self.body), "model": model_id},
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )

    def key(self, model_id: str) -> str:
        return hashlib.sha256(self.canonical(model_id).encode()).hexdigest()


@dataclass(slots=True)
class ChatResponse:
    """The outcome of one request: an answer, or a final error (after retries)."""

    content: str | None
    #: Normalised (tagengo.llm.finish): stop, length, content_filter, tool_calls or unknown;
    #: None on error. The server's own word is in ``raw["finish_reason"]``.
    finish_reason: str | None
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    latency_s: float = 0.0
    cost: float = 0.0
    cached: bool = False  # True when replayed from the request cache (no call was paid)
    attempts: int = 1
    error: str | None = None  # set when the call failed for good; the row is rejected with it
    raw: dict[str, Any] = field(default_factory=dict)
    #: True when the server sent no usage and the tokens were counted here (accounting.count_usage).
    tokens_estimated: bool = False
    #: The model's reasoning, split from the answer (``reasoning_content``, a ``<think>`` block:
    #: tagengo.llm.answer); ``content`` never holds it.
    reasoning: str | None = None
    #: Characters of content/reasoning that were not valid Unicode and became U+FFFD.
    replaced_chars: int = 0
    #: Why the call failed, as a word the answer contract counts: "filtered" (a content filter),
    #: "provider error" (a 200 whose body is an error), "refused" (the server refused this
    #: request: 4xx), "failed" (retries used up). None when ``error`` is None.
    error_kind: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class ChatClient(Protocol):
    """What every backend looks like from outside (OpenAI-compatible HTTP, Azure, llama.cpp)."""

    model_id: str

    def chat_many(self, requests: list[ChatRequest], *, desc: str = "") -> list[ChatResponse]:
        """Answer all requests (cached ones replayed, the rest with bounded concurrency),
        in the order given. Never raises for a failed call: the response carries ``error``."""
        ...

    def close(self) -> None: ...
