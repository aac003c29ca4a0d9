"""ExtendConfig: the writer is the teacher unless a --writer-* option says otherwise."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tagengo.extend.config import ExtendConfig


def test_without_writer_options_the_writer_is_the_teacher():
    cfg = ExtendConfig(model="teacher", base_url="http://h:1/v1", cache_id="shared")
    assert not cfg.separate_writer()
    assert cfg.writer_llm_config() == cfg.llm_config()


def test_writer_options_override_the_teachers_and_never_share_its_cache_id():
    cfg = ExtendConfig(
        model="teacher", base_url="http://h:1/v1", cache_id="shared", writer_model="writer",
        writer_base_url="http://w:2/v1/", writer_api_key_env="WRITER_KEY",
    )  # fmt: skip
    w = cfg.writer_llm_config()
    assert cfg.separate_writer()
    assert (w.model, w.base_url, w.api_key_env, w.cache_id) == ("writer", "http://w:2/v1", "WRITER_KEY", None)
    assert w.backend == "openai" and w.concurrency == cfg.concurrency
    local = ExtendConfig(model="teacher", writer_backend="llamacpp").writer_llm_config()
    assert local.backend == "llamacpp" and local.model is None


def test_requests_carry_each_models_sampling():
    cfg = ExtendConfig(
        model="t", temperature=0.0, max_tokens=300, writer_temperature=0.9, writer_max_tokens=40
    )
    msgs = [{"role": "user", "content": "hi"}]
    a, w = cfg.answer_request(msgs), cfg.writer_request(msgs)
    assert (a.temperature, a.max_tokens) == (0.0, 300)
    assert (w.temperature, w.max_tokens) == (0.9, 40)


def test_unknown_task_types_and_one_turn_are_refused():
    with pytest.raises(ValidationError, match="unknown task type"):
        ExtendConfig(task_types=["clarify", "summarise"])
    with pytest.raises(ValidationError):
        ExtendConfig(turns=1)
