"""ChatRequest's cache key: every field that can change the answer, the sample index included."""

from __future__ import annotations

import hashlib
import json

from tagengo.llm.types import ChatRequest

MSGS = [{"role": "user", "content": "Write a haiku."}]


def test_the_sample_index_tells_independent_draws_apart() -> None:
    draws = [ChatRequest.from_messages(MSGS, temperature=0.7, sample=i).key("m") for i in range(3)]
    assert len(set(draws)) == 3


def test_sample_zero_keeps_the_key_it_had_before_samples() -> None:
    """Caches filled before the sample index existed still answer sample 0."""
    req = ChatRequest.from_messages(MSGS, temperature=0.7)
    old = {
        "messages": MSGS,
        "temperature": 0.7,
        "max_tokens": 2048,
        "top_p": None,
        "seed": None,
        "stop": None,
        "extra": {},
        "model": "m",
    }
    expected = hashlib.sha256(
        json.dumps(old, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()
    assert req.key("m") == expected
    assert '"sample":1' in ChatRequest.from_messages(MSGS, sample=1).canonical("m")


def test_the_sample_index_is_never_sent() -> None:
    from tagengo.llm.backends.openai_http import OpenAIHTTPBackend
    from tagengo.llm.config import LLMConfig

    backend = OpenAIHTTPBackend(LLMConfig(model="m", base_url="http://127.0.0.1:1/v1"))
    assert "sample" not in backend.body(ChatRequest.from_messages(MSGS, sample=3))
