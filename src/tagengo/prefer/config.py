"""Configuration of `tagengo prefer`: which prompts, which models answer, the ranking judge,
the language check and how pairs are formed.

The answering models and the judge are ``LLMConfig``s of the one client layer, so any mix of
OpenAI-compatible servers, Azure and in-process llama.cpp GGUF models works, with the request
cache, retries, limits and accounting of every other stage.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from tagengo.llm.answer import AnswerLanguageConfig
from tagengo.llm.config import LLMConfig, local_llm
from tagengo.run.panel import AnswerModel, JudgeMaxTokens, JudgeTemperature, PanelConfig

PairsMode = Literal["best-worst", "all"]


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class LanguageCheckConfig(AnswerLanguageConfig):
    """The answer-language check every stage shares (tagengo.llm.answer, bench's gate), as prefer
    uses it: a failing answer ranks last."""

    enabled: bool = Field(
        True,
        description="Rank last, without showing it to the judge, an answer that lid.176 says confidently "
        "is in another language than the prompt",
    )


class PreferConfig(PanelConfig):
    #: Old names, accepted with a note until the next release (tagengo.run.options, docs/options.md).
    RENAMED: ClassVar[dict[str, str]] = {"language_check": "gate"}
    """`tagengo prefer`. ``models`` is given with repeated ``--model`` flags or in YAML."""

    MEMBERS: ClassVar[str] = "answering models"
    LIMIT_NOTE: ClassVar[str] = " (labels A-Z)"

    models: list[AnswerModel] = Field(
        default_factory=list,
        description="The models that answer (two or more; --model SPEC, repeatable; see docs/prefer.md)",
    )
    per_language: int = Field(100, ge=1, description="Prompts sampled per language (seeded)")
    seed: int = Field(0, description="Seed of the prompt sample and of the label shuffle")
    judge: LLMConfig = Field(default_factory=local_llm, description="The ranking judge.")
    judge_temperature: JudgeTemperature = 0.0
    judge_max_tokens: JudgeMaxTokens = 1024
    reask: int = Field(
        2, ge=0, description="Follow-up calls per prompt when the judge's reply holds no valid ranking"
    )
    gate: LanguageCheckConfig = Field(default_factory=LanguageCheckConfig)
    pairs: PairsMode = Field(
        "best-worst",
        description="best-worst: one pair per prompt (a best answer vs a worst one); all: every ordered "
        "pair whose rank gap is at least --margin",
    )
    margin: int = Field(1, ge=1, description="With --pairs all: the least rank gap of a pair")
