"""The prefer config: --model specs, backend inference, names."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tagengo.prefer.config import PreferConfig, parse_model_spec


def test_spec_shorthands_and_backend_inference():
    assert parse_model_spec("llamacpp").llm.backend == "llamacpp"
    m = parse_model_spec("llamacpp:/models/x.gguf")
    assert m.name == "x" and str(m.llm.model_path) == "/models/x.gguf"
    m = parse_model_spec("base_url=http://h/v1,model=qwen,temperature=0.7")
    assert (m.name, m.llm.backend, m.temperature) == ("qwen", "openai", 0.7)


def test_two_models_may_not_share_a_name():
    with pytest.raises(ValidationError, match="share the name 'a'"):
        PreferConfig(models=[parse_model_spec("name=a,model=x"), parse_model_spec("name=a,model=y")])


def test_a_system_prompt_is_sent_only_where_there_is_none():
    m = parse_model_spec("name=a,model=x,system_prompt=Be brief.")
    assert m.request([{"role": "user", "content": "q"}]).messages[0] == ("system", "Be brief.")
    own = [{"role": "system", "content": "mine"}, {"role": "user", "content": "q"}]
    assert m.request(own).messages[0] == ("system", "mine")
