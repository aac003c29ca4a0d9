"""generate judges each answer (the answer contract, lid.176) as it arrives, on a thread of its
own while the other calls are in flight, instead of all of them after the last one (issue 27
item 2: 0.5-1.8 s per 2,000 answers that a user waited for). Nothing it writes may change:
the same rows, reasons, meta and order as judging after the calls."""

from __future__ import annotations

import functools
import threading
import time

import pytest

from servers.fake_chat_server import FaultRates
from tagengo.generate.config import GenerateConfig
from tagengo.generate.step import GenerateStep
from tagengo.llm import ChatRequest, LLMConfig, build_client
from tagengo.llm.errors import RunAborted
from tagengo.records import Record

JUDGE_THREAD = "tagengo-generate-judge"


def _cfg(server, tmp_path, cache: str, **kw) -> GenerateConfig:
    base = dict(
        model="teacher",
        base_url=server.url,
        timeout_s=2,
        backoff_base_s=0.02,
        cache_path=tmp_path / cache,
    )
    base.update(kw)
    return GenerateConfig(**base)


def _rows() -> list[Record]:
    """Rows that end every way a row can: kept, cut (length), empty, refused (400), another
    language than the answer's (the server answers in English), repeated prompts (one call for
    two rows), a row without a user turn and one whose prompt is blank (no call)."""
    rows = []
    for i in range(36):
        lang = ["en", "en", "ja", "de"][i % 4]
        prompt = f"question {i % 30}: tell me about the weather in spring"  # rows 30-35 repeat 0-5
        rows.append(Record(f"r{i}", "test", lang, [{"role": "user", "content": prompt}], {"i": i}))
    rows.append(Record("no-user", "test", "en", [{"role": "system", "content": "be kind"}], {}))
    rows.append(Record("blank", "test", "en", [{"role": "user", "content": "\u200b"}], {}))
    return rows


class _TellsNothing:
    """A caller's own client: its ``chat_many`` has no ``on_answer``, so generate judges the
    answers once they are all back (the way it always did)."""

    def __init__(self, client) -> None:
        self.inner = client
        self.model_id = client.model_id

    def chat_many(self, requests, *, desc=""):
        return self.inner.chat_many(requests, desc=desc)

    def close(self) -> None:
        self.inner.close()


def _outcome(kept, rejected):
    def row(r: Record) -> tuple:
        gen = dict(r.meta.get("generation") or {})
        gen.pop("latency_s", None)  # a clock reading
        return (r.id, r.language, r.messages, {**r.meta, "generation": gen})

    return [row(r) for r in kept], [(*row(x.record), x.step, x.reason) for x in rejected]


def _no_judge_thread_left() -> bool:
    return not any(t.name == JUDGE_THREAD for t in threading.enumerate())


def test_judging_as_answers_arrive_writes_what_judging_after_them_wrote(fake_server, tmp_path):
    server = fake_server(latency_s=0.01, faults=FaultRates(rate_length=0.15, rate_empty=0.1, rate_400=0.1))
    told = GenerateStep(_cfg(server, tmp_path, "a.sqlite", concurrency=4))
    after = GenerateStep(
        _cfg(server, tmp_path, "b.sqlite"),
        client=_TellsNothing(build_client(_cfg(server, tmp_path, "b.sqlite", concurrency=4).llm_config())),
    )
    try:
        kept_a, rej_a = told.process(_rows())
        kept_b, rej_b = after.process(_rows())
    finally:
        told.close()
        after.client.close()
    assert _outcome(kept_a, rej_a) == _outcome(kept_b, rej_b)
    # Every way of ending was exercised, or the comparison above proves less than it says.
    kinds = {x.reason.split(":")[0] for x in rej_a}
    assert kinds == {
        "call failed",
        "empty answer",
        "empty prompt",
        "no user turn",
        "unfinished",
        "wrong language",
    }, kinds
    assert len(kept_a) >= 5
    assert _same_counts(told.summary(), after.summary())
    assert _no_judge_thread_left()


def _same_counts(a: dict, b: dict) -> bool:
    # The summaries hold latency sums (clock readings): compare the counts only.
    keys = ("calls", "cached", "failed", "input_tokens", "output_tokens", "finish_reasons")
    return all(a["models"][m].get(k) == b["models"][m].get(k) for m in a["models"] for k in keys)


def test_answers_are_judged_while_the_other_calls_are_in_flight(fake_server, tmp_path):
    server = fake_server(latency_s=0.1)
    step = GenerateStep(_cfg(server, tmp_path, "c.sqlite", concurrency=2))
    step.setup()
    judged: list[tuple[str, float]] = []
    returned: list[float] = []
    judge = step._judge

    def noting_judge(*a, **kw):
        judged.append((threading.current_thread().name, time.monotonic()))
        return judge(*a, **kw)

    chat_many = step.client.chat_many

    @functools.wraps(chat_many)  # keeps its signature: on_answer is still seen
    def noting_chat_many(*a, **kw):
        out = chat_many(*a, **kw)
        returned.append(time.monotonic())
        return out

    step._judge = noting_judge
    step.client.chat_many = noting_chat_many
    try:
        rows = [Record(f"r{i}", "t", "en", [{"role": "user", "content": f"q{i}"}], {}) for i in range(12)]
        kept, rejected = step.process(rows)
    finally:
        step.close()
    assert len(kept) + len(rejected) == 12 and len(judged) == 12
    assert {name for name, _ in judged} == {JUDGE_THREAD}
    # 6 rounds of 0.1 s: the first answers were judged rounds before the last came back.
    assert judged[0][1] < returned[0] - 0.25
    assert _no_judge_thread_left()


def test_a_stop_during_the_calls_leaves_no_judge_thread_behind(fake_server, tmp_path):
    server = fake_server(faults=FaultRates(rate_400=1.0))
    step = GenerateStep(_cfg(server, tmp_path, "d.sqlite", concurrency=2, abort_after_failures=3))
    rows = [Record(f"r{i}", "t", "en", [{"role": "user", "content": f"q{i}"}], {}) for i in range(20)]
    try:
        with pytest.raises(RunAborted):
            step.process(rows)
    finally:
        step.close()
    assert _no_judge_thread_left()


def test_a_failure_while_judging_is_raised_by_the_step(fake_server, tmp_path, monkeypatch):
    server = fake_server()
    step = GenerateStep(_cfg(server, tmp_path, "e.sqlite"))
    judge = GenerateStep._judge

    def failing_judge(self, row, *a, **kw):
        if row.id == "r3":
            raise ValueError("a bug while judging r3")
        return judge(self, row, *a, **kw)

    monkeypatch.setattr(GenerateStep, "_judge", failing_judge)
    rows = [Record(f"r{i}", "t", "en", [{"role": "user", "content": f"q{i}"}], {}) for i in range(8)]
    try:
        with pytest.raises(ValueError, match="r3"):
            step.process(rows)
    finally:
        step.close()
    assert _no_judge_thread_left()


def test_the_client_tells_each_place_once_cached_and_repeated_answers_included(fake_server, tmp_path):
    server = fake_server()
    cfg = LLMConfig(model="teacher", base_url=server.url, cache_path=tmp_path / "f.sqlite", concurrency=2)
    reqs = [ChatRequest.from_messages([{"role": "user", "content": q}]) for q in ("a", "b", "a", "c")]
    with build_client(cfg) as client:
        for _ in range(2):  # fresh calls, then every answer from the cache
            told: list[tuple[int, object]] = []
            out = client.chat_many(reqs, on_answer=lambda i, r: told.append((i, r)))  # noqa: B023
            assert sorted(i for i, _ in told) == [0, 1, 2, 3]
            assert all(out[i] is r for i, r in told)
    assert sum(server.stats.completed.values()) == 3  # "a" asked once
