"""Configs: MT-Bench defaults, and which backend a partly given model config means."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tagengo.bench.config import AnswerConfig, JudgeConfig, ShowConfig


def test_mt_bench_defaults() -> None:
    a = AnswerConfig()
    assert a.max_tokens == 1024 and a.llm.backend == "llamacpp"
    assert [
        a.temperature(c)
        for c in (
            "writing",
            "roleplay",
            "math",
            "coding",
            "reasoning",
            "extraction",
            "stem",
            "humanities",
            "other",
        )
    ] == [0.7, 0.7, 0.0, 0.0, 0.0, 0.0, 0.1, 0.1, 0.7]
    j = JudgeConfig()
    assert (j.judge_temperature, j.judge_max_tokens, j.mode, j.gate.enabled) == (0.0, 2048, "single", False)


@pytest.mark.parametrize(
    ("given", "backend"),
    [
        ({"model": "gpt-4o"}, "openai"),
        ({"base_url": "http://127.0.0.1:8000/v1", "model": "m"}, "openai"),
        ({"azure_deployment": "gpt4", "base_url": "https://x.openai.azure.com"}, "azure"),
        ({"n_ctx": 2048}, "llamacpp"),
        ({"model_path": "/models/x.gguf", "model": "my-name"}, "llamacpp"),
    ],
)
def test_backend_follows_what_was_given(given: dict, backend: str) -> None:
    assert JudgeConfig(judge=given).judge.backend == backend
    assert AnswerConfig(llm=given).llm.backend == backend


def test_explicit_llamacpp_with_a_url_is_refused() -> None:
    with pytest.raises(ValidationError, match="--judge-base-url is for an HTTP server"):
        JudgeConfig(judge={"backend": "llamacpp", "base_url": "http://127.0.0.1:1/v1"})


def test_baseline_mode_needs_a_baseline() -> None:
    with pytest.raises(ValidationError, match="needs --baseline-model"):
        JudgeConfig(mode="pairwise-baseline")
    assert (
        JudgeConfig(mode="pairwise-baseline", baseline_model="gpt-3.5-turbo").baseline_model
        == "gpt-3.5-turbo"
    )


def test_the_default_judge_policy_is_fastchat_exact() -> None:
    j = JudgeConfig()
    assert j.judge_policy == "fastchat" and j.reask is None
    assert (j.policy().name, j.policy().reask, j.policy().range_check) == ("fastchat", 0, False)
    robust = JudgeConfig(judge_policy="robust")
    assert (robust.policy().reask, robust.policy().range_check) == (2, True)
    assert JudgeConfig(judge_policy="robust", reask=0).policy().reask == 0
    assert JudgeConfig(reask=0).policy().reask == 0  # 0 is what fastchat does anyway
    with pytest.raises(ValidationError, match="--reask belongs to the robust policy"):
        JudgeConfig(reask=1)


@pytest.mark.parametrize("model", [JudgeConfig, ShowConfig])
@pytest.mark.parametrize(
    ("flags", "yaml", "message"),
    [
        ("a,b,a", None, "--models: the model 'a' is named twice."),
        (None, "models: [a, ' ']\n", "line 1: models: a model name is empty."),
        (None, "models: [b, b]\n", "line 1: models: the model 'b' is named twice."),
    ],
)
def test_models_lists_refuse_a_repeated_or_empty_name(model, flags, yaml, message, tmp_path) -> None:
    from tagengo.errors import ConfigError
    from tagengo.run.options import build_config

    config_file = None
    if yaml:
        config_file = tmp_path / "c.yaml"
        config_file.write_text(yaml)
    with pytest.raises(ConfigError) as err:
        build_config(model, {"cfg__models": flags}, config_file=config_file)
    assert str(err.value).endswith(message) and "Value error" not in str(err.value)


def test_models_names_are_kept_in_order_and_stripped() -> None:
    assert JudgeConfig(models=[" b", "a "]).models == ["b", "a"]
