"""One client layer for every model call in tagengo (generation, translation, reverse
instructions, MT-Bench answering and judging).

    from tagengo.llm import ChatRequest, LLMConfig, build_client

    with build_client(LLMConfig(backend="openai", model="gpt-4o", concurrency=32)) as client:
        responses = client.chat_many([ChatRequest.from_messages(msgs, max_tokens=512)], desc="judge")
        for r in responses:
            print(r.content if r.ok else r.error)

See docs/llm.md for backends, the request cache, retries, rate limits, the budget and secrets.
"""

from __future__ import annotations

from rich.console import Console

from tagengo.llm.accounting import summary_table
from tagengo.llm.cache import RequestCache
from tagengo.llm.client import LLMClient
from tagengo.llm.config import LLMConfig, Price
from tagengo.llm.errors import (
    BudgetExhausted,
    LLMConfigError,
    LLMError,
    RunAborted,
)
from tagengo.llm.types import ChatClient, ChatRequest, ChatResponse, EndpointRequest


def build_client(config: LLMConfig, *, progress: bool = False, console: Console | None = None) -> LLMClient:
    """A ready ``ChatClient`` for ``config``: backend, request cache, limits and accounting.

    Cheap to call: connections open and weights load on the first ``chat_many``. Raises
    ``LLMConfigError`` (one clear sentence) when the config cannot work. ``progress`` shows
    a rich bar (tokens/s, spend) on ``console`` (default: stderr). Close the client (or use
    it as a context manager) when done."""
    from tagengo.llm.backends import make_backend

    config.check()
    backend = make_backend(config)
    cache = RequestCache(config.resolved_cache_path()) if config.cache else None
    return LLMClient(config, backend, cache, progress=progress, console=console)


__all__ = [
    "BudgetExhausted",
    "ChatClient",
    "ChatRequest",
    "ChatResponse",
    "EndpointRequest",
    "LLMClient",
    "LLMConfig",
    "LLMConfigError",
    "LLMError",
    "Price",
    "RequestCache",
    "RunAborted",
    "build_client",
    "summary_table",
]
