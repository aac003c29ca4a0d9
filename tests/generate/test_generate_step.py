"""GenerateStep: which prompt is sent, what is appended, what is rejected and why."""

from __future__ import annotations

import json

import pytest

from servers.fake_chat_server import FaultRates, answer_for, request_hash
from tagengo.generate.config import GenerateConfig
from tagengo.generate.step import GenerateStep
from tagengo.llm.backends.openai_http import OpenAIHTTPBackend
from tagengo.records import Record


def _cfg(server, tmp_path, **kw) -> GenerateConfig:
    base = dict(
        model="teacher",
        base_url=server.url,
        timeout_s=1,
        backoff_base_s=0.02,
        cache_path=tmp_path / "c.sqlite",
    )
    base.update(kw)
    return GenerateConfig(**base)


def _rec(i: int, *turns: tuple[str, str]) -> Record:
    return Record(f"r{i}", "test", "en", [{"role": r, "content": c} for r, c in turns], {"keep": i})


def _run(cfg: GenerateConfig, rows: list[Record]):
    step = GenerateStep(cfg)
    step.setup()
    try:
        return step.process(rows), step.summary()
    finally:
        step.close()


def test_the_whole_conversation_is_the_prompt_and_the_answer_is_appended(fake_server, tmp_path):
    server = fake_server()
    cfg = _cfg(server, tmp_path)
    conv = [
        ("system", "be kind"),
        ("user", "first question"),
        ("assistant", "first answer"),
        ("user", "and then?"),
    ]
    (kept, rejected), summary = _run(cfg, [_rec(0, *conv)])
    assert not rejected
    (row,) = kept
    assert row.messages[:-1] == [{"role": r, "content": c} for r, c in conv]
    assert row.messages[-1] == {
        "role": "assistant",
        "content": answer_for({"messages": [{"role": "user", "content": "and then?"}]}),
    }
    # The server answered exactly the request carrying all four turns.
    body = OpenAIHTTPBackend(cfg.llm_config()).body(cfg.request([{"role": r, "content": c} for r, c in conv]))
    assert dict(server.stats.completed) == {request_hash(body): 1}
    gen = row.meta["generation"]
    assert gen["model"] == "teacher" and gen["finish_reason"] == "stop" and row.meta["keep"] == 0
    assert gen["output_tokens"] > 0 and gen["input_tokens"] > 0 and gen["cached"] is False
    assert summary["models"]["teacher"]["calls"] == 1


def test_a_trailing_assistant_turn_is_dropped_and_kept_in_meta_by_default(fake_server, tmp_path):
    server = fake_server()
    (kept, _), _ = _run(_cfg(server, tmp_path), [_rec(0, ("user", "hi"), ("assistant", "logged reply"))])
    (row,) = kept
    assert [m["role"] for m in row.messages] == ["user", "assistant"]
    assert row.messages[1]["content"] != "logged reply"
    assert row.meta["generation"]["dropped_turns"] == ["logged reply"]


@pytest.mark.parametrize(
    ("policy", "kept_n", "reason"), [("skip", 1, None), ("reject", 0, "already ends with an assistant turn")]
)
def test_other_policies_for_answered_records_make_no_call(fake_server, tmp_path, policy, kept_n, reason):
    server = fake_server()
    row = _rec(0, ("user", "hi"), ("assistant", "logged reply"))
    (kept, rejected), _ = _run(_cfg(server, tmp_path, trailing_assistant=policy), [row])
    assert len(kept) == kept_n and server.stats.received == 0
    if kept_n:
        assert kept[0].messages[-1]["content"] == "logged reply"
    else:
        assert rejected[0].reason == reason


def test_rejections_carry_their_reason_and_the_generation_meta(fake_server, tmp_path):
    server = fake_server()
    rows = [
        _rec(0, ("system", "only a system turn")),
        _rec(1, ("user", "x " * 80)),  # the fake server's answer is longer than max_tokens=8 words
    ]
    (kept, rejected), _ = _run(_cfg(server, tmp_path, max_tokens=8), rows)
    assert not kept
    reasons = {r.record.id: r.reason for r in rejected}
    assert reasons == {"r0": "no user turn", "r1": "unfinished: finish_reason=length"}
    cut = next(r for r in rejected if r.record.id == "r1").record
    assert cut.meta["generation"]["partial_answer"] and cut.messages[-1]["role"] == "user"

    # Kept anyway when the user asks for it.
    (kept, rejected), _ = _run(_cfg(server, tmp_path, max_tokens=8, require_stop=False), rows[1:])
    assert len(kept) == 1 and kept[0].meta["generation"]["finish_reason"] == "length"


def test_empty_answers_and_failed_calls_are_rejected(fake_server, tmp_path):
    empty = fake_server(faults=FaultRates(rate_empty=1.0))
    (kept, rejected), _ = _run(_cfg(empty, tmp_path / "a"), [_rec(0, ("user", "q"))])
    assert not kept and rejected[0].reason == "empty answer"

    failing = fake_server(faults=FaultRates(rate_400=1.0))
    (kept, rejected), summary = _run(_cfg(failing, tmp_path / "b"), [_rec(1, ("user", "q"))])
    assert not kept
    assert rejected[0].reason.startswith("call failed: HTTP 400: This model's maximum context length")
    assert rejected[0].record.meta["generation"]["error"].startswith("HTTP 400")
    assert summary["models"]["teacher"]["failed"] == 1


def test_a_system_prompt_reaches_the_teacher_but_not_the_record(fake_server, tmp_path):
    server = fake_server()
    cfg = _cfg(server, tmp_path, system_prompt="Answer in the language of the question.")
    # No language label: the fake server's English answer quoting a German prompt is no language test.
    row = Record("r0", "test", None, [{"role": "user", "content": "Wie spät ist es?"}], {})
    (kept, _), _ = _run(cfg, [row])
    (row,) = kept
    assert [m["role"] for m in row.messages] == ["user", "assistant"]
    assert row.meta["generation"]["system_prompt"] == "Answer in the language of the question."
    sent = [{"role": "system", "content": cfg.system_prompt}, {"role": "user", "content": "Wie spät ist es?"}]
    body = OpenAIHTTPBackend(cfg.llm_config()).body(cfg.request(sent))
    assert request_hash(body) in server.stats.completed
    assert json.dumps(row.to_row())  # the record still serialises


def test_a_natural_stop_in_another_servers_spelling_is_kept_and_its_word_recorded(fake_server, tmp_path):
    # text-generation-inference reports a natural stop as "eos_token": every answer used to be
    # rejected as unfinished. A cut answer stays a cut answer in any spelling.
    server = fake_server(finish_spelling={"stop": "eos_token", "length": "max_tokens"})
    rows = [_rec(0, ("user", "what is a haiku?")), _rec(1, ("user", "x " * 80))]
    (kept, rejected), summary = _run(_cfg(server, tmp_path, max_tokens=20), rows)
    assert [r.id for r in kept] == ["r0"]
    gen = kept[0].meta["generation"]
    assert (gen["finish_reason"], gen["finish_reason_raw"]) == ("stop", "eos_token")
    assert rejected[0].reason == "unfinished: finish_reason=length"
    assert rejected[0].record.meta["generation"]["finish_reason_raw"] == "max_tokens"
    assert summary["models"]["teacher"]["finish_reasons"] == {"stop": 1, "length": 1}


def test_an_unknown_finish_reason_is_rejected_with_a_reason_that_names_it(fake_server, tmp_path):
    server = fake_server(finish_spelling={"stop": "halted"})
    (kept, rejected), summary = _run(_cfg(server, tmp_path), [_rec(0, ("user", "q")), _rec(1, ("user", "r"))])
    assert not kept
    assert {r.reason for r in rejected} == {
        "unknown finish reason: finish_reason='halted' is none of stop, length, content_filter, "
        "tool_calls (docs/llm.md)"
    }
    assert summary["models"]["teacher"]["unknown_finish_reasons"] == {"halted": 2}


def test_tokens_counted_here_are_marked_in_meta(fake_server, tmp_path):
    server = fake_server(usage="none")
    (kept, _), summary = _run(_cfg(server, tmp_path), [_rec(0, ("user", "tell me a joke"))])
    gen = kept[0].meta["generation"]
    assert gen["tokens_estimated"] is True and gen["input_tokens"] > 0 and gen["output_tokens"] > 0
    assert summary["models"]["teacher"]["tokens_estimated"] == 1
