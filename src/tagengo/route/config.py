"""Configuration of `tagengo route`: the candidate teachers, the judge, the pilot sample and the
statistics of the routing table.

The teachers are prefer's answering models (``--model SPEC``, the same spec keys), the judge an
``LLMConfig`` (``--judge-*``), so any OpenAI-compatible server, Azure, a batch API or in-process
llama.cpp can be a candidate or the judge, with the request cache, retries, limits and accounting
of every other stage.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from tagengo.llm.answer import AnswerLanguageConfig
from tagengo.llm.config import LLMConfig, local_llm
from tagengo.run.panel import AnswerModel, JudgeMaxTokens, JudgeTemperature, PanelConfig


class RouteLanguageCheckConfig(AnswerLanguageConfig):
    """The answer-language check every stage shares (tagengo.llm.answer, bench's gate), as route
    uses it: a failing answer forfeits its comparisons, as a contract failure does."""

    enabled: bool = Field(
        True,
        description="An answer that lid.176 says confidently is in another language than the prompt loses "
        "each of its comparisons without the judge (a forfeit), as an answer the answer contract rejects does",
    )


class RouteConfig(PanelConfig):
    #: Old names, accepted with a note until the next release (tagengo.run.options, docs/options.md).
    RENAMED: ClassVar[dict[str, str]] = {"bootstrap": "bootstrap_iters"}
    """`tagengo route`. ``models`` is given with repeated ``--model`` flags or in YAML."""

    MEMBERS: ClassVar[str] = "teachers"

    models: list[AnswerModel] = Field(
        default_factory=list,
        description="The candidate teachers (two or more; --model SPEC, repeatable, as for prefer). Give "
        "each the sampling generate will use (temperature=0,max_tokens=2048: generate then replays the "
        "pilot answers from the cache)",
    )
    per_language: int = Field(20, ge=1, description="Pilot prompts per language (a seeded sample)")
    seed: int = Field(
        0,
        description="Seed of the pilot sample, of the order answers are shown to the judge and of the bootstrap",
    )
    languages: list[str] = Field(
        default_factory=list, description="Route only these languages (none: every language of the input)"
    )
    judge: LLMConfig = Field(default_factory=local_llm, description="The pairwise judge.")
    judge_temperature: JudgeTemperature = 0.0
    judge_max_tokens: JudgeMaxTokens = 1024
    reask: int = Field(
        2, ge=0, description="Follow-up calls per comparison when the judge's reply holds no valid ranking"
    )
    gate: RouteLanguageCheckConfig = Field(default_factory=RouteLanguageCheckConfig)
    bootstrap_iters: int = Field(
        1000,
        ge=0,
        description="Bootstrap resamples of each language's pilot prompts for the win-rate intervals",
    )
    confidence: float = Field(0.95, gt=0, lt=1, description="Coverage of the win-rate intervals")
