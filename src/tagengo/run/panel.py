"""The panel a ranking judge compares: the models that answer (prefer's answering models,
route's candidate teachers), the ``--model SPEC`` text that names each, and the judge's options
both stages share (:class:`PanelConfig`, the base of their configs).

Here, a floor below the stages, because prefer and route take the same spec keys and the same
judge: one parser and one set of checks, so the two commands cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tagengo.llm.config import LLMConfig, check_backend, infer_backend, local_llm
from tagengo.llm.types import ChatRequest

#: The judge sees the answers under the letters A-Z.
MAX_MODELS = 26


class AnswerModel(BaseModel):
    """One model that answers the prompts: a name (recorded in the pairs) and how to reach it."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    name: str = Field(description="Name of this model in the output (meta.preference.models)")
    llm: LLMConfig = Field(default_factory=local_llm)
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature")
    max_tokens: int = Field(1024, ge=1, description="Most new tokens per answer")
    system_prompt: str | None = Field(None, description="System turn sent before prompts that have none")

    @field_validator("name")
    @classmethod
    def _named(cls, v: str) -> str:
        # The name keys the answers, the ranking and the pairs: blank would be no name at all.
        if not v.strip():
            raise ValueError("an answering model's name is empty")
        return v.strip()

    @field_validator("llm", mode="before")
    @classmethod
    def _pick_backend(cls, v: object) -> object:
        return infer_backend(v)

    def request(self, messages: list[dict[str, str]]) -> ChatRequest:
        if self.system_prompt and not any(m["role"] == "system" for m in messages):
            messages = [{"role": "system", "content": self.system_prompt}, *messages]
        return ChatRequest.from_messages(messages, temperature=self.temperature, max_tokens=self.max_tokens)


#: The judge's sampling options, declared by each config in its own place (a field of the base
#: would come first in --help and in the docs' option tables).
JudgeTemperature = Annotated[float, Field(ge=0, le=2, description="Judge sampling temperature")]
JudgeMaxTokens = Annotated[int, Field(ge=1, description="Most tokens per judge reply")]


class PanelConfig(BaseModel):
    """The checks and the judge's request of a config with ``models`` (a list of
    :class:`AnswerModel`), ``judge`` (an ``LLMConfig``), ``judge_temperature`` and
    ``judge_max_tokens``. ``MEMBERS`` and ``LIMIT_NOTE`` word the errors of ``models`` in the
    stage's own terms."""

    MEMBERS: ClassVar[str] = "answering models"
    LIMIT_NOTE: ClassVar[str] = ""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    if TYPE_CHECKING:  # declared by each subclass, in its own place among its fields
        models: list[AnswerModel]
        judge: LLMConfig
        judge_temperature: float
        judge_max_tokens: int

    @field_validator("models", check_fields=False)
    @classmethod
    def _distinct(cls, models: list[AnswerModel]) -> list[AnswerModel]:
        # On the field (not the model), so an error names --model or the YAML line of models.
        twice = repeated_names([m.name for m in models])
        if twice:
            raise ValueError(f"the name {twice[0]!r} is given to two {cls.MEMBERS}; give each its own name")
        if len(models) > MAX_MODELS:
            raise ValueError(f"at most {MAX_MODELS} {cls.MEMBERS}{cls.LIMIT_NOTE}, got {len(models)}")
        return models

    @field_validator("judge", mode="before", check_fields=False)
    @classmethod
    def _pick_backend(cls, v: object) -> object:
        return infer_backend(v)

    @model_validator(mode="after")
    def _check(self) -> PanelConfig:
        check_backend(self.judge, "judge")
        return self

    def judge_request(self, messages: list[dict[str, str]]) -> ChatRequest:
        return ChatRequest.from_messages(
            messages, temperature=self.judge_temperature, max_tokens=self.judge_max_tokens
        )


#: Keys a ``--model`` spec may set besides LLMConfig's fields.
SPEC_KEYS = ("name", "temperature", "max_tokens", "system_prompt")


def repeated_names(names: list[str]) -> list[str]:
    """The names that occur more than once in ``names``, in order of their second occurrence."""
    seen: set[str] = set()
    out: list[str] = []
    for n in names:
        if n in seen and n not in out:
            out.append(n)
        seen.add(n)
    return out


def parse_model_spec(spec: str) -> AnswerModel:
    """``--model`` text -> AnswerModel. A spec is comma-separated ``key=value`` pairs: ``name``,
    ``temperature``, ``max_tokens``, ``system_prompt`` and any ``LLMConfig`` field (``backend``,
    ``model``, ``base_url``, ``model_path``, ``api_key_env``, ``concurrency`` ...). Shorthands:
    ``llamacpp`` (the bundled GGUF) and ``llamacpp:PATH.gguf``. Without ``name`` the model is
    named after ``model``, else the GGUF file's stem, else ``llamacpp``.

    Raises ``ValueError``, one sentence starting ``--model 'SPEC':`` that names the bad part: a
    part that is not ``key=value``, an unknown or repeated key, a key without a value, a value
    of the wrong type."""
    from pathlib import Path

    from pydantic import ValidationError

    from tagengo.run.options import error_text

    spec = spec.strip()
    where = f"--model {spec!r}"
    if not spec:
        raise ValueError(
            f"{where}: the spec is empty; give key=value pairs such as name=a,model=x, or llamacpp"
        )
    if spec == "llamacpp" or spec.startswith("llamacpp:"):
        path = spec.partition(":")[2]
        fields: dict[str, str] = {"backend": "llamacpp", **({"model_path": path} if path else {})}
    else:
        fields = {}
        for part in spec.split(","):
            key, sep, value = part.partition("=")
            key, value = key.strip(), value.strip()
            if not sep or not key:
                raise ValueError(f"{where}: {part!r} is not key=value")
            if key not in SPEC_KEYS and key not in LLMConfig.model_fields:
                raise ValueError(f"{where}: unknown key {key!r}")
            if key in fields:
                raise ValueError(f"{where}: the key {key!r} is given twice")
            if not value:
                raise ValueError(f"{where}: {key}= has no value")
            fields[key] = value
    top: dict[str, object] = {k: fields.pop(k) for k in SPEC_KEYS if k in fields}
    if "name" not in top:
        top["name"] = fields.get("model") or (
            Path(fields["model_path"]).stem if "model_path" in fields else "llamacpp"
        )
    try:
        return AnswerModel.model_validate({**top, "llm": fields})
    except ValidationError as exc:
        problems = "; ".join(
            f"{e['loc'][-1]}: {error_text(e)}" if e["loc"] else error_text(e) for e in exc.errors()
        )
        raise ValueError(f"{where}: {problems}") from None


def models_from_specs(specs: Sequence[str], given: Sequence[AnswerModel] = ()) -> list[AnswerModel]:
    """``given`` (the models of a YAML config) followed by one model per ``--model`` spec.

    Raises ``ValueError`` (one sentence naming ``--model``) for a bad spec (see
    :func:`parse_model_spec`) or a name used twice, whether typed or derived from ``model``."""
    models = list(given)
    origin = {m.name: "a model of --config" for m in models}
    for spec in specs:
        m = parse_model_spec(spec)
        if m.name in origin:
            raise ValueError(
                f"--model: the name {m.name!r} is given twice ({origin[m.name]} and {spec.strip()!r}); "
                "give each model its own name= part"
            )
        origin[m.name] = repr(spec.strip())
        models.append(m)
    if len(models) > MAX_MODELS:
        raise ValueError(f"--model: at most {MAX_MODELS} answering models (labels A-Z), got {len(models)}")
    return models
