"""The answer contract (tagengo.llm.answer): what servers send, normalised or rejected with a
countable reason, through the real client over real HTTP (tests/servers/answer_faults.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from servers.answer_faults import DECOY
from servers.echo_chat import EchoChatServer
from servers.loopback import started_servers
from tagengo.llm import ChatRequest, LLMConfig, RunAborted, build_client
from tagengo.llm.answer import (
    CALL_FAILED,
    CONTROL_CHARS,
    ECHO,
    EMPTY,
    FILTERED,
    PROBLEM_KINDS,
    PROMPT_TRUNCATED,
    PROVIDER_ERROR,
    REPETITION,
    TEMPLATE_LEAK,
    TOOL_CALL,
    TRUNCATED_RATIO,
    UNFINISHED,
    WRONG_LANGUAGE,
    AnswerLanguage,
    AnswerLanguageConfig,
    answer_meta,
    answer_problem,
    content_parts,
    count_prompt_tokens,
    degenerate,
    normalise,
    repeated_tail,
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
        "Fine.</s><s> And then the user said more.",
        "The answer.\n<think>\na second block of thoughts\n</think>\nMore.",
        "All good.<|endoftext|>\nUser: next",
        # DeepSeek's, Gemma's, Cohere's markers and made-up closings, with text after them
        "Yes.<\uff5cend\u2581of\u2581sentence\uff5c><\uff5cUser\uff5c>thanks",
        "Yes.<eos>\nmore",
        "Yes.<|file_separator|>",
        "Yes.<|END_OF_TURN_TOKEN|><|START_OF_TURN_TOKEN|><|USER_TOKEN|>thanks",
        "Yes. [/ASSISTANT]",
        # next turns made up in plain text
        "Yes.\n\n### Human: Thanks!\n### Assistant: Sure.",
        "Yes.\n\nHuman: thanks",
        "Yes.\n\nUSER: thanks\nASSISTANT: ok",
        "Yes.\n\nUser: Thanks, and animals?\nAssistant: They eat.",
        "Yes.\nuser\nThanks! What about animals?\nmodel\nAnimals eat food.",
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


@pytest.mark.parametrize(
    "token",
    ["</s>", "<|im_end|>", "<|eot_id|>", "<eos>", "<end_of_turn>", "<|END_OF_TURN_TOKEN|>", "<|return|>",
     "<\uff5cend\u2581of\u2581sentence\uff5c>", "<|im_end|>\n<|endoftext|>"],
)  # fmt: skip
def test_an_end_of_turn_token_alone_at_the_very_end_is_cut_and_noted(token):
    r = normalise(ChatResponse(content=f"The answer is 42.{token}\n", finish_reason="stop", model="m"))
    assert r.content == "The answer is 42." and answer_problem(r) is None
    (note,) = answer_meta(r)["normalised"]
    assert note.startswith("cut the end-of-turn token") and token.split("\n")[0] in note
    normalise(r)  # idempotent: replayed from the cache, nothing more is cut or noted twice
    assert r.content == "The answer is 42." and len(answer_meta(r)["normalised"]) == 1


def test_an_html_strikethrough_at_the_end_is_not_a_stop_token():
    r = normalise(
        ChatResponse(content="Deleted text looks like <s>this</s>", finish_reason="stop", model="m")
    )
    assert r.content.endswith("</s>") and "normalised" not in answer_meta(r)


_PLAIN_TURNS = [
    "Yes.\n\n### Human: Thanks!\n### Assistant: Sure.",
    "Hello there.\n\nUser: Hi! How are you?\nAssistant: Fine, thanks.",
    "Opening.\nUSER: hi\nASSISTANT: hello",
]


@pytest.mark.parametrize("answer", _PLAIN_TURNS)
def test_a_dialogue_the_prompt_asked_for_is_no_made_up_turn(answer):
    for prompt in (
        "Write a short dialogue between a user and an assistant.",
        "Give me a transcript of a support chat.",
        "Schreib ein Gespräch zwischen zwei Freunden.",
    ):
        req = ChatRequest(messages=(("user", prompt),))
        r = normalise(ChatResponse(content=answer, finish_reason="stop", model="m"))
        assert answer_problem(r, req) is None, (answer, prompt)
    plain = ChatRequest(messages=(("user", "Explain photosynthesis simply."),))
    problem = answer_problem(normalise(ChatResponse(content=answer, finish_reason="stop", model="m")), plain)
    assert problem is not None and problem.kind == TEMPLATE_LEAK


@pytest.mark.parametrize(
    "answer",
    [
        '{"name": "get_current_weather", "parameters": {"location": "Boston, MA", "unit": "fahrenheit"}}',
        '```json\n{"name": "search", "arguments": "{\\"q\\": \\"x\\"}"}\n```',
        "<tool_call>\n<function=search>\n<parameter=query>\nphotosynthesis\n</parameter>\n</function>\n</tool_call>",
        '<function=search>{"query": "x"}</function>',
        '[TOOL_CALLS] [{"name": "f", "arguments": {}}]',
    ],
)
def test_an_answer_that_is_only_a_tool_call_is_rejected_unless_json_or_tools_were_asked(answer):
    def problem(req):
        return answer_problem(normalise(ChatResponse(content=answer, finish_reason="stop", model="m")), req)

    got = problem(ChatRequest(messages=(("user", "Explain photosynthesis simply."),)))
    assert got is not None and got.kind == TOOL_CALL and "tool call" in got.detail
    assert (
        problem(ChatRequest(messages=(("user", "Reply only with a JSON object naming the function."),)))
        is None
    )
    tools = ChatRequest(
        messages=(("user", "Weather in Boston?"),), extra=(("tools", [{"type": "function"}]),)
    )
    assert problem(tools) is None


def test_json_that_is_no_tool_call_is_an_answer():
    for answer in ('{"name": "Ada", "age": 36}', "[1, 2, 3]", '{"role": "user", "content": "hi"}'):
        r = normalise(ChatResponse(content=answer, finish_reason="stop", model="m"))
        assert r.content == answer and answer_problem(r) is None, answer


def test_a_json_encoded_assistant_message_is_unwrapped_and_noted():
    wrapped = json.dumps({"role": "assistant", "content": "Bonjour, ça va ?"}, ensure_ascii=False)
    r = normalise(ChatResponse(content=wrapped, finish_reason="stop", model="m"))
    assert r.content == "Bonjour, ça va ?" and answer_problem(r) is None
    assert answer_meta(r) == {"normalised": ["unwrapped a JSON-encoded assistant message"]}
    normalise(r)
    assert r.content == "Bonjour, ça va ?" and len(answer_meta(r)["normalised"]) == 1


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


def test_passing_server_faults_are_retried_never_cached_and_end_as_call_failed(echo, tmp_path):
    """vLLM's finish_reason "abort" and Ollama's content null with usage 0/0 were cached as answers
    (an empty one for Ollama) and never asked again; they are retried, and a re-run asks again."""
    server = echo()
    texts = ["hi FAULT=abort", "hi FAULT=ollamanull", "hi clean"]
    _, resps = _ask(server, tmp_path, texts, max_attempts=3)
    assert answer_problem(resps[2]) is None
    for resp in resps[:2]:
        p = answer_problem(resp)
        assert p.kind == CALL_FAILED and p.detail.endswith("(gave up after 3 attempts)"), p
    assert "aborted the generation (finish_reason='abort'" in resps[0].error
    assert "content null and no completion tokens" in resps[1].error
    assert server.received == 7
    _ask(server, tmp_path, [*texts, "hi again"], max_attempts=3)
    assert server.received == 14  # nothing but the clean answer was cached: the re-run asked again


def test_a_text_completion_body_is_a_provider_error_naming_the_base_url(echo, tmp_path):
    server = echo()
    _, (resp,) = _ask(server, tmp_path, ["hi FAULT=textfield"])
    p = answer_problem(resp)
    assert p.kind == PROVIDER_ERROR and p.detail.startswith("malformed response:"), p
    assert "choices[0].text" in p.detail and "/completions" in p.detail and "--base-url" in p.detail
    assert server.received == 1  # the same request gets the same shape: not retried


def test_leaks_tool_calls_and_wrapped_messages_through_the_real_client(echo, tmp_path):
    server = echo()
    faults = {"stoptoken": None, "wrapped": None, "deepseekleak": TEMPLATE_LEAK, "plainturn": TEMPLATE_LEAK,
              "toolcall": TOOL_CALL}  # fmt: skip
    reqs, resps = _ask(server, tmp_path, [f"{LONG} FAULT={k}" for k in faults])
    for (kind, want), req, resp in zip(faults.items(), reqs, resps, strict=True):
        problem = answer_problem(resp, req)
        assert (problem.kind if problem else None) == want, (kind, problem)
    stop, wrapped = resps[0], resps[1]
    assert stop.content.startswith("Answer: Sentence number 0") and "\uff5c" not in stop.content
    assert answer_meta(stop)["normalised"] == [
        "cut the end-of-turn token '<\uff5cend\u2581of\u2581sentence\uff5c>' at the end"
    ]
    assert wrapped.content.startswith("Answer: Sentence number 0")
    assert answer_meta(wrapped)["normalised"] == ["unwrapped a JSON-encoded assistant message"]
    assert "'<\uff5cend\u2581of\u2581sentence\uff5c>'" in answer_problem(resps[2], reqs[2]).detail
    assert "'### Human:'" in answer_problem(resps[3], reqs[3]).detail
    # The notes are kept with the answer: replayed from the cache, the meta is the same.
    _, again = _ask(server, tmp_path, [f"{LONG} FAULT={k}" for k in faults])
    assert again[0].cached and answer_meta(again[0]) == answer_meta(stop)


def test_a_prompt_cut_to_a_common_context_size_is_truncated_though_above_the_ratio():
    """Ollama's num_ctx 2,048 with ~3,100 tokens sent: 0.65 of o200k's count, above the 0.4 line
    (tokenizers differ that much), but exactly at a context size: a cut."""
    text = " ".join(f"Section {i}: the committee reviewed item {i} of the budget." for i in range(230))
    req = ChatRequest.from_messages([{"role": "user", "content": text}])
    counted = count_prompt_tokens(req.prompt_texts())
    assert 2048 * 1.2 <= counted < 2048 / TRUNCATED_RATIO
    for reported in (2048, 2047, 2040):
        r = ChatResponse(
            content="ok", finish_reason="stop", model="m", input_tokens=reported, output_tokens=1
        )
        p = answer_problem(r, req)
        assert p.kind == PROMPT_TRUNCATED and "(at the context size 2,048)" in p.detail, reported
    for reported in (2020, 2049, 1900, counted - 10):  # not at a size, or the whole prompt
        r = ChatResponse(
            content="ok", finish_reason="stop", model="m", input_tokens=reported, output_tokens=1
        )
        assert answer_problem(r, req) is None, reported
    # At a size, but the count here is not clearly above it: a tokenizer difference, not a cut.
    short = ChatRequest.from_messages([{"role": "user", "content": text[: len(text) * 2 // 3]}])
    assert count_prompt_tokens(short.prompt_texts()) < 2048 * 1.2
    r = ChatResponse(content="ok", finish_reason="stop", model="m", input_tokens=2048, output_tokens=1)
    assert answer_problem(r, short) is None


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


# -- degenerate answers: loops, echoes, control characters -------------------------------------------


def _ok(text: str) -> ChatResponse:
    return ChatResponse(model="m", content=text, finish_reason="stop", output_tokens=10)


def _req(prompt: str) -> ChatRequest:
    return ChatRequest.from_messages([{"role": "user", "content": prompt}], max_tokens=4096)


#: Answers that repeat on purpose and must pass: lists, tables, code, refrains, a zero matrix.
LEGIT = {
    "list": "Shopping list:\n" + "".join(f"- item {i}: apples\n" for i in range(30)) + "That is all.",
    "same-items": "Checklist:\n" + "- [ ] done?\n" * 12 + "\nTick each box when it is done.",
    "table": "| name | value |\n| --- | --- |\n" + "".join(f"| row {i} | 0 |\n" for i in range(40)),
    "empty-table": "| a | b | c |\n|---|---|---|\n" + "|   |   |   |\n" * 20 + "\nFill in the cells above.",
    "code": "```python\n" + "x = 0\n" * 25 + "print(x)\n```\nEach line resets x.",
    "code-unclosed-pattern": "```c\n" + "    buf[i++] = 0;\n" * 12 + "```",
    "refrain": "\n\n".join(
        f"Verse {i}: the river runs past the mill and the town.\nLa la la, the water sings, la la la."
        for i in range(8)
    ),
    "chorus-end": "The night is long.\n" + "Sing, sing, sing along!\n" * 4,
    "zeros": "Here is the 10x10 zero matrix:\n" + "0 0 0 0 0 0 0 0 0 0\n" * 10 + "Every entry is 0.",
    "zeros-at-end": "The matrix:\n" + "0 0 0 0 0 0 0 0 0 0\n" * 10,
    "rule": "Title\n" + "=" * 120,
    "japanese": "はい。" + "、".join(["りんご", "みかん", "ぶどう"] * 10) + "です。",
    "haha": "Ha" * 30 + "! That is a good joke.",
}


@pytest.mark.parametrize("kind", sorted(LEGIT))
def test_answers_that_repeat_on_purpose_pass(kind):
    text = LEGIT[kind]
    assert degenerate(text, _req("Show me an example, please, with some repetition in it.")) is None, kind
    assert answer_problem(_ok(text), _req("Show me an example, please, with some repetition.")) is None


LOOPS = {
    "sentence": ("Rain is water. " + "I will now explain it again in other words. " * 20, 20),
    "word": ("The answer is " + "the " * 120, 119),
    "cjk": ("答案是" + "好的" * 150, 150),
    "paragraph": ("Intro.\n\n" + "Step one: open the lid.\nStep two: pour the water in slowly.\n\n" * 9, 9),
    "cut-mid-unit": ("Sure. " + "We can go to the beach tomorrow. " * 12 + "We can go to the be", 12),
    "digits": ("Result: " + "0," * 600, 600),
}


@pytest.mark.parametrize("kind", sorted(LOOPS))
def test_an_answer_that_ends_in_a_loop_is_rejected_as_repetition(kind):
    text, at_least = LOOPS[kind]
    unit, times = repeated_tail(text)
    assert times >= at_least - 1 and unit
    problem = answer_problem(_ok(text), _req("Tell me something."))
    assert problem is not None and problem.kind == REPETITION
    assert (
        problem.reason().startswith("repetition: the answer ends in ")
        and "the model looped" in problem.reason()
    )


def test_an_echo_of_the_prompt_is_rejected_and_a_short_greeting_back_is_not():
    prompt = "Please explain how a heat pump works in winter."
    for text in (prompt, prompt.upper(), f'"{prompt}"', f"Sure: {prompt}", f"{prompt}\n\n"):
        problem = answer_problem(_ok(text), _req(prompt))
        assert problem is not None and problem.kind == ECHO, text
    assert answer_problem(_ok("Answer: " + prompt), _req(prompt)) is None  # six letters added: an answer
    assert answer_problem(_ok("Hello!"), _req("Hello")) is None  # too short to call an echo
    assert answer_problem(_ok("It moves heat from outside air into the house."), _req(prompt)) is None
    # Only the last user turn counts: an answer may well repeat an earlier one.
    two = ChatRequest.from_messages(
        [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": "It moves heat."},
            {"role": "user", "content": "Say my first question again, word for word."},
        ]
    )
    assert answer_problem(_ok(prompt), two) is None


def test_control_characters_are_rejected_but_tabs_and_newlines_are_text():
    problem = answer_problem(_ok("a\x00b\x1b[0m"), None)
    assert problem is not None and problem.kind == CONTROL_CHARS
    assert problem.detail.startswith("2 C0 control characters (the first U+0000 at character 1)")
    assert answer_problem(_ok("col\tcol\r\nline\n"), None) is None
    assert {CONTROL_CHARS, REPETITION, ECHO, WRONG_LANGUAGE} <= set(PROBLEM_KINDS)


# -- the answer's language -------------------------------------------------------------------------

GERMAN = "Regen entsteht, wenn Wasserdampf in der Luft abkühlt und zu Tröpfchen kondensiert, die dann fallen."
ENGLISH = "Rain forms when water vapour in the air cools and condenses into droplets that then fall down."


def test_the_language_check_rejects_an_answer_in_another_language_with_what_lid_found():
    check = AnswerLanguage(AnswerLanguageConfig())
    problem, found = check.problem(ENGLISH, "de")
    assert problem is not None and problem.kind == WRONG_LANGUAGE
    assert problem.reason().startswith("wrong language: lid.176 says the answer is 'en' (p=")
    assert "the row's language is 'de'" in problem.reason()
    assert found["detected"] == "en" and found["expected"] == "de" and found["prob"] >= 0.9
    problem, found = check.problem(GERMAN, "de")
    assert problem is None and found["detected"] == "de"


def test_the_language_check_leaves_alone_what_it_cannot_judge():
    check = AnswerLanguage(AnswerLanguageConfig())
    # No language, the count key of rows without one, a language lid.176 cannot name (Zulu).
    for language in (None, "", "(none)", "zu"):
        assert check.problem(ENGLISH, language) == (None, {}), language
    # Too few letters; code (stripped before LID); math.
    assert check.problem("OK, 42.", "de") == (None, {})
    code = "```python\ndef add(a, b):\n    return a + b\n\nprint(add(2, 3))\n```"
    assert check.problem(code, "ja")[0] is None
    assert check.problem("x = (-b ± √(b² - 4ac)) / 2a, also x₁ = 2, x₂ = -3.", "fr")[0] is None
    # A translation asked for is answered in the other language.
    assert check.problem(ENGLISH, "de", prompt="Übersetze bitte ins Englische: Regen entsteht ...") == (
        None,
        {},
    )
    assert check.problem(ENGLISH, "zh", prompt="请帮我翻译成英文：雨是怎么形成的？") == (None, {})
    # Off.
    assert AnswerLanguage(AnswerLanguageConfig(enabled=False)).problem(ENGLISH, "de") == (None, {})
