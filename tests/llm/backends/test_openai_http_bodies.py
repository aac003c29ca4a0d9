"""Bodies the OpenAI-compatible backend must read right, sent byte for byte by a loopback server
(the shapes a newcomer's misbehaving server sent, /tmp/newcomer_srv in the trial): a body in the
charset its Content-Type declares, a stream that ends in vLLM's engine abort, a text completion
where a chat completion was asked."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from servers.loopback import LoopbackServer, started_servers
from tagengo.llm import ChatRequest, LLMConfig, build_client
from tagengo.llm.answer import CALL_FAILED, PROVIDER_ERROR, answer_problem

GERMAN = "Die Photosynthese ist der Vorgang, bei dem grüne Pflanzen Zucker herstellen; Größe, Maß."


def _chat(content, finish="stop") -> dict:
    return {
        "id": "c1", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 20, "total_tokens": 29},
    }  # fmt: skip


class RawBodyServer(LoopbackServer):
    """Answers each chat request with the raw body and Content-Type named by ``MODE:<name>`` in
    the last message; counts the requests."""

    def __init__(self) -> None:
        super().__init__()
        self.received = 0

    def reply(self, mode: str) -> tuple[bytes, str]:
        if mode == "latin1":
            return json.dumps(_chat(GERMAN), ensure_ascii=False).encode(
                "latin-1"
            ), "application/json; charset=iso-8859-1"
        if mode == "utf8declared":
            return json.dumps(_chat(GERMAN), ensure_ascii=False).encode(), "application/json; charset=UTF-8"
        if mode == "sseabort":
            events = [
                {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Die Photo"}, "finish_reason": None}]},
                {"choices": [{"index": 0, "delta": {}, "finish_reason": "abort"}]},
            ]  # fmt: skip
            text = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
            return text.encode(), "text/event-stream"
        if mode == "textcompletion":
            body = {"id": "x", "object": "text_completion", "model": "m",
                    "choices": [{"index": 0, "text": GERMAN, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 9, "completion_tokens": 20, "total_tokens": 29}}  # fmt: skip
            return json.dumps(body).encode(), "application/json"
        return json.dumps(_chat("fine")).encode(), "application/json"

    async def _post(self, request: web.Request) -> web.Response:
        self.received += 1
        body = json.loads(await request.read())
        mode = body["messages"][-1]["content"].split("MODE:")[-1].split()[0]
        payload, ctype = self.reply(mode)
        return web.Response(body=payload, headers={"Content-Type": ctype})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._post)
        return app


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawBodyServer]]:
    yield from started_servers(RawBodyServer)


def _ask(server: RawBodyServer, tmp_path: Path, modes: list[str]):
    cfg = LLMConfig(model="m", base_url=server.url, cache_path=tmp_path / "c.sqlite", max_attempts=2,
                    backoff_base_s=0.01, backoff_max_s=0.02, timeout_s=5.0)  # fmt: skip
    reqs = [ChatRequest.from_messages([{"role": "user", "content": f"q MODE:{m}"}]) for m in modes]
    with build_client(cfg) as client:
        return client.chat_many(reqs)


def test_a_body_is_decoded_by_the_charset_its_content_type_declares(raw_server, tmp_path):
    server = raw_server()
    latin, utf8, clean = _ask(server, tmp_path, ["latin1", "utf8declared", "clean"])
    assert latin.ok and latin.content == GERMAN, latin.error  # was "malformed response"
    assert utf8.ok and utf8.content == GERMAN
    assert answer_problem(latin) is None and clean.content == "fine"


def test_a_stream_that_ends_in_an_engine_abort_is_retried_and_never_cached(raw_server, tmp_path):
    server = raw_server()
    aborted, clean = _ask(server, tmp_path, ["sseabort", "clean"])
    problem = answer_problem(aborted)
    assert problem.kind == CALL_FAILED and "aborted the generation (finish_reason='abort'" in problem.detail
    assert "(gave up after 2 attempts)" in problem.detail and clean.ok
    assert server.received == 3
    _ask(server, tmp_path, ["sseabort", "other MODE:clean"])
    assert server.received == 6  # the abort was asked again: nothing of it was cached


def test_a_text_completion_is_rejected_as_malformed_naming_the_base_url(raw_server, tmp_path):
    server = raw_server()
    (resp,) = _ask(server, tmp_path, ["textcompletion"])
    problem = answer_problem(resp)
    assert problem.kind == PROVIDER_ERROR and problem.detail.startswith("malformed response: ")
    assert "choices[0].text" in problem.detail and "'text_completion'" in problem.detail
    assert "--base-url points at a /completions endpoint" in problem.detail
    assert server.received == 1
