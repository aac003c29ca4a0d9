"""More bodies the OpenAI-compatible backend must read right (the s31 newcomer trial's
misbehaving server, /tmp/newcomer31_srv): UTF-8 labelled iso-8859-1, an HTML page among answers,
``content`` that is not text, structured tool calls nobody offered, Ollama's lost request with no
finish reason, U+FFFD in the answer."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from servers.loopback import LoopbackServer, started_servers
from tagengo.llm import ChatRequest, LLMConfig, RunAborted, build_client
from tagengo.llm.answer import CALL_FAILED, PROVIDER_ERROR, REPLACEMENT, TOOL_CALL, answer_problem

#: Texts in several scripts: UTF-8 bytes of each, read as Latin-1, become mojibake.
TEXTS = {
    "de": "Regen entsteht, wenn Wasserdampf in der Atmosphäre abkühlt und zu Tröpfchen kondensiert.",
    "fr": "La pluie se forme lorsque la vapeur d'eau se refroidit ; les gouttelettes tombent.",
    "ja": "雨は、空気中の水蒸気が冷えて水滴になり、重くなって落ちることでできます。",
    "emoji": "Rain 🌧️ forms when water vapour cools — naïve café façade.",
}
PAGE = "<html><body><h1>Bad gateway</h1></body></html>"


def _chat(content, finish="stop", usage=(9, 20), **msg) -> dict:
    body = {
        "id": "c1", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, **msg}, "finish_reason": finish}],
    }  # fmt: skip
    if usage is not None:
        body["usage"] = {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)}
    return body


class BodyServer(LoopbackServer):
    """Answers each chat request with the body named by ``MODE:<name>`` in the last message."""

    def __init__(self) -> None:
        super().__init__()
        self.received: dict[str, int] = {}

    def reply(self, mode: str) -> tuple[bytes, str]:
        if mode.startswith("lie-"):  # UTF-8 bytes, labelled Latin-1 (a proxy's default label)
            text = TEXTS[mode[4:]]
            return json.dumps(
                _chat(text), ensure_ascii=False
            ).encode(), "application/json; charset=iso-8859-1"
        if mode == "latin1":  # really Latin-1: still read by the label
            return json.dumps(_chat(TEXTS["de"]), ensure_ascii=False).encode("latin-1"), (
                "application/json; charset=iso-8859-1"
            )
        if mode == "html":
            return PAGE.encode(), "text/html"
        if mode == "number":
            return json.dumps(_chat(42)).encode(), "application/json"
        if mode == "toolcalls":
            calls = [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]
            return json.dumps(_chat(None, tool_calls=calls)).encode(), "application/json"
        if mode == "nullfinish":
            return json.dumps(_chat("", finish=None, usage=(0, 0))).encode(), "application/json"
        if mode == "cutnousage":  # LocalAI / LiteLLM: cut off, says stop, no usage
            return json.dumps(
                _chat("Regen entsteht, wenn Wasserdampf kondensiert. Diese Tröpfchen", usage=None)
            ).encode(), ("application/json")
        if mode == "wholenousage":
            return json.dumps(
                _chat("Regen entsteht, wenn Wasserdampf kondensiert.", usage=None)
            ).encode(), "application/json"
        if mode == "fffd":
            return json.dumps(
                _chat("Regen in der Atmosph\ufffdre, abk\ufffdhlt.")
            ).encode(), "application/json"
        return json.dumps(_chat("fine")).encode(), "application/json"

    async def _post(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        mode = body["messages"][-1]["content"].split("MODE:")[-1].split()[0]
        self.received[mode] = self.received.get(mode, 0) + 1
        payload, ctype = self.reply(mode)
        return web.Response(body=payload, headers={"Content-Type": ctype})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._post)
        return app


@pytest.fixture
def body_server() -> Iterator[Callable[..., BodyServer]]:
    yield from started_servers(BodyServer)


def _ask(server: BodyServer, tmp_path: Path, prompts: list[str], concurrency: int = 1):
    cfg = LLMConfig(model="m", base_url=server.url, cache_path=tmp_path / "c.sqlite", max_attempts=2,
                    backoff_base_s=0.01, backoff_max_s=0.02, timeout_s=5.0, concurrency=concurrency)  # fmt: skip
    reqs = [ChatRequest.from_messages([{"role": "user", "content": p}]) for p in prompts]
    with build_client(cfg) as client:
        return reqs, client.chat_many(reqs)


def test_utf8_bytes_labelled_latin1_are_read_as_utf8_and_real_latin1_by_its_label(body_server, tmp_path):
    server = body_server()
    modes = [f"lie-{k}" for k in TEXTS] + ["latin1"]
    _, resps = _ask(server, tmp_path, [f"q MODE:{m}" for m in modes])
    assert [r.content for r in resps] == [*TEXTS.values(), TEXTS["de"]]  # no "AtmosphÃ¤re"
    assert all(answer_problem(r) is None for r in resps)


def test_an_html_page_after_answers_is_that_rows_failed_call_not_a_stop(body_server, tmp_path):
    server = body_server()
    prompts = (
        [f"q{i} MODE:clean" for i in range(3)] + ["q MODE:html"] + [f"r{i} MODE:clean" for i in range(3)]
    )
    _, resps = _ask(server, tmp_path, prompts)
    problem = answer_problem(resps[3])
    assert (
        problem.kind == CALL_FAILED and "HTML page" in problem.detail and "gave up after 2" in problem.detail
    )
    assert all(r.ok for i, r in enumerate(resps) if i != 3)
    # A resume asks only that row; the answers cached from this endpoint show it is no wrong URL.
    _, again = _ask(server, tmp_path, prompts)
    assert answer_problem(again[3]).kind == CALL_FAILED and server.received["html"] == 4
    assert server.received["clean"] == 6  # the others came from the cache


def test_an_html_page_before_any_answer_still_stops_the_run(body_server, tmp_path):
    server = body_server()
    with pytest.raises(RunAborted, match="HTML page.*--base-url"):
        _ask(server, tmp_path, [f"q{i} MODE:html" for i in range(3)])
    assert server.received["html"] == 1


def test_misleading_shapes_get_their_own_reasons(body_server, tmp_path):
    server = body_server()
    _, (number, tools, lost, clean) = _ask(
        server, tmp_path, ["q MODE:number", "q MODE:toolcalls", "q MODE:nullfinish", "b"]
    )
    p = answer_problem(number)
    assert p.kind == PROVIDER_ERROR and "content is int 42, not text" in p.detail, p
    p = answer_problem(tools)
    assert p.kind == TOOL_CALL and "'get_weather'" in p.detail, p
    p = answer_problem(lost)
    assert p.kind == CALL_FAILED and "no finish reason" in p.detail, p  # was "unknown finish reason"
    assert server.received["nullfinish"] == 2 and clean.ok
    _ask(server, tmp_path, ["q MODE:nullfinish", "c"])
    assert server.received["nullfinish"] == 4  # never cached: a re-run asks again


def test_replacement_characters_from_the_server_are_rejected_unless_the_prompt_holds_them(
    body_server, tmp_path
):
    server = body_server()
    reqs, (bad, quoted) = _ask(server, tmp_path, ["q MODE:fffd", "why is there \ufffd here? MODE:fffd"])
    p = answer_problem(bad, reqs[0])
    assert p.kind == REPLACEMENT and p.detail.startswith("2 U+FFFD replacement characters"), p
    assert answer_problem(quoted, reqs[1]) is None


def test_an_answer_cut_mid_sentence_with_stop_and_no_usage_is_flagged_in_meta_not_rejected(
    body_server, tmp_path
):
    from tagengo.llm.answer import answer_meta

    server = body_server()
    _, (cut, whole, counted) = _ask(
        server, tmp_path, ["q MODE:cutnousage", "q MODE:wholenousage", "q MODE:clean"]
    )
    assert answer_problem(cut) is None and answer_meta(cut) == {"ends_mid_sentence": True}
    assert answer_meta(whole) == {} and answer_meta(counted) == {}  # "fine" ends on a letter, but usage came
