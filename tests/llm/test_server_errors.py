"""LLMClient against servers that misbehave at the HTTP level the way real ones do
(tests/servers/misbehaving_chat.py): long Retry-After waits in every header form, error objects
sent with status 200 (vLLM, OpenRouter, LiteLLM), HTML pages, event streams nobody asked for,
empty ``choices``. Each ends answered, rejected with a countable reason, or stops the run with one
sentence; none crashes or waits in silence."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from multidict import CIMultiDict
from rich.console import Console

import tagengo.llm.client as client_module
from servers.loopback import started_servers
from servers.misbehaving_chat import CONTEXT_MESSAGE, MisbehavingChatServer
from tagengo.llm import ChatRequest, EndpointRequest, LLMConfig, RunAborted, build_client
from tagengo.llm.answer import answer_problem
from tagengo.llm.backends.http_errors import retry_wait


@pytest.fixture
def server() -> Iterator[MisbehavingChatServer]:
    yield from (start() for start in started_servers(MisbehavingChatServer))


@pytest.fixture
def run(server: MisbehavingChatServer, tmp_path) -> Callable[..., tuple[list[Any], str]]:
    """``run(texts, **config)``: (answers, what the client printed)."""

    def go(texts: list[str], **kw: Any) -> tuple[list[Any], str]:
        cfg: dict[str, Any] = {
            "model": "m", "base_url": server.url, "cache_path": tmp_path / "c.sqlite", "timeout_s": 5.0,
            "backoff_base_s": 0.01, "backoff_max_s": 0.05, "max_attempts": 4, "concurrency": 4,
            "retry_after_max_s": 0.3,
        }  # fmt: skip
        cfg.update(kw)
        out = io.StringIO()
        with build_client(LLMConfig(**cfg), console=Console(file=out, width=400)) as client:
            reqs = [ChatRequest.from_messages([{"role": "user", "content": t}], max_tokens=50) for t in texts]
            return client.chat_many(reqs), out.getvalue()

    return go


# -- long waits -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("serve", "header"),
    [("wait429:3600", "Retry-After"), ("wait503date:7200", "Retry-After"), ("waitms:3600000", "retry-after-ms"),
     ("reset:5400", "x-ratelimit-reset-tokens")],
)  # fmt: skip
def test_a_wait_far_past_the_cap_on_every_call_is_told_once_then_ends_the_run(run, server, serve, header):
    start = time.monotonic()
    with pytest.raises(RunAborted) as stop:
        run([f"q{i} SERVE={serve}" for i in range(6)])
    took = time.monotonic() - start
    msg = str(stop.value)
    # It waited the cap once (every call together), asked again, and stopped with one sentence.
    assert 0.3 <= took < 3.0
    assert "still asks to wait" in msg and f"({header};" in msg and "--retry-after-max-s" in msg
    assert "re-run after" in msg and "UTC" in msg and "cached" in msg
    assert stop.value.responses and all(r is None for r in stop.value.responses)  # no row marked done
    # Every call was asked twice at most: once, then once after the cap; none was retried on and on.
    assert server.seen[serve.split(":")[0]] <= 2 * 6


def test_the_wait_line_is_printed_once_for_all_calls_and_a_run_that_recovers_goes_on(run, server):
    out, said = run([f"q{i} SERVE=wait429:3600*1" for i in range(4)])  # all in flight at once
    assert all(r.ok for r in out), [r.error for r in out]
    lines = [ln for ln in said.splitlines() if "asked to wait" in ln]
    assert len(lines) == 1, said
    line = lines[0]
    assert server.url in line and "3600 s (60 min)" in line and "(Retry-After; it answered HTTP 429" in line
    assert "waiting 0.3 s, the cap (--retry-after-max-s), until" in line and "UTC" in line


def test_a_long_wait_within_the_cap_is_told_and_honoured(run, server, monkeypatch):
    monkeypatch.setattr(client_module, "ANNOUNCE_WAIT_S", 0.2)
    start = time.monotonic()
    out, said = run(["a SERVE=wait503date:1*1", "b SERVE=reset:1*1"], retry_after_max_s=600)
    assert all(r.ok for r in out)
    assert time.monotonic() - start >= 0.5  # an HTTP date has whole seconds: it may be ~0.5 s ahead
    assert "asked to wait" in said and "waiting until" in said and "cap" not in said


def test_rate_limit_reset_headers_are_read_only_for_an_exhausted_limit():
    def wait(**h: str) -> tuple[float, str] | None:
        return retry_wait(CIMultiDict({k.replace("_", "-"): v for k, v in h.items()}), rate_limited=True)

    assert wait(x_ratelimit_reset_tokens="6m0s", x_ratelimit_remaining_tokens="0") == (
        360.0,
        "x-ratelimit-reset-tokens",
    )
    assert wait(x_ratelimit_reset_requests="1h2m3.5s") == (3723.5, "x-ratelimit-reset-requests")
    assert wait(x_ratelimit_reset_requests="20ms", x_ratelimit_remaining_requests="0") == (
        0.02,
        "x-ratelimit-reset-requests",
    )
    # The limit that is not used up says nothing about this 429; an unreadable reset neither.
    assert wait(x_ratelimit_reset_tokens="6m0s", x_ratelimit_remaining_tokens="1200") is None
    assert wait(x_ratelimit_reset_tokens="soon") is None
    # Retry-After wins; a 503 does not read the rate-limit headers at all.
    assert wait(retry_after="2", x_ratelimit_reset_tokens="6m0s") == (2.0, "Retry-After")
    assert retry_wait(CIMultiDict({"x-ratelimit-reset-tokens": "6m0s"})) is None


def test_short_waits_say_nothing(run):
    out, said = run([f"q{i} SERVE=waitms:50*2" for i in range(4)])
    assert all(r.ok for r in out) and said == ""


# -- error objects in a 200 -----------------------------------------------------------------------


def test_a_vllm_error_object_with_code_400_rejects_the_row_with_its_message_and_is_not_retried(run, server):
    out, _ = run(["fine", "too long SERVE=vllmerror"])
    ok, bad = out
    assert ok.ok
    problem = answer_problem(bad)
    assert problem is not None and problem.kind == "provider error"
    assert problem.reason().startswith("provider error: This model's maximum context length is 2048 tokens")
    assert CONTEXT_MESSAGE[:60] in bad.error and "code 400 in an HTTP 200 body" in bad.error
    assert server.seen["vllmerror"] == 1 and bad.attempts == 1


def test_a_5xx_or_429_code_in_a_200_body_is_retried_like_the_status(run, server):
    out, _ = run(["a SERVE=routererror:502*2", "b SERVE=litellm429*1"])
    assert all(r.ok for r in out), [r.error for r in out]
    assert out[0].attempts == 3 and out[1].attempts == 2
    assert server.seen["routererror"] == 2 and server.seen["litellm429"] == 1


def test_a_5xx_code_in_a_200_body_that_never_passes_ends_as_a_provider_error_naming_the_upstream(run):
    out, _ = run(["fine", "a SERVE=routererror:502", "b SERVE=routererror:503"])
    for r in out[1:]:
        problem = answer_problem(r)
        assert problem is not None and problem.kind == "provider error", r.error
        assert (
            "Provider returned error (upstream: ExampleCloud)" in r.error
            and "gave up after 4 attempts" in r.error
        )


def test_an_error_without_a_code_is_decided_by_what_it_says(run, server):
    """A bare {"error": "Model is overloaded, please try again later"} is transient (retried and
    answered); {"error": "Invalid request ..."} is not (rejected at once with the message)."""
    out, _ = run(["a SERVE=errorstring:1*1", "b SERVE=errorstring:2"])
    assert out[0].ok and out[0].attempts == 2, out[0].error
    problem = answer_problem(out[1])
    assert problem is not None and problem.kind == "provider error" and out[1].attempts == 1
    assert "Invalid request: unknown field" in out[1].error
    assert server.seen["errorstring"] == 2


def test_a_4xx_code_in_a_200_body_from_a_gateway_is_not_retried(run, server):
    out, _ = run(["x SERVE=routererror:400", "y SERVE=routererror:422"])
    assert [answer_problem(r).kind for r in out] == ["provider error", "provider error"]
    assert all(r.attempts == 1 for r in out) and server.seen["routererror"] == 2


# -- bodies that are not a chat completion ------------------------------------------------------------


def test_an_html_page_with_status_200_stops_the_run_naming_the_base_url(run, server):
    with pytest.raises(RunAborted) as stop:
        run([f"q{i} SERVE=html" for i in range(5)])
    msg = str(stop.value)
    assert "HTML page" in msg and "'Open WebUI'" in msg and "--base-url" in msg and "/v1" in msg
    assert server.seen["html"] <= 4  # the calls in flight, not 5 x 4 attempts


def test_an_html_error_page_is_summed_up_by_its_title(run):
    out, _ = run(["fine", "q SERVE=html502*1", "r SERVE=html502"])
    assert out[0].ok and out[1].ok
    assert out[2].error == "HTTP 502: an HTML page titled '502 Bad Gateway' (gave up after 4 attempts)"


def test_an_event_stream_nobody_asked_for_is_joined_into_the_answer(run, server):
    out, _ = run(["stream me SERVE=sse", "plain"])
    streamed, plain = out
    assert streamed.ok and streamed.content == "answer to: stream me SERVE=sse"
    assert streamed.finish_reason == "stop" and streamed.output_tokens == 5 and not streamed.tokens_estimated
    assert plain.ok and plain.content == "answer to: plain"


def test_a_cut_event_stream_is_retried_and_then_a_countable_failure(run, server):
    out, _ = run(["a SERVE=ssecut*1", "b SERVE=ssecut", "fine"])
    assert out[0].ok and out[0].content == "answer to: a SERVE=ssecut*1"
    problem = answer_problem(out[1])
    assert problem is not None and problem.kind == "call failed"
    assert "broken event stream" in out[1].error and "cut" in out[1].error
    assert out[2].ok


def test_an_error_event_inside_a_stream_is_decided_by_its_code(run, server):
    out, _ = run(["a SERVE=sseerror*1", "b SERVE=sseerror"])
    assert out[0].ok and out[0].content == "answer to: a SERVE=sseerror*1"
    problem = answer_problem(out[1])
    assert problem is not None and problem.kind == "provider error"
    assert "Upstream stream ended early (code 502 in an HTTP 200 body)" in problem.detail
    assert out[1].attempts == 4


def test_empty_choices_without_an_error_rejects_the_row_as_a_provider_error(run, server):
    out, _ = run(["fine", "q SERVE=nochoices"])
    problem = answer_problem(out[1])
    assert problem is not None and problem.kind == "provider error" and "choices" in problem.detail
    assert server.seen["nochoices"] == 1


def test_a_prompt_flagged_by_a_gateway_moderation_is_filtered_not_a_stop(run):
    out, _ = run(["fine", "q SERVE=flagged"])
    assert out[0].ok
    problem = answer_problem(out[1])
    assert problem is not None and problem.kind == "filtered" and "flagged by moderation" in problem.detail


def test_no_credit_left_stops_the_run_at_once(run, server):
    with pytest.raises(RunAborted) as stop:
        run([f"q{i} SERVE=credits" for i in range(8)])
    assert "out of quota or credit" in str(stop.value) and "Insufficient credits" in str(stop.value)
    assert server.seen["credits"] <= 4


# -- through the command line: the option is real, the line and the reasons reach the user ---------------


def _generate(server: MisbehavingChatServer, tmp_path: Path, prompts: list[str], *extra: str):
    src = tmp_path / "prompts.jsonl"
    rows = [{"id": f"p{i}", "prompt": p, "language": "en"} for i, p in enumerate(prompts)]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = ["--input", str(src), "--out", str(tmp_path / "out"), "--model", "m", "--base-url", server.url,
            "--cache-path", str(tmp_path / "c.sqlite"), "--backoff-base-s", "0.01", "--max-attempts", "3", *extra]  # fmt: skip
    cmd = [sys.executable, "-m", "tagengo.cli", "generate", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_generate_tells_the_long_wait_and_stops_with_the_option_to_raise(server, tmp_path):
    text = "Please tell me about the history of the bicycle in Europe. SERVE=wait429:3600"
    run = _generate(server, tmp_path, [f"{text} {i}" for i in range(3)], "--retry-after-max-s", "0.3")
    assert run.returncode == 2, run.stderr
    err = " ".join(run.stderr.split())  # rich wraps long lines
    assert f"{server.url} asked to wait 3600 s (60 min) (Retry-After; it answered HTTP 429" in err
    assert "still asks to wait" in err and "raise --retry-after-max-s" in err and "re-run after" in err


def test_generate_rejects_a_row_with_the_providers_message(server, tmp_path):
    fine = "Please tell me about the history of the bicycle in Europe."
    run = _generate(server, tmp_path, [fine, f"{fine} SERVE=vllmerror"])
    assert run.returncode == 0, run.stderr
    rejected = pq.read_table(tmp_path / "out" / "rejected").to_pylist()
    assert [r["id"] for r in rejected] == ["p1"]
    assert rejected[0]["reason"].startswith("provider error: This model's maximum context length is 2048")


def test_a_redirected_base_url_stops_the_run_naming_it(run, server):
    with pytest.raises(RunAborted) as stop:
        run([f"q{i} SERVE=redirect" for i in range(6)])
    assert "HTTP 405" in str(stop.value) and "check --base-url" in str(stop.value)
    assert server.seen["redirect"] <= 4  # the calls in flight, not one per row and attempt


def test_json_behind_a_byte_order_mark_is_read(run, server):
    (r,) = run(["q SERVE=bom"])[0]
    assert r.ok and r.content == "answer to: q SERVE=bom" and r.attempts == 1


def test_an_error_object_in_a_200_from_the_embeddings_endpoint_is_no_answer_and_not_cached(server, tmp_path):
    cfg = LLMConfig(model="m", base_url=server.url, cache_path=tmp_path / "c.sqlite", backoff_base_s=0.01,
                    max_attempts=3, retry_after_max_s=0.3)  # fmt: skip
    reqs = [
        EndpointRequest.from_body("embeddings", {"input": [t]}, [t])
        for t in ("fine", "a SERVE=routererror:400", "b SERVE=routererror:502*1", "c SERVE=vllmerror")
    ]
    for _ in range(2):  # the second run asks the failed ones again: nothing wrong was cached
        with build_client(cfg) as client:
            out = client.call_many(reqs)
        assert out[0].ok and json.loads(out[0].content)["data"][0]["embedding"] == [4.0, 1.0]
        assert out[2].ok  # the 502 passed on the second attempt (or came from the cache)
        assert (
            "Provider returned error (upstream: ExampleCloud) (code 400 in an HTTP 200 body)" in out[1].error
        )
        assert (
            out[3].error.startswith("This model's maximum context length")
            and out[3].error_kind == "provider error"
        )
    assert server.seen["routererror"] == 2 + 1 and server.seen["vllmerror"] == 2
