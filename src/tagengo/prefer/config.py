"""Configuration of `tagengo prefer`: which prompts, which models answer, the ranking judge,
the language check and how pairs are formed.

The answering models and the judge are ``LLMConfig``s of the one client layer, so any mix of
OpenAI-compatible servers, Azure and in-process llama.cpp GGUF models works, with the request
cache, retries, limits and accounting of every other stage.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tagengo.bench.langgate import GateConfig
from tagengo.llm.config import LLMConfig, check_backend, infer_backend, local_llm
from tagengo.llm.types import ChatRequest

PairsMode = Literal["best-worst", "all"]


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class AnswerModel(_Cfg):
    """One model that answers the prompts: a name (recorded in the pairs) and how to reach it."""

    name: str = Field(description="Name of this model in the output (meta.preference.models)")
    llm: LLMConfig = Field(default_factory=local_llm)
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature")
    max_tokens: int = Field(1024, ge=1, description="Most new tokens per answer")
    system_prompt: str | None = Field(None, description="System turn sent before prompts that have none")

    @field_validator("llm", mode="before")
    @classmethod
    def _pick_backend(cls, v: object) -> object:
        return infer_backend(v)

    def request(self, messages: list[dict[str, str]]) -> ChatRequest:
        if self.system_prompt and not any(m["role"] == "system" for m in messages):
            messages = [{"role": "system", "content": self.system_prompt}, *messages]
        return ChatRequest.from_messages(messages, temperature=self.temperature, max_tokens=self.max_tokens)


class LanguageCheckConfig(_Cfg):
    """``bench``'s language gate (lid.176) as prefer uses it: a failing answer ranks last."""

    enabled: bool = Field(
        True,
        description="Rank last, without showing it to the judge, an answer that lid.176 says confidently "
        "is in another language than the prompt",
    )
    min_prob: float = Field(0.9, ge=0.0, le=1.0, description="LID probability above which a mismatch counts")
    min_chars: int = Field(
        20, ge=0, description="Answers with fewer letters (code removed) are never checked: LID is unreliable"
    )

    def gate(self) -> GateConfig:
        return GateConfig(enabled=self.enabled, min_prob=self.min_prob, min_chars=self.min_chars)


class PreferConfig(_Cfg):
    """`tagengo prefer`. ``models`` is given with repeated ``--model`` flags or in YAML."""

    models: list[AnswerModel] = Field(
        default_factory=list,
        description="The models that answer (two or more; --model SPEC, repeatable; see docs/prefer.md)",
    )
    per_language: int = Field(100, ge=1, description="Prompts sampled per language (seeded)")
    seed: int = Field(0, description="Seed of the prompt sample and of the label shuffle")
    judge: LLMConfig = Field(default_factory=local_llm, description="The ranking judge.")
    judge_temperature: float = Field(0.0, ge=0, le=2, description="Judge sampling temperature")
    judge_max_tokens: int = Field(1024, ge=1, description="Most tokens per judge reply")
    reask: int = Field(
        2, ge=0, description="Follow-up calls per prompt when the judge's reply holds no valid ranking"
    )
    language_check: LanguageCheckConfig = Field(default_factory=LanguageCheckConfig)
    pairs: PairsMode = Field(
        "best-worst",
        description="best-worst: one pair per prompt (a best answer vs a worst one); all: every ordered "
        "pair whose rank gap is at least --margin",
    )
    margin: int = Field(1, ge=1, description="With --pairs all: the least rank gap of a pair")

    @field_validator("judge", mode="before")
    @classmethod
    def _pick_backend(cls, v: object) -> object:
        return infer_backend(v)

    @model_validator(mode="after")
    def _check(self) -> PreferConfig:
        check_backend(self.judge, "judge")
        names = [m.name for m in self.models]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"two answering models share the name {twice[0]!r}: give each its own name=")
        if len(self.models) > 26:
            raise ValueError("at most 26 answering models (labels A-Z)")
        return self

    def judge_request(self, messages: list[dict[str, str]]) -> ChatRequest:
        return ChatRequest.from_messages(
            messages, temperature=self.judge_temperature, max_tokens=self.judge_max_tokens
        )


#: Keys a ``--model`` spec may set besides LLMConfig's fields.
SPEC_KEYS = ("name", "temperature", "max_tokens", "system_prompt")


def parse_model_spec(spec: str) -> AnswerModel:
    """``--model`` text -> AnswerModel. A spec is comma-separated ``key=value`` pairs: ``name``,
    ``temperature``, ``max_tokens``, ``system_prompt`` and any ``LLMConfig`` field (``backend``,
    ``model``, ``base_url``, ``model_path``, ``api_key_env``, ``concurrency`` ...). Shorthands:
    ``llamacpp`` (the bundled GGUF) and ``llamacpp:PATH.gguf``. Without ``name`` the model is
    named after ``model``, else the GGUF file's stem, else ``llamacpp``.

    Raises ``ValueError`` naming the bad part."""
    spec = spec.strip()
    if spec == "llamacpp" or spec.startswith("llamacpp:"):
        path = spec.partition(":")[2]
        fields: dict[str, str] = {"backend": "llamacpp", **({"model_path": path} if path else {})}
    else:
        fields = {}
        for part in spec.split(","):
            key, sep, value = part.partition("=")
            key = key.strip()
            if not sep or not key:
                raise ValueError(f"--model {spec!r}: {part!r} is not key=value")
            if key not in SPEC_KEYS and key not in LLMConfig.model_fields:
                raise ValueError(f"--model {spec!r}: unknown key {key!r}")
            fields[key] = value.strip()
    top = {k: fields.pop(k) for k in SPEC_KEYS if k in fields}
    if "name" not in top:
        from pathlib import Path

        top["name"] = fields.get("model") or (
            Path(fields["model_path"]).stem if "model_path" in fields else "llamacpp"
        )
    return AnswerModel.model_validate({**top, "llm": fields})
