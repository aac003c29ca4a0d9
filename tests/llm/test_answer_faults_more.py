"""The fault kinds the s31 and s32 newcomer trials found (tests/servers/answer_faults.py: ``fffd``,
``toolcallsfield``, ``contentnumber``, ``ollamaempty``; ``numloop``, ``nearbudget``,
``toolcallsfinish``, ``refusal``, and the kept ``roleheader`` and ``mojibake``) through the real client over real HTTP,
each on more than one prompt: every one ends with its own countable reason, none as ``empty
answer`` or ``unknown finish reason``, and the passing one is asked again, never cached."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from servers.echo_chat import EchoChatServer
from servers.loopback import started_servers
from tagengo.llm import ChatRequest, LLMConfig, build_client
from tagengo.llm.answer import (
    CALL_FAILED,
    PROVIDER_ERROR,
    REFUSAL,
    REPETITION,
    REPLACEMENT,
    TOOL_CALL,
    UNFINISHED,
    answer_problem,
)

PROMPTS = ("Tell me about rain.", "Erzähl mir etwas über Schnee.", "雨はどうやってできますか？")
WANT = {
    "fffd": (REPLACEMENT, "U+FFFD replacement character"),
    "toolcallsfield": (TOOL_CALL, "structured tool call ('get_weather')"),
    "contentnumber": (PROVIDER_ERROR, "content is int 42, not text"),
    "ollamaempty": (CALL_FAILED, "no finish reason, no content and no completion tokens"),
    # the s32 newcomer trial's
    "numloop": (REPETITION, "'I will check the cause again.' repeated 40 times, each with its own number"),
    "nearbudget": (UNFINISHED, "used 511 of the 512 tokens of max_tokens and ends mid-sentence"),
    "toolcallsfinish": (TOOL_CALL, "structured tool call ('search') though the request offered no tools"),
    "refusal": (REFUSAL, "the answer is only a refusal"),
}


@pytest.fixture
def echo() -> Iterator:
    yield from started_servers(EchoChatServer)


def _ask(server, tmp_path, texts):
    cfg = LLMConfig(model="teacher", base_url=server.url, timeout_s=2.0, backoff_base_s=0.01, backoff_max_s=0.02,
                    max_attempts=2, concurrency=4, cache_path=tmp_path / "c.sqlite")  # fmt: skip
    reqs = [ChatRequest.from_messages([{"role": "user", "content": t}], max_tokens=512) for t in texts]
    with build_client(cfg) as client:
        return reqs, client.chat_many(reqs)


def test_each_new_fault_has_its_own_reason_on_every_prompt(echo, tmp_path):
    server = echo()
    texts = [f"{p} FAULT={kind}" for kind in WANT for p in PROMPTS] + ["clean prompt"]
    reqs, resps = _ask(server, tmp_path, texts)
    assert answer_problem(resps[-1], reqs[-1]) is None
    for text, req, resp in zip(texts, reqs, resps, strict=False):
        kind = text.rsplit("FAULT=", 1)[-1] if "FAULT=" in text else None
        if kind is None:
            continue
        problem = answer_problem(resp, req)
        assert problem is not None and problem.kind == WANT[kind][0], (text, problem)
        assert WANT[kind][1] in problem.detail, (text, problem.detail)
    before = server.received
    _ask(server, tmp_path, [*texts, "another clean prompt"])
    # Asked again: the lost requests (2 attempts each), the number contents (an error, never
    # cached) and the new prompt. fffd and the tool calls are answers: cached, and rejected again
    # on replay without a call.
    asked = server.received - before
    assert asked == 3 * 2 + 3 + 1, asked


def test_a_role_header_and_mojibake_are_repaired_over_http_and_again_from_the_cache(echo, tmp_path):
    from servers.answer_faults import ACCENTED

    server = echo()
    texts = [f"{p} FAULT={kind}" for kind in ("roleheader", "mojibake") for p in PROMPTS]
    for _ in range(2):  # the second time from the cache: normalise reads it the same way
        reqs, resps = _ask(server, tmp_path, texts)
        for text, req, resp in zip(texts, reqs, resps, strict=True):
            assert answer_problem(resp, req) is None, text
            assert resp.content == f"Answer: {text}" + (ACCENTED if "mojibake" in text else ""), resp.content
            (note,) = resp.raw["normalised"]
            want = (
                "repaired mojibake with ftfy (encode latin-1 then decode utf-8)"
                if "mojibake" in text
                else "cut the role header 'assistant' at the start"
            )
            assert note.startswith(want), note
    assert server.received == len(texts)
