"""The HTTP backend on the response bodies the s33 newcomer trial found misread, over real HTTP
(a loopback aiohttp server that sends exact bytes, picked by the last user text):

* extra ``choices``: the choice with ``index`` 0 is the answer, wherever it stands in the list;
  the others are counted (meta ``extra_choices``), never kept;
* an error object in a 200 without a ``code``: its ``type`` (else its words) decides, a server
  error is retried like a 500, an invalid request refused like a 400, and the reason never names a
  code the server did not send;
* usage counts that are no counts (``NaN``, ``Infinity``, negative, a string): read as missing
  usage (counted here, ``tokens_estimated``) and named in meta ``usage_ignored``, the answer kept;
* a body that is not valid UTF-8: the reason says so (the byte and its position), and it is asked
  twice at most."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from servers.loopback import LoopbackServer, started_servers
from tagengo.llm import ChatRequest, LLMConfig, build_client
from tagengo.llm.answer import answer_meta, answer_problem

ANSWER = "Rain forms when water vapour cools and condenses into droplets."


def _completion(content: str, *, index: int = 0) -> dict[str, Any]:
    return {"index": index, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}


def _body(choices: list[dict[str, Any]], usage: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": choices,
    }
    body["usage"] = (
        usage if usage is not None else {"prompt_tokens": 12, "completion_tokens": 11, "total_tokens": 23}
    )
    return body


def _json(d: Any) -> bytes:
    return json.dumps(d, ensure_ascii=False).encode()  # allow_nan: writes NaN and Infinity as Python does


#: last user text -> the exact response body (status 200, application/json)
BODIES: dict[str, bytes] = {
    "clean": _json(_body([_completion(ANSWER)])),
    "second first": _json(_body([_completion("WRONG second choice", index=1), _completion(ANSWER)])),
    "three": _json(
        _body(
            [_completion("WRONG 2", index=2), _completion("WRONG 1", index=1), _completion(ANSWER, index=0)]
        )
    ),
    "no index": _json(
        _body([{"message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}])
    ),
    "internal": _json({"object": "error", "message": "Internal error", "type": "InternalServerError"}),
    "invalid": _json({"object": "error", "message": "Field required: messages", "type": "BadRequestError"}),
    "nested words": _json({"error": {"message": "Internal server error, please retry"}}),
    "string error": _json({"error": "Model is overloaded, please try again later"}),
    "coded": _json({"error": {"message": "CUDA out of memory", "code": 500}}),
    "nan": _json(_body([_completion(ANSWER)], {"prompt_tokens": 12, "completion_tokens": float("nan")})),
    "inf": _json(_body([_completion(ANSWER)], {"prompt_tokens": float("inf"), "completion_tokens": 11})),
    "negative": _json(_body([_completion(ANSWER)], {"prompt_tokens": 12, "completion_tokens": -5})),
    "text count": _json(_body([_completion(ANSWER)], {"prompt_tokens": "12", "completion_tokens": 11})),
    "latin1": _json(_body([_completion("Gerne! Die Größe hängt davon ab.")]))
    .decode()
    .encode("latin-1", "replace"),
    "badbytes": _json(_body([_completion("Gerne! " + ANSWER)])).replace(b"Gerne", b"Ger\xff\xfene"),
}


class BodyServer(LoopbackServer):
    """Answers each request with ``BODIES[last user text]``; counts the requests per text."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: Counter[str] = Counter()

    async def _chat(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        text = body["messages"][-1]["content"]
        self.asked[text] += 1
        return web.Response(body=BODIES[text], status=200, content_type="application/json")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        return app


@pytest.fixture
def server() -> Iterator[BodyServer]:
    yield from (start() for start in started_servers(BodyServer))


def _ask(server: BodyServer, tmp_path, texts: list[str], attempts: int = 3) -> dict[str, Any]:
    cfg = LLMConfig(model="m", base_url=server.url, timeout_s=5.0, backoff_base_s=0.01, backoff_max_s=0.02,
                    max_attempts=attempts, concurrency=2, cache_path=tmp_path / "c.sqlite", abort_after_failures=50)  # fmt: skip
    texts = [*texts, "clean"]  # one good answer in the run, as in any real one (a run of failures stops)
    reqs = [ChatRequest.from_messages([{"role": "user", "content": t}], max_tokens=256) for t in texts]
    with build_client(cfg) as client:
        resps = client.chat_many(reqs)
    return {t: (req, resp) for t, req, resp in zip(texts, reqs, resps, strict=True)}


# -- extra choices ----------------------------------------------------------------------------------


def test_the_choice_with_index_0_is_the_answer_and_the_others_are_counted(server, tmp_path):
    got = _ask(server, tmp_path, ["second first", "three", "no index"])
    for text, extra in (("second first", 1), ("three", 2), ("no index", None)):
        req, resp = got[text]
        assert resp.content == ANSWER, (text, resp.content)
        assert answer_problem(resp, req) is None
        assert answer_meta(resp).get("extra_choices") == extra, text


# -- error objects without a code ---------------------------------------------------------------------


def test_a_codeless_server_error_in_a_200_is_retried_and_names_no_code(server, tmp_path):
    got = _ask(server, tmp_path, ["internal", "nested words", "string error"])
    for text in ("internal", "nested words", "string error"):
        req, resp = got[text]
        problem = answer_problem(resp, req)
        assert problem is not None and problem.kind == "provider error", (text, problem)
        assert "code" not in problem.detail.replace("no code", ""), problem.detail
        assert "in an HTTP 200 body with no code, read as a server error: retried" in problem.detail, (
            problem.detail
        )
        assert "(gave up after 3 attempts)" in problem.detail
        assert server.asked[text] == 3, text
    assert got["internal"][1].error.startswith(
        "Internal error ('InternalServerError' in an HTTP 200 body with no code, read as a server error: retried)"
    )


def test_a_codeless_invalid_request_in_a_200_is_refused_once_and_a_sent_code_is_named(server, tmp_path):
    got = _ask(server, tmp_path, ["invalid", "coded"])
    req, resp = got["invalid"]
    assert resp.error == (
        "Field required: messages ('BadRequestError' in an HTTP 200 body with no code, read as a refusal of "
        "this request)"
    )
    assert answer_problem(resp, req).kind == "provider error" and server.asked["invalid"] == 1
    # a code the server sent is named as before
    assert got["coded"][1].error.startswith("CUDA out of memory (code 500 in an HTTP 200 body)")
    assert server.asked["coded"] == 3


# -- usage that is no count ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ignored"),
    [
        ("nan", "completion_tokens=nan"),
        ("inf", "prompt_tokens=inf"),
        ("negative", "completion_tokens=-5"),
        ("text count", "prompt_tokens='12'"),
    ],
)
def test_usage_that_is_no_count_is_read_as_missing_and_noted(server, tmp_path, text, ignored):
    req, resp = _ask(server, tmp_path, [text])[text]
    assert resp.error is None and resp.content == ANSWER
    assert answer_problem(resp, req) is None
    assert resp.tokens_estimated and resp.input_tokens > 0 and resp.output_tokens > 0
    assert answer_meta(resp)["usage_ignored"] == ignored
    assert server.asked[text] == 1


# -- bodies that are not valid UTF-8 ------------------------------------------------------------------


@pytest.mark.parametrize(("text", "byte"), [("latin1", "0xf6"), ("badbytes", "0xff")])
def test_a_body_that_is_not_utf8_says_so_and_is_asked_twice_at_most(server, tmp_path, text, byte):
    req, resp = _ask(server, tmp_path, [text], attempts=6)[text]
    problem = answer_problem(resp, req)
    assert problem is not None and problem.kind == "provider error", problem
    assert problem.detail.startswith(
        f"malformed response: the body is not valid UTF-8: byte {byte} at position "
    )
    assert "sent another charset than UTF-8 without naming it in Content-Type (asked twice)" in problem.detail
    assert "gave up" not in problem.detail
    assert server.asked[text] == 2
