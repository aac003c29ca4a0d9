"""Finish reasons in one vocabulary, whatever the server says; the server's word kept."""

from __future__ import annotations

import pytest

from servers.fake_chat_server import answer_for
from tagengo.llm import ChatRequest, build_client
from tagengo.llm.finish import VOCABULARY, normalise_finish_reason


@pytest.mark.parametrize(
    ("raw", "word"),
    [
        ("stop", "stop"),  # OpenAI, vLLM, llama.cpp, Ollama
        ("eos_token", "stop"),  # text-generation-inference
        ("end_turn", "stop"),  # Anthropic
        ("stop_sequence", "stop"),
        ("STOP", "stop"),  # Gemini
        ("length", "length"),
        ("max_tokens", "length"),  # Anthropic
        ("MAX_TOKENS", "length"),  # Gemini
        ("content_filter", "content_filter"),  # OpenAI, Azure
        ("SAFETY", "content_filter"),  # Gemini
        ("RECITATION", "content_filter"),
        ("tool_calls", "tool_calls"),
        ("function_call", "tool_calls"),
        ("tool_use", "tool_calls"),
        ("OTHER", "unknown"),
        ("", "unknown"),
        (None, "unknown"),
        (3, "unknown"),
    ],
)
def test_every_spelling_in_use_maps_to_one_word(raw, word):
    assert normalise_finish_reason(raw) == word
    assert word in VOCABULARY


@pytest.mark.parametrize(
    ("spelling", "want"),
    [
        ({"stop": "eos_token", "length": "max_tokens"}, ("stop", "length")),
        ({"stop": "STOP"}, ("stop", "length")),
    ],
)
def test_the_backend_normalises_and_keeps_the_servers_word(fake_server, quick_config, spelling, want):
    server = fake_server(finish_spelling=spelling)
    long_enough = ChatRequest.from_messages([{"role": "user", "content": "hello"}], max_tokens=64)
    cut = ChatRequest.from_messages([{"role": "user", "content": "hello again"}], max_tokens=2)
    with build_client(quick_config(server)) as client:
        out = client.chat_many([long_enough, cut])
        summary = client.summary()["teacher"]
    assert (out[0].finish_reason, out[1].finish_reason) == want
    assert out[0].raw["finish_reason"] == spelling["stop"]
    assert out[1].raw["finish_reason"] == spelling.get("length", "length")
    assert out[0].content == answer_for({"messages": long_enough.message_dicts()})
    assert summary["finish_reasons"] == {"stop": 1, "length": 1}
    # Replayed from the cache, the answer reads the same.
    with build_client(quick_config(server)) as client:
        again = client.chat_many([long_enough, cut])
    assert [(r.finish_reason, r.raw["finish_reason"], r.cached) for r in again] == [
        (r.finish_reason, r.raw["finish_reason"], True) for r in out
    ]


def test_an_unknown_finish_reason_is_counted_with_the_servers_word(fake_server, quick_config):
    server = fake_server(finish_spelling={"stop": "halted_for_reasons"})
    reqs = [
        ChatRequest.from_messages([{"role": "user", "content": f"q {i}"}], max_tokens=64) for i in range(3)
    ]
    with build_client(quick_config(server)) as client:
        out = client.chat_many(reqs)
        summary = client.summary()["teacher"]
    assert {r.finish_reason for r in out} == {"unknown"}
    assert summary["finish_reasons"] == {"unknown": 3}
    assert summary["unknown_finish_reasons"] == {"halted_for_reasons": 3}
