"""The batch backend (tagengo.llm.batch) through ``LLMClient.chat_many``, against a scripted Batch
API (tests/servers/batch_api.py) speaking the real Files and Batches endpoints over HTTP: in
progress then completed, completed with partial errors, expired, cancelled, a file that fails
validation, detach and resume, a crash between upload and batch, splitting, Azure, vLLM's
run-batch round trip, the budget, the answer contract."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from servers.answer_faults import KINDS
from servers.batch_api import BatchAPIServer
from servers.loopback import started_servers
from tagengo.llm import ChatRequest, LLMConfig, LLMConfigError, RunAborted, build_client
from tagengo.llm.answer import answer_problem
from tagengo.llm.batch import BatchPending
from tagengo.llm.errors import BudgetExhausted


@pytest.fixture
def batch_server() -> Iterator[Callable[..., BatchAPIServer]]:
    yield from started_servers(BatchAPIServer)


@pytest.fixture
def cfg(tmp_path: Path) -> Callable[..., LLMConfig]:
    def make(server: BatchAPIServer, **kw: Any) -> LLMConfig:
        base: dict[str, Any] = {
            "backend": "openai",
            "model": "teacher",
            "base_url": server.url,
            "timeout_s": 5.0,
            "backoff_base_s": 0.01,
            "max_attempts": 3,
            "cache_path": tmp_path / "cache.sqlite",
            "batch": True,
            "batch_poll_s": 0.01,
        }
        base.update(kw)
        return LLMConfig(**base)

    return make


def reqs(texts: list[str], **kw: Any) -> list[ChatRequest]:
    return [ChatRequest.from_messages([{"role": "user", "content": t}], max_tokens=256, **kw) for t in texts]


def ask(config: LLMConfig, requests: list[ChatRequest]) -> list[Any]:
    with build_client(config) as client:
        return client.chat_many(requests, desc="test")


def states(tmp_path: Path) -> list[dict[str, Any]]:
    folder = tmp_path / "cache.batches"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []


# -- the happy path -------------------------------------------------------------------------------


def test_in_progress_then_completed_same_answers_as_online_cache_filled_half_price(
    batch_server, cfg, tmp_path
):
    server = batch_server(polls=3)
    texts = [f"question {i}" for i in range(12)] + ["question 3"]  # one asked twice: sent once
    priced = {"input_price_per_1m": 2.0, "output_price_per_1m": 8.0}
    got = ask(cfg(server, **priced), reqs(texts))
    assert [r.content for r in got] == [f"Answer: {t}" for t in texts]
    assert all(
        r.ok and r.finish_reason == "stop" and answer_problem(r, q) is None for r, q in zip(got, reqs(texts))
    )
    assert server.uploads == 1 and server.created == 1 and server.looks >= 4 and server.received == 0
    assert sorted(server.submitted.values()) == [1] * 12
    # Priced at the batch price: half the online price by default.
    online = ask(cfg(server, batch=False, cache_path=tmp_path / "online.sqlite", **priced), reqs(texts))
    assert server.received == 12
    assert [r.content for r in online] == [r.content for r in got]
    assert got[0].cost == pytest.approx(online[0].cost * 0.5) and got[0].cost > 0
    # The cache holds every answer: an online re-run on it pays nothing.
    again = ask(cfg(server, batch=False, **priced), reqs(texts))
    assert server.received == 12 and all(r.cached for r in again)
    assert [r.content for r in again] == [r.content for r in got]
    # The state file names the batch, is collected, and no longer holds the keys.
    (state,) = states(tmp_path)
    assert state["status"] == "collected" and state["batch_id"].startswith("batch-") and state["keys"] == []
    assert state["request_counts"]["total"] == 12 and state["input_file_id"].startswith("file-")


def test_batch_prices_table_wins_over_the_discount(batch_server, cfg):
    server = batch_server()
    prices = {"teacher": {"input_per_1m": 1.0, "output_per_1m": 1.0}}
    (r,) = ask(cfg(server, input_price_per_1m=2.0, output_price_per_1m=8.0, batch_prices=prices), reqs(["q"]))
    assert r.cost == pytest.approx((r.input_tokens + r.output_tokens) / 1e6)


# -- partial errors, expiry, cancellation, validation -------------------------------------------


def test_completed_with_partial_errors_refusals_fail_transients_are_resubmitted(batch_server, cfg):
    server = batch_server()
    texts = ["fine", "no BATCH=400", "flaky BATCH=500once", "late BATCH=gone", "also fine"]
    got = ask(cfg(server), reqs(texts))
    assert got[0].content == "Answer: fine" and got[4].content == "Answer: also fine"
    assert got[1].error == "HTTP 400: scripted refusal" and got[1].error_kind == "refused"
    assert answer_problem(got[1]).kind == "call failed"
    assert got[2].content == "Answer: flaky BATCH=500once" and got[2].attempts == 2
    assert got[3].content == "Answer: late BATCH=gone" and got[3].attempts == 2
    assert server.created == 2  # the two transient failures went out again, together
    assert sorted(server.submitted.values()) == [1, 1, 1, 2, 2]


def test_transient_failures_give_up_after_the_resubmits(batch_server, cfg):
    server = batch_server(plan=["expire:1"] * 5)
    got = ask(cfg(server, batch_resubmits=1), reqs(["a", "b", "c"]))
    assert got[0].content == "Answer: a"
    # b and c: expired in the first batch, and in the second (it answered one line: b).
    assert got[1].content == "Answer: b" and got[1].attempts == 2
    assert "expired" in got[2].error and "gave up after 2 submissions" in got[2].error
    assert server.created == 2


def test_expired_batch_keeps_what_it_answered_and_submits_the_rest(batch_server, cfg):
    server = batch_server(plan=["expire:3"])
    texts = [f"q{i}" for i in range(7)]
    got = ask(cfg(server), reqs(texts))
    assert [r.content for r in got] == [f"Answer: {t}" for t in texts]
    assert [r.attempts for r in got] == [1, 1, 1, 2, 2, 2, 2]
    assert server.created == 2 and sum(server.submitted.values()) == 7 + 4


def test_every_request_giving_up_stops_the_run_instead_of_rejecting_every_row(batch_server, cfg):
    server = batch_server(plan=["expire:0"] * 3)
    with pytest.raises(RunAborted) as e:
        ask(cfg(server, batch_resubmits=1), reqs(["a", "b"]))
    assert "re-run to resume" in str(e.value) and all(r is not None and not r.ok for r in e.value.responses)


def test_cancelled_batch_stops_the_run_keeps_its_answers_and_the_rerun_sends_only_the_rest(batch_server, cfg):
    server = batch_server(plan=["cancel:2"])
    texts = [f"q{i}" for i in range(5)]
    with pytest.raises(RunAborted) as e:
        ask(cfg(server), reqs(texts))
    assert not isinstance(e.value, BatchPending)
    assert "cancelled" in str(e.value) and "3 requests unanswered" in str(e.value)
    assert [r.content if r else None for r in e.value.responses] == [
        "Answer: q0",
        "Answer: q1",
        None,
        None,
        None,
    ]
    got = ask(cfg(server), reqs(texts))
    assert [r.content for r in got] == [f"Answer: {t}" for t in texts]
    assert got[0].cached and not got[2].cached
    assert server.created == 2 and sorted(server.submitted.values()) == [1, 1, 2, 2, 2]


def test_a_file_failing_validation_fails_the_named_lines_and_resubmits_the_rest(batch_server, cfg):
    server = batch_server()
    got = ask(cfg(server), reqs(["ok one", "broken BATCH=invalid", "ok two"]))
    assert got[0].content == "Answer: ok one" and got[2].content == "Answer: ok two"
    assert got[1].error.startswith("the batch file failed validation: line 2: invalid_request")
    assert answer_problem(got[1]).kind == "call failed"
    assert server.created == 2 and server.answered.total() == 2


def test_a_batch_failing_validation_without_a_line_stops_the_run_and_a_rerun_submits_again(batch_server, cfg):
    server = batch_server(plan=["fail"])
    with pytest.raises(RunAborted, match="failed validation at the provider .*Enqueued token limit"):
        ask(cfg(server), reqs(["a", "b"]))
    got = ask(cfg(server), reqs(["a", "b"]))
    assert [r.content for r in got] == ["Answer: a", "Answer: b"] and server.created == 2


# -- detach, resume, crash windows --------------------------------------------------------------


def test_detach_submits_and_stops_the_rerun_polls_the_same_batch(batch_server, cfg, tmp_path):
    server = batch_server(polls=2)
    texts = [f"q{i}" for i in range(6)]
    with pytest.raises(BatchPending) as e:
        ask(cfg(server, batch_detach=True), reqs(texts))
    assert e.value.exit_code == 75
    assert "Re-run the same command to collect" in str(e.value) and "batch-" in str(e.value)
    assert e.value.responses == [None] * 6
    assert server.created == 1
    (state,) = states(tmp_path)
    assert state["status"] in ("validating", "in_progress") and len(state["keys"]) == 6
    # A second detached look: still running, still one batch.
    with pytest.raises(BatchPending):
        ask(cfg(server, batch_detach=True), reqs(texts))
    got = ask(cfg(server), reqs(texts))
    assert [r.content for r in got] == [f"Answer: {t}" for t in texts]
    assert server.created == 1 and server.uploads == 1 and server.received == 0


def test_a_crash_between_upload_and_batch_adopts_the_batch_made_from_the_file(batch_server, cfg, tmp_path):
    server = batch_server(polls=1)
    with pytest.raises(BatchPending):
        ask(cfg(server, batch_detach=True), reqs(["a", "b"]))
    # As if the run died right after POST /batches, before it wrote the batch id down.
    path = next((tmp_path / "cache.batches").glob("*.json"))
    state = json.loads(path.read_text())
    path.write_text(json.dumps({**state, "status": "uploaded", "batch_id": None, "submitted": None}))
    got = ask(cfg(server), reqs(["a", "b"]))
    assert [r.content for r in got] == ["Answer: a", "Answer: b"]
    assert server.created == 1 and server.uploads == 1


def test_a_crash_while_writing_the_file_sends_those_requests_afresh(batch_server, cfg, tmp_path):
    server = batch_server()
    folder = tmp_path / "cache.batches"
    folder.mkdir()
    (folder / "x.json").write_text(
        json.dumps(
            {"local_id": "x", "model_id": "any", "where": server.url, "keys": [], "status": "prepared"}
        )
    )
    got = ask(cfg(server), reqs(["a"]))
    assert got[0].content == "Answer: a"


# -- splitting ------------------------------------------------------------------------------------


def test_requests_split_at_the_provider_limits(batch_server, cfg, tmp_path):
    server = batch_server()
    texts = [f"q{i}" for i in range(10)]
    got = ask(cfg(server, batch_max_requests=4), reqs(texts))
    assert [r.content for r in got] == [f"Answer: {t}" for t in texts]
    assert server.uploads == 3 and server.created == 3
    assert sorted(len(server.contents[f].decode().splitlines()) for f in server.files) == [2, 4, 4]
    # Bytes: room for two and a half lines per file makes five files of two.
    line = max(f["bytes"] for f in server.files.values()) // 4
    server2 = batch_server()
    got = ask(cfg(server2, batch_max_mb=2.5 * line / 1e6, cache_path=tmp_path / "c2.sqlite"), reqs(texts))
    assert server2.uploads == 5 and all(r.ok for r in got)


def test_a_request_bigger_than_a_batch_file_fails_alone(batch_server, cfg):
    server = batch_server()
    got = ask(cfg(server, batch_max_mb=0.001), reqs(["short", "x" * 2000]))
    assert got[0].content == "Answer: short"
    assert "more than a batch file may hold" in got[1].error and server.created == 1


# -- Azure, vLLM's run-batch -----------------------------------------------------------------------


def test_azure_uses_deployment_scoped_lines_and_the_api_version(batch_server, cfg, monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "az-secret-key-123456")
    server = batch_server(key="az-secret-key-123456")
    root = server.url.removesuffix("/v1")
    az = cfg(server, backend="azure", base_url=root, model=None, azure_deployment="gpt4o-batch",
             azure_api_version="2024-10-21")  # fmt: skip
    got = ask(az, reqs(["hallo", "welt"]))
    assert [r.content for r in got] == ["Answer: hallo", "Answer: welt"]
    assert server.azure_versions["2024-10-21"] >= 3
    body = json.loads(next(iter(server.contents.values())).decode().splitlines()[0])
    assert body["url"] == "/chat/completions" and body["body"]["model"] == "gpt4o-batch"


def test_azure_refuses_an_api_version_without_batches(batch_server, cfg):
    server = batch_server()
    with pytest.raises(LLMConfigError, match="--azure-api-version 2024-07-01 or later"):
        build_client(cfg(server, backend="azure", base_url=server.url, azure_deployment="d"))


def test_vllm_run_batch_round_trip_through_files(batch_server, cfg, tmp_path):
    server = batch_server()
    folder = tmp_path / "vllm"
    local = cfg(server, base_url="http://127.0.0.1:8000/v1", batch_dir=folder)
    texts = ["eins", "zwei BATCH=400", "drei"]
    with pytest.raises(BatchPending) as e:
        ask(local, reqs(texts))
    msg = str(e.value)
    (inp,) = folder.glob("*.input.jsonl")
    assert "vllm.entrypoints.openai.run_batch" in msg and str(inp) in msg and "--model teacher" in msg
    lines = [json.loads(x) for x in inp.read_text().splitlines()]
    assert [x["url"] for x in lines] == ["/v1/chat/completions"] * 3 and lines[0]["body"][
        "model"
    ] == "teacher"
    # Run-batch's part, done by the scripted server's own line writer (as vLLM writes them).
    outp = inp.with_name(inp.name.replace(".input.", ".output."))
    out_lines = []
    for n, x in enumerate(lines, 1):
        server.submitted[x["custom_id"]] += 1
        out_lines.append(json.dumps(server._answer_line(n, x["custom_id"], x["body"])))
    outp.write_text("\n".join(out_lines) + "\n")
    got = ask(local, reqs(texts))
    assert got[0].content == "Answer: eins" and got[2].content == "Answer: drei"
    assert got[1].error == "HTTP 400: scripted refusal"
    assert server.received == 0 and server.uploads == 0


# -- budget, contract, keys, config ----------------------------------------------------------------


def test_the_budget_submits_only_what_fits_at_the_batch_price(batch_server, cfg):
    server = batch_server()
    texts = [f"q{i}" for i in range(10)]
    # Worst case of one request at the batch price: (prompt ~10 + 256 out) x 1 per token / 1e6 x 0.5.
    small = cfg(server, input_price_per_1m=1000.0, output_price_per_1m=1000.0, budget=0.4)
    with pytest.raises(BudgetExhausted) as e:
        ask(small, reqs(texts))
    answered = [r for r in e.value.responses if r is not None]
    assert 0 < len(answered) < 10 and sum(server.submitted.values()) == len(answered)


@pytest.mark.parametrize("kind", KINDS)
def test_batch_answers_pass_the_same_contract_as_online_ones(batch_server, cfg, tmp_path, kind):
    server = batch_server()
    text = f"say something FAULT={kind} please"
    (b,) = ask(cfg(server), reqs([text]))
    (o,) = ask(cfg(server, batch=False, cache_path=tmp_path / "online.sqlite"), reqs([text]))
    for field in (
        "content",
        "finish_reason",
        "reasoning",
        "replaced_chars",
        "error_kind",
        "tokens_estimated",
    ):
        assert getattr(b, field) == getattr(o, field), field
    pb, po = answer_problem(b, reqs([text])[0]), answer_problem(o, reqs([text])[0])
    assert (pb and pb.kind) == (po and po.kind)


def test_a_wrong_key_stops_the_run_with_the_hint_and_no_key(batch_server, cfg, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-abcdef123456")
    server = batch_server(key="sk-right")
    with pytest.raises(RunAborted) as e:
        ask(cfg(server), reqs(["a"]))
    assert "HTTP 401" in str(e.value) and "OPENAI_API_KEY" in str(e.value)
    assert "abcdef123456" not in str(e.value)


def test_config_refuses_what_cannot_batch(batch_server, cfg):
    server = batch_server()
    with pytest.raises(LLMConfigError, match="--backend openai or azure"):
        build_client(LLMConfig(backend="llamacpp", batch=True))
    with pytest.raises(LLMConfigError, match="needs the request cache"):
        build_client(cfg(server, cache=False))
    with pytest.raises(LLMConfigError, match="add --batch"):
        build_client(cfg(server, batch=False, batch_detach=True))


def test_the_batch_endpoints_tell_a_long_wait_cap_it_and_stop_when_asked_past_the_cap_again(tmp_path):
    """A 429 on the Files or Batches endpoints with Retry-After: 3600 waited 600 s in silence; it
    now waits --retry-after-max-s with a line, and a second ask past the cap stops the run."""
    import time

    from tagengo.llm.batch.api import BatchAPI
    from tagengo.llm.errors import FatalBackendError, RetryableError

    said: list[str] = []
    config = LLMConfig(
        backend="openai",
        model="teacher",
        base_url="http://127.0.0.1:9/v1",
        cache_path=tmp_path / "c.sqlite",
        batch=True,
        retry_after_max_s=0.2,
    )
    api = BatchAPI(config, said.append)
    e = RetryableError("HTTP 429: slow down", retry_after=3600.0)
    assert api._server_wait(0.1, e) == 0.1 and said == []  # short and within the cap: no line
    assert api._server_wait(3600.0, e) == 0.2
    assert "asked to wait 3600 s" in said[0] and "--retry-after-max-s" in said[0]
    time.sleep(0.25)
    with pytest.raises(FatalBackendError, match="still asks to wait 3600 s"):
        api._server_wait(3600.0, e)
