"""Configs: MT-Bench defaults, and which backend a partly given model config means."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tagengo.bench.config import AnswerConfig, JudgeConfig


def test_mt_bench_defaults() -> None:
    a = AnswerConfig()
    assert a.max_new_tokens == 1024 and a.llm.backend == "llamacpp"
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
    assert (j.temperature, j.max_tokens, j.mode, j.gate.enabled) == (0.0, 2048, "single", False)


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
