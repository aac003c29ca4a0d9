"""Configuration of `tagengo reverse`: the model (every ``LLMConfig`` field as a top-level flag:
--backend, --model, --base-url ...), which fragments are used, and the judge's threshold λ.

Defaults follow arXiv 2407.01853's pipeline (translate to English, write the instruction,
judge 1-5, keep scores ≥ 3, translate the instruction back); fragment bounds are tagengo's.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from tagengo.llm.sampling import SamplingConfig
from tagengo.reverse.prompts import TASK_IDS
from tagengo.run.options import known_choices


class ReverseConfig(SamplingConfig):
    language: str | None = Field(
        None,
        description="Language of the corpus (ISO code, e.g. de). Fragments whose language ID disagrees "
        "are rejected; the instructions are written in it",
    )
    mode: Literal["roundtrip", "direct"] = Field(
        "roundtrip",
        description="roundtrip: fragment -> English, instruction written in English, judged, translated "
        "back (the paper's route, for models stronger in English); direct: the instruction is written "
        "and judged in the target language, no translation (strong multilingual models)",
    )
    min_fragment_chars: int = Field(
        100, ge=1, description="Shortest fragment used, in characters (CJK, kana, hangul count 3)"
    )
    max_fragment_chars: int = Field(
        4000, ge=1, description="Longest fragment used, in characters (CJK, kana, hangul count 3)"
    )
    min_fragment_tokens: int = Field(20, ge=0, description="Fewest cl100k tokens in a fragment")
    max_fragment_tokens: int = Field(1024, ge=1, description="Most cl100k tokens in a fragment")
    min_lid_score: float = Field(
        0.5, ge=0, le=1, description="Least language-ID probability of --language (or a near language)"
    )
    min_score: int = Field(3, ge=1, le=5, description="λ: keep pairs the judge scores at least this (1-5)")
    task_types: list[str] = Field(
        default_factory=lambda: list(TASK_IDS),
        description="Task types the instruction writer draws from (seeded per row); see docs/reverse.md",
    )
    task_seed: int = Field(42, description="Seed of the task-type draw")
    reasks: int = Field(
        1,
        ge=0,
        le=5,
        description="Times an unparseable instruction or judge score is asked for again before the "
        "pair is rejected with the reason",
    )
    instruction_max_tokens: int = Field(256, ge=8, description="Most new tokens of a written instruction")
    judge_max_tokens: int = Field(256, ge=8, description="Most new tokens of a judge's answer")
    check_back_translation: bool = Field(
        True, description="Reject a back-translated instruction that language ID does not find in --language"
    )

    @field_validator("language")
    @classmethod
    def _lang(cls, value: str | None) -> str | None:
        return value.strip().lower() if value else None

    @field_validator("task_types")
    @classmethod
    def _tasks(cls, value: list[str]) -> list[str]:
        return known_choices(value, TASK_IDS, "task type")

    @field_validator("max_fragment_chars")
    @classmethod
    def _chars(cls, value: int, info) -> int:  # noqa: ANN001 - pydantic's ValidationInfo
        low = info.data.get("min_fragment_chars")
        if low is not None and value < low:
            raise ValueError(f"must be at least --min-fragment-chars ({low})")
        return value
