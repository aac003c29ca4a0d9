"""The answer contract (tagengo.llm.answer): what servers send, normalised or rejected with a
countable reason, through the real client over real HTTP (tests/servers/answer_faults.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from servers.answer_faults import DECOY
from servers.echo_chat import EchoChatServer
from servers.loopback import started_servers
from tagengo.llm import ChatRequest, LLMConfig, RunAborted, build_client
from tagengo.llm.answer import (
    CALL_FAILED,
    EMPTY,
    FILTERED,
    PROMPT_TRUNCATED,
    PROVIDER_ERROR,
    TEMPLATE_LEAK,
    UNFINISHED,
    answer_meta,
    answer_problem,
    content_parts,
    normalise,
    split_reasoning,
    valid_unicode,
)
from tagengo.llm.types import ChatResponse

LONG = " ".join(f"Sentence number {i} of a long prompt about rivers, towns and trade." for i in range(80))


@pytest.fixture
def echo() -> Iterator:
    yield from started_servers(EchoChatServer)


def _config(server: EchoChatServer, tmp_path: Path, **kw) -> LLMConfig:
    base = {
        "backend": "openai",
        "model": "teacher",
        "base_url": server.url,
        "timeout_s": 2.0,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "max_attempts": 4,
        "concurrency": 4,
        "cache_path": tmp_path / "cache.sqlite",
    }
    base.update(kw)
    return LLMConfig(**base)


def _ask(server, tmp_path, texts, **kw) -> tuple[list[ChatRequest], list[ChatResponse]]:
    reqs = [ChatRequest.from_messages([{"role": "user", "content": t}], max_tokens=4096) for t in texts]
    with build_client(_config(server, tmp_path, **kw)) as client:
        return reqs, client.chat_many(reqs)


# -- normalise, piece by piece ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "text", "reasoning"),
    [
        ("plain", "plain", None),
        ([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], "ab", None),
        ([{"type": "thinking", "thinking": "hm"}, {"type": "text", "text": "ok"}], "ok", "hm"),
        ([{"type": "output_text", "text": "x"}], "x", None),
        (["bare", " string"], "bare string", None),
        ([], "", None),
        (None, None, None),
        (12, None, None),
    ],
)
def test_content_as_a_string_or_as_parts(content, text, reasoning):
    assert content_parts(content) == (text, reasoning)


@pytest.mark.parametrize(
    ("raw", "answer", "reasoning"),
    [
        ("<think>why</think>\n\nBecause.", "\n\nBecause.", "why"),
        ("  <THINK>\nwhy\n</THINK>Because.", "Because.", "why"),
        ("<thinking>a</thinking>b", "b", "a"),
        ("<reasoning>a</reasoning>b", "b", "a"),
        ("why, the template opened it\n</think>\nBecause.", "\nBecause.", "why, the template opened it"),
        ("<think>never closed, cut here", "", "never closed, cut here"),
        (
            "Use <think> tags like this: <think>x</think>",
            "Use <think> tags like this: <think>x</think>",
            None,
        ),
        ("No reasoning at all.", "No reasoning at all.", None),
        (
            "To end it, the model writes </think> and then its answer.",
            "To end it, the model writes </think> and then its answer.",
            None,
        ),
        ("mull it over\n  </think>  \nThe answer.", "\nThe answer.", "mull it over"),
        ("<seed:think>hmm</seed:think>Yes.", "Yes.", "hmm"),
        ("\u25c1think\u25b7hmm\u25c1/think\u25b7Yes.", "Yes.", "hmm"),
        ("\u25c1think\u25b7cut inside", "", "cut inside"),
        (
            "<|channel|>analysis<|message|>plan it<|end|><|start|>assistant<|channel|>final<|message|>Yes.<|return|>",
            "Yes.",
            "plan it",
        ),
        ("<|channel|>analysis<|message|>cut while planning", "", "cut while planning"),
    ],
)
def test_reasoning_is_split_from_the_answer(raw, answer, reasoning):
    assert split_reasoning(raw) == (answer, reasoning)


@pytest.mark.parametrize(
    "answer",
    [
        "Sure.<|im_end|>\n<|im_start|>user\nNow something else.",
        "Paris.<|eot_id|><|start_header_id|>user<|end_header_id|>",
        "Done. [/INST] [INST] more please",
        "Bonjour !<end_of_turn>\n<start_of_turn>user",
        "Fine.</s>",
        "The answer.\n<think>\na second block of thoughts\n</think>\nMore.",
        "All good.<|endoftext|>",
    ],
)
def test_an_answer_holding_a_chat_template_marker_is_a_template_leak(answer):
    problem = answer_problem(normalise(ChatResponse(content=answer, finish_reason="stop", model="m")))
    assert problem is not None and problem.kind == TEMPLATE_LEAK, answer


@pytest.mark.parametrize(
    "answer",
    [
        "ChatML wraps each turn: `<|im_start|>user ... <|im_end|>`.",
        "Llama 2 prompts look like this:\n```\n<s>[INST] Hi [/INST]\n```",
        "Use <s>strikethrough</s> in HTML for deleted text.",
        "The tag </s> closes a strikethrough element, like </b> closes bold.",
        "To end it, the model writes </think> and then its answer.",
    ],
)
def test_markers_in_code_or_plain_html_are_not_leaks(answer):
    assert answer_problem(normalise(ChatResponse(content=answer, finish_reason="stop", model="m"))) is None


def test_lone_surrogates_become_replacement_characters_and_are_counted():
    assert valid_unicode("Sure \ud83d and \udc00 more") == ("Sure \ufffd and \ufffd more", 2)
    assert valid_unicode("a pair \ud83d\ude00 joins") == ("a pair \U0001f600 joins", 0)
    assert valid_unicode("clean \ufffd stays") == ("clean \ufffd stays", 0)


def test_normalise_is_idempotent():
    r = ChatResponse(content="<think>x \ud83d</think>Answer \udc00", finish_reason="stop", model="m")
    normalise(r)
    first = (r.content, r.reasoning, r.replaced_chars)
    assert first == ("Answer \ufffd", "x \ufffd", 2)
    normalise(r)
    assert (r.content, r.reasoning, r.replaced_chars) == first


def test_a_clean_answer_adds_nothing_to_meta():
    r = normalise(ChatResponse(content="Fine.", finish_reason="stop", model="m"))
    assert answer_meta(r) == {}
    assert answer_problem(r, ChatRequest.from_messages([{"role": "user", "content": "q"}])) is None


# -- through a real server and the real client --------------------------------------------------


def test_every_fault_is_normalised_or_rejected_with_its_kind(echo, tmp_path):
    server = echo()
    faults = {
        "clean": None,
        "surrogate": None,
        "parts": None,
        "think": None,
        "thinkopen": None,
        "reasoningfield": None,
        "thinkonly": EMPTY,
        "budget": UNFINISHED,
        "truncated": PROMPT_TRUNCATED,
        "errorbody": PROVIDER_ERROR,
        "filterprompt": FILTERED,
        "filterempty": FILTERED,
        "filteranswer": FILTERED,
        "harmony": None,
        "seedthink": None,
        "kimithink": None,
        "templateleak": TEMPLATE_LEAK,
        "instleak": TEMPLATE_LEAK,
    }
    texts = [f"{LONG} FAULT={k}" if k != "clean" else f"{LONG} clean" for k in faults]
    reqs, resps = _ask(server, tmp_path, texts)
    for (kind, want), req, resp in zip(faults.items(), reqs, resps, strict=True):
        problem = answer_problem(resp, req)
        assert (problem.kind if problem else None) == want, (kind, problem)
        if want is None:
            assert "<think>" not in resp.content and "</think>" not in resp.content, kind
            assert DECOY not in resp.content, kind
            assert resp.content.startswith("Answer: Sentence number 0"), kind
    by_kind = dict(zip(faults, resps, strict=True))
    assert by_kind["surrogate"].replaced_chars == 1 and "\ufffd" in by_kind["surrogate"].content
    assert answer_meta(by_kind["surrogate"]) == {"replaced_chars": 1}
    for kind in ("think", "thinkopen", "reasoningfield", "harmony", "seedthink", "kimithink"):
        assert answer_meta(by_kind[kind]) == {"reasoning": DECOY}, kind
    assert "<|" not in by_kind["harmony"].content
    assert by_kind["thinkonly"].reasoning.startswith(DECOY)
    # Filters and error bodies are final answers of the server: asked once, never retried.
    assert server.received == len(faults)


def test_the_fixed_answers_are_cached_and_replayed_the_same(echo, tmp_path):
    server = echo()
    texts = ["hi FAULT=surrogate", "hi FAULT=think", "hi FAULT=parts"]
    _, first = _ask(server, tmp_path, texts)
    _, again = _ask(server, tmp_path, texts)
    assert server.received == 3  # the second run replayed all three from the cache
    for a, b in zip(first, again, strict=True):
        assert b.cached
        assert (a.content, a.reasoning, a.replaced_chars) == (b.content, b.reasoning, b.replaced_chars)


def test_an_answer_cached_raw_before_the_contract_is_normalised_on_replay(tmp_path):
    from tagengo.llm.cache import RequestCache

    cache = RequestCache(tmp_path / "c.sqlite")
    req = ChatRequest.from_messages([{"role": "user", "content": "q"}])
    old = ChatResponse(content="<think>mull</think>Answer.", finish_reason="stop", model="m")
    cache.put(req.key("m"), "m", req, old)
    got = cache.get(req.key("m"))
    cache.close()
    assert (got.content, got.reasoning) == ("Answer.", "mull")


def test_a_short_prompt_is_never_called_truncated():
    req = ChatRequest.from_messages([{"role": "user", "content": "Bonjour, ça va ?"}])
    r = ChatResponse(content="Oui.", finish_reason="stop", model="m", input_tokens=1, output_tokens=2)
    assert answer_problem(r, req) is None


def test_an_answer_that_used_the_whole_budget_is_cut_unless_the_tokens_were_estimated():
    req = ChatRequest.from_messages([{"role": "user", "content": "q"}], max_tokens=8)
    cut = ChatResponse(content="half a sente", finish_reason="stop", model="m", output_tokens=8)
    assert answer_problem(cut, req).kind == UNFINISHED
    assert "used all 8 tokens" in answer_problem(cut, req).detail
    guessed = ChatResponse(
        content="half a sente", finish_reason="stop", model="m", output_tokens=8, tokens_estimated=True
    )
    assert answer_problem(guessed, req) is None
    assert answer_problem(cut, req, require_stop=False) is None


def test_a_failed_call_keeps_its_kind_in_the_reason():
    r = ChatResponse(content=None, finish_reason=None, model="m", error="timeout", error_kind="failed")
    p = answer_problem(r)
    assert (p.kind, p.reason("translation of message 2")) == (
        CALL_FAILED,
        "call failed (translation of message 2): timeout",
    )


def test_a_refusal_of_every_call_names_the_refusal_and_the_fix(echo, tmp_path):
    server = echo()
    texts = [f"row {i} FAULT=refuse" for i in range(12)]
    with pytest.raises(RunAborted) as info:
        _ask(server, tmp_path, texts, abort_after_failures=10, concurrency=1)
    msg = str(info.value)
    assert "refused" in msg and "max_completion_tokens" in msg
    assert "--max-tokens-param max_completion_tokens" in msg
    assert "is the server" not in msg  # it is up: it answered every call


def test_an_account_out_of_quota_stops_at_the_first_call_and_says_so(echo, tmp_path):
    # A 429 "insufficient_quota" is no rate limit: waiting and retrying cannot make it pass, so
    # the run stops at once, naming the quota, instead of retrying every call and asking
    # whether the server is up.
    server = echo()
    texts = [f"row {i} FAULT=quota" for i in range(20)]
    with pytest.raises(RunAborted) as info:
        _ask(server, tmp_path, texts, concurrency=1, max_attempts=6)
    msg = str(info.value)
    assert "out of quota" in msg and "OPENAI_API_KEY" in msg
    assert "is the server" not in msg
    assert server.received == 1
