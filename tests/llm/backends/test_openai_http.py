"""The OpenAI-compatible HTTP backend against llama-cpp-python's own server running the bundled
SmolLM2-135M-Instruct on loopback, plus Azure's URL/header shape and error mapping against the
fake server."""

from __future__ import annotations

import time
from collections.abc import Iterator

import aiohttp
import pytest
from multidict import CIMultiDict

from tagengo.llm import ChatRequest, LLMConfig, build_client
from tagengo.llm.backends.openai_http import retry_after_s

pytestmark = pytest.mark.llm


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from servers.llama_cpp_server import llama_server as start

    with start(tmp_path_factory.mktemp("llama-server")) as url:
        yield url


def test_real_answers_from_llama_cpp_server_and_replay_from_cache(llama_server, tmp_path):
    cfg = LLMConfig(model="smollm2", base_url=llama_server, cache_path=tmp_path / "c.sqlite", concurrency=2)
    reqs = [
        ChatRequest.from_messages([{"role": "user", "content": q}], max_tokens=12)
        for q in ("What is the capital of France?", "Name a colour.")
    ]
    with build_client(cfg) as client:
        out = client.chat_many(reqs)
    for r in out:
        assert r.ok, r.error
        assert r.content and r.content.strip()
        assert r.finish_reason in ("stop", "length")
        assert r.input_tokens > 5 and 0 < r.output_tokens <= 12
        assert r.model == "smollm2"
    with build_client(cfg) as client:
        again = client.chat_many(reqs)
    assert [r.content for r in again] == [r.content for r in out] and all(r.cached for r in again)


def test_azure_sends_the_deployment_url_and_the_api_key_header(fake_server, tmp_path, monkeypatch):
    monkeypatch.setenv("AZ_KEY", "az-secret-0123456789")
    server = fake_server(require_key="az-secret-0123456789")
    cfg = LLMConfig(
        backend="azure",
        azure_deployment="gpt4o-prod",
        base_url=f"http://127.0.0.1:{server.port}",
        api_key_env="AZ_KEY",
        cache_path=tmp_path / "c.sqlite",
    )
    with build_client(cfg) as client:
        (r,) = client.chat_many(
            [ChatRequest.from_messages([{"role": "user", "content": "hi"}], max_tokens=40)]
        )
        assert client.model_id.startswith("azure:gpt4o-prod@")
    assert r.ok and r.model == "gpt4o-prod"  # the fake server names the deployment from the URL
    assert server.stats.completed and not server.stats.faults


def test_retry_after_headers_are_read_in_all_their_forms():
    assert retry_after_s(CIMultiDict({"retry-after-ms": "250"})) == 0.25
    assert retry_after_s(CIMultiDict({"Retry-After": "3"})) == 3.0
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= retry_after_s(CIMultiDict({"Retry-After": date})) <= 31
    assert retry_after_s(CIMultiDict({"Retry-After": "soon"})) is None
    assert retry_after_s(CIMultiDict()) is None


def test_the_request_body_carries_every_sampling_parameter():
    from tagengo.llm.backends.openai_http import OpenAIHTTPBackend

    backend = OpenAIHTTPBackend(
        LLMConfig(model="m", base_url="http://127.0.0.1:1/v1", max_tokens_param="max_completion_tokens")
    )
    req = ChatRequest.from_messages(
        [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        temperature=0.3,
        max_tokens=7,
        top_p=0.9,
        seed=5,
        stop=["END"],
        extra={"presence_penalty": 0.5},
    )
    body = backend.body(req)
    assert body == {
        "model": "m",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        "temperature": 0.3,
        "max_completion_tokens": 7,
        "top_p": 0.9,
        "seed": 5,
        "stop": ["END"],
        "presence_penalty": 0.5,
    }
    assert aiohttp  # the backend's transport (imported here so a missing install fails loudly)
