"""The prefer config: --model specs, backend inference, names."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from tagengo.prefer.config import PreferConfig
from tagengo.run.panel import models_from_specs, parse_model_spec


def test_spec_shorthands_and_backend_inference():
    assert parse_model_spec("llamacpp").llm.backend == "llamacpp"
    m = parse_model_spec("llamacpp:/models/x.gguf")
    assert m.name == "x" and str(m.llm.model_path) == "/models/x.gguf"
    m = parse_model_spec("base_url=http://h/v1,model=qwen,temperature=0.7")
    assert (m.name, m.llm.backend, m.temperature) == ("qwen", "openai", 0.7)


def test_two_models_may_not_share_a_name():
    with pytest.raises(ValidationError, match="the name 'a' is given to two answering models"):
        PreferConfig(models=[parse_model_spec("name=a,model=x"), parse_model_spec("name=a,model=y")])


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (
            ["name=a,model=x", "name=a,model=y"],
            "--model: the name 'a' is given twice ('name=a,model=x' and 'name=a,model=y')",
        ),
        # A name derived from model= collides as surely as a typed one.
        (
            ["model=qwen,base_url=http://h/v1", "model=qwen,base_url=http://g/v1"],
            "the name 'qwen' is given twice",
        ),
        (["llamacpp", "llamacpp"], "the name 'llamacpp' is given twice"),
        (["name=a,model=x", " name=a , model=y "], "the name 'a' is given twice"),
    ],
)
def test_repeated_names_among_specs_are_one_sentence_naming_the_option(specs, message):
    with pytest.raises(ValueError, match=re.escape(message)) as err:
        models_from_specs(specs)
    assert "Value error" not in str(err.value) and "validation error" not in str(err.value)


def test_a_spec_may_not_reuse_the_name_of_a_yaml_model():
    given = [parse_model_spec("name=a,model=x")]
    with pytest.raises(
        ValueError, match=re.escape("the name 'a' is given twice (a model of --config and 'name=a,model=y')")
    ):
        models_from_specs(["name=a,model=y"], given)
    assert [m.name for m in models_from_specs(["name=b,model=y"], given)] == ["a", "b"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "the spec is empty"),
        ("name=,model=x", "name= has no value"),
        ("name=  ,model=x", "name= has no value"),
        ("name=a,model=", "model= has no value"),
        ("name=a,name=b", "the key 'name' is given twice"),
        ("name=a,,model=x", "'' is not key=value"),
        ("=a", "'=a' is not key=value"),
        ("name=a,temperature=hot,model=x", "temperature: Input should be a valid number"),
        ("name=a,temperature=9,model=x", "temperature: Input should be less than or equal to 2"),
    ],
)
def test_malformed_specs_name_the_spec_and_the_part(spec, message):
    with pytest.raises(ValueError) as err:
        parse_model_spec(spec)
    text = str(err.value)
    assert text.startswith(f"--model {spec.strip()!r}: ") and message in text
    assert "validation error" not in text and "Value error" not in text


def test_an_empty_name_is_refused_in_yaml_too():
    with pytest.raises(ValidationError, match="an answering model's name is empty"):
        PreferConfig(models=[{"name": " ", "llm": {"model": "x"}}, {"name": "b", "llm": {"model": "y"}}])


def test_a_system_prompt_is_sent_only_where_there_is_none():
    m = parse_model_spec("name=a,model=x,system_prompt=Be brief.")
    assert m.request([{"role": "user", "content": "q"}]).messages[0] == ("system", "Be brief.")
    own = [{"role": "system", "content": "mine"}, {"role": "user", "content": "q"}]
    assert m.request(own).messages[0] == ("system", "mine")
