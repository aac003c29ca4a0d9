"""Why a model stopped, in one vocabulary whatever the server said.

Servers that speak the OpenAI chat protocol do not agree on ``finish_reason``: text-generation-
inference reports a natural stop as ``eos_token``, Anthropic-style gateways pass ``end_turn`` and
``max_tokens`` through, Gemini's OpenAI layer says ``STOP``, ``MAX_TOKENS`` and ``SAFETY``, some
proxies send nothing. tagengo keeps the server's word (``ChatResponse.raw["finish_reason"]``,
and ``meta.generation.finish_reason_raw`` in a record) and decides on the normalised one:

============== ===============================================================================
``stop``       stopped by itself: end of turn, EOS token, a stop sequence
``length``     cut by the output-token limit (``max_tokens``) or the context window
``content_filter`` withheld or cut by a safety / recitation filter
``tool_calls`` stopped to call a tool (or a function, the older name)
``unknown``    none given, or a value not listed here: counted, and kept apart in the summary
============== ===============================================================================
"""

from __future__ import annotations

STOP = "stop"
LENGTH = "length"
CONTENT_FILTER = "content_filter"
TOOL_CALLS = "tool_calls"
UNKNOWN = "unknown"
VOCABULARY = (STOP, LENGTH, CONTENT_FILTER, TOOL_CALLS, UNKNOWN)

#: Spellings seen from servers in use, lower case, by meaning.
_SPELLINGS: dict[str, str] = {
    # stopped by itself
    "stop": STOP,  # OpenAI, Azure, vLLM, llama.cpp server, Ollama's /v1
    "eos_token": STOP,  # text-generation-inference
    "eos": STOP,
    "end_turn": STOP,  # Anthropic
    "stop_sequence": STOP,  # Anthropic, TGI with a stop string
    "end_of_turn": STOP,
    "complete": STOP,  # Cohere
    "finish_reason_stop": STOP,  # Gemini's enum names, unmapped by some gateways
    # cut by a limit
    "length": LENGTH,  # OpenAI, vLLM, llama.cpp, Ollama
    "max_tokens": LENGTH,  # Anthropic, Gemini ("MAX_TOKENS"), Cohere
    "max_length": LENGTH,
    "max_new_tokens": LENGTH,
    "model_length": LENGTH,
    "context_length_exceeded": LENGTH,
    "finish_reason_max_tokens": LENGTH,
    # filtered
    "content_filter": CONTENT_FILTER,  # OpenAI, Azure
    "safety": CONTENT_FILTER,  # Gemini
    "recitation": CONTENT_FILTER,  # Gemini
    "blocklist": CONTENT_FILTER,  # Gemini
    "prohibited_content": CONTENT_FILTER,  # Gemini
    "spii": CONTENT_FILTER,  # Gemini
    "image_safety": CONTENT_FILTER,  # Gemini
    "refusal": CONTENT_FILTER,  # Anthropic
    "error_toxic": CONTENT_FILTER,  # Cohere
    # tool use
    "tool_calls": TOOL_CALLS,  # OpenAI
    "function_call": TOOL_CALLS,  # OpenAI, before tools
    "tool_use": TOOL_CALLS,  # Anthropic
}


def normalise_finish_reason(raw: object) -> str:
    """The vocabulary word for a server's ``finish_reason`` (any case); ``unknown`` for None,
    a non-string or a spelling not listed."""
    if not isinstance(raw, str):
        return UNKNOWN
    return _SPELLINGS.get(raw.strip().lower(), UNKNOWN)
