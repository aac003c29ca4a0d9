"""LLMConfig: checks that fail early with one clear sentence, price lookup, cache location."""

from __future__ import annotations

import pytest

from tagengo.errors import TagengoError
from tagengo.llm import LLMConfig, LLMConfigError, Price, build_client


def test_defaults_build_so_that_a_stage_can_show_them_in_help():
    cfg = LLMConfig()
    assert cfg.backend == "openai" and cfg.model is None and cfg.concurrency == 8


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"backend": "openai"}, "--model"),
        ({"backend": "azure", "base_url": "https://x.openai.azure.com"}, "--azure-deployment"),
        ({"model": "gpt-x", "budget": 5.0}, "--budget needs the price of model 'gpt-x'"),
    ],
)
def test_configs_that_cannot_work_fail_before_any_call(kw, words):
    with pytest.raises(LLMConfigError) as exc:
        build_client(LLMConfig(cache=False, **kw))
    assert words in str(exc.value)
    assert isinstance(exc.value, TagengoError)  # printed by the CLI as one line, no traceback


def test_azure_without_an_endpoint_names_the_variable(monkeypatch):
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    with pytest.raises(LLMConfigError, match="AZURE_OPENAI_ENDPOINT"):
        build_client(LLMConfig(backend="azure", model="dep", cache=False))


def test_a_missing_model_file_is_named():
    with pytest.raises(LLMConfigError, match="nope.gguf does not exist"):
        build_client(LLMConfig(backend="llamacpp", model_path="/tmp/nope.gguf", cache=False))


def test_price_lookup_prefers_the_answering_model_then_the_configured_one_then_a_prefix():
    cfg = LLMConfig(
        model="gpt-4o",
        prices={
            "gpt-4o": Price(input_per_1m=2.5, output_per_1m=10),
            "gpt-4o-2024-05-13": Price(input_per_1m=5, output_per_1m=15),
            "gpt-4": Price(input_per_1m=30, output_per_1m=60),
        },
    )
    assert cfg.price_for("gpt-4o-2024-05-13").input_per_1m == 5
    assert cfg.price_for("gpt-4o-2024-08-06").input_per_1m == 2.5  # configured model
    other = LLMConfig(model="gpt-4-turbo", prices=cfg.prices)
    assert other.price_for(None).input_per_1m == 30  # longest prefix
    flat = LLMConfig(model="m", input_price_per_1m=1.0, output_price_per_1m=4.0)
    assert flat.price_for("m-2025").cost(1_000_000, 500_000) == pytest.approx(3.0)
    assert LLMConfig(model="m").price_for("m") is None


def test_cache_location_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TAGENGO_CACHE_DIR", str(tmp_path / "c"))
    assert LLMConfig().resolved_cache_path() == tmp_path / "c" / "llm.sqlite"
    assert LLMConfig(cache_path=tmp_path / "x.db").resolved_cache_path() == tmp_path / "x.db"


def test_the_config_holds_only_the_name_of_the_key_variable(monkeypatch):
    monkeypatch.setenv("MY_KEY", "sk-secret-value-123456")
    cfg = LLMConfig(model="m", api_key_env="MY_KEY")
    assert "sk-secret" not in cfg.model_dump_json()
    assert LLMConfig(backend="azure").key_env() == "AZURE_OPENAI_API_KEY"
    assert LLMConfig().key_env() == "OPENAI_API_KEY"


@pytest.mark.parametrize(
    ("given", "backend"),
    [
        ({}, "llamacpp"),
        ({"model_path": "/m/x.gguf"}, "llamacpp"),
        ({"model": "gpt-4o"}, "openai"),
        ({"base_url": "http://127.0.0.1:8000/v1"}, "openai"),
        ({"model": "x", "model_path": "/m/x.gguf"}, "llamacpp"),
        ({"azure_deployment": "d", "model": "gpt-4o"}, "azure"),
        ({"backend": "openai"}, "openai"),
    ],
)
def test_infer_backend_is_the_one_rule_of_bench_and_prefer(given: dict, backend: str) -> None:
    from tagengo.bench.config import JudgeConfig
    from tagengo.llm.config import infer_backend
    from tagengo.prefer.config import PreferConfig
    from tagengo.run.panel import AnswerModel

    assert infer_backend(given)["backend"] == backend
    assert JudgeConfig(judge=given).judge.backend == backend
    assert PreferConfig(judge=given).judge.backend == backend
    assert AnswerModel(name="a", llm=given).llm.backend == backend


def test_infer_backend_leaves_a_built_config_alone() -> None:
    from tagengo.llm.config import infer_backend, local_llm

    built = local_llm()
    assert infer_backend(built) is built and built.backend == "llamacpp"


def test_check_backend_names_the_flags_of_its_prefix() -> None:
    from tagengo.llm.config import check_backend

    check_backend(LLMConfig(backend="openai", base_url="http://127.0.0.1:1/v1"), "judge")
    with pytest.raises(ValueError, match=r"--judge-base-url .* add --judge-backend openai"):
        check_backend(LLMConfig(backend="llamacpp", base_url="http://127.0.0.1:1/v1"), "judge")


def test_a_model_on_openais_api_without_a_key_stops_before_the_first_call(monkeypatch):
    """Every stage alike (generate, prefer's models and judge, the demo ...): no key for OpenAI's
    own API is one sentence naming the variable, not half a minute of retries or 50 rejected rows."""
    from tagengo.llm import LLMConfigError, build_client

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(LLMConfigError, match=r"needs a key: set \$OPENAI_API_KEY"):
        build_client(LLMConfig(backend="openai", model="gpt-4o"))
    monkeypatch.setenv("MY_KEY", "")
    with pytest.raises(LLMConfigError, match=r"\$MY_KEY"):
        build_client(LLMConfig(backend="openai", model="gpt-4o", api_key_env="MY_KEY"))
    # A key, or another server, and nothing is said.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    build_client(LLMConfig(backend="openai", model="gpt-4o")).close()
    monkeypatch.delenv("OPENAI_API_KEY")
    build_client(LLMConfig(backend="openai", model="m", base_url="http://127.0.0.1:9/v1")).close()
