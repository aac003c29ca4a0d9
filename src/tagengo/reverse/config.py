"""Configuration of `tagengo reverse`: the model (every ``LLMConfig`` field as a top-level flag:
--backend, --model, --base-url ...), the judge and the translator (--judge-*, --translator-*:
the model itself unless told otherwise), which fragments are used, and the judge's threshold λ.

Defaults follow arXiv 2407.01853's pipeline (translate to English, write the instruction,
judge 1-5, keep scores ≥ 3, translate the instruction back); fragment bounds are tagengo's.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from tagengo.llm.answer import AnswerLanguageConfig
from tagengo.llm.config import Backend, LLMConfig
from tagengo.llm.sampling import SamplingConfig
from tagengo.reverse.prompts import TASK_IDS
from tagengo.run.options import known_choices

#: The client fields a role (judge, translator) may set for itself; unset, it uses --model's.
ROLE_FIELDS = ("backend", "model", "base_url", "api_key_env", "model_path")
ROLES = ("judge", "translator")


class ReverseConfig(SamplingConfig):
    #: Old names, accepted with a note until the next release (tagengo.run.options, docs/options.md).
    RENAMED: ClassVar[dict[str, str]] = {"reasks": "reask"}
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

    # -- the judge and the translator: --model unless one of their options is set -------------
    judge_backend: Backend | None = Field(None, description="Backend of the judge (none: --backend)")
    judge_model: str | None = Field(
        None,
        description="Model that scores the pairs (none: --model, which then grades the instructions it "
        "wrote itself; see docs/reverse.md)",
    )
    judge_base_url: str | None = Field(None, description="API root of the judge (none: --base-url)")
    judge_api_key_env: str | None = Field(
        None, description="Environment variable holding the judge's key (none: as --model's)"
    )
    judge_model_path: Path | None = Field(
        None, description="llamacpp: GGUF file of the judge (none: --model-path)"
    )
    translator_backend: Backend | None = Field(
        None, description="Backend of the translator (none: --backend)"
    )
    translator_model: str | None = Field(
        None,
        description="Model that translates the fragment into English and the instruction back "
        "(roundtrip mode; none: --model)",
    )
    translator_base_url: str | None = Field(None, description="API root of the translator (none: --base-url)")
    translator_api_key_env: str | None = Field(
        None, description="Environment variable holding the translator's key (none: as --model's)"
    )
    translator_model_path: Path | None = Field(
        None, description="llamacpp: GGUF file of the translator (none: --model-path)"
    )
    task_types: list[str] = Field(
        default_factory=lambda: list(TASK_IDS),
        description="Task types the instruction writer draws from (seeded per row); see docs/reverse.md",
    )
    task_seed: int = Field(42, description="Seed of the task-type draw")
    reask: int = Field(
        1,
        ge=0,
        le=5,
        description="Times an unparseable instruction or judge score is asked for again before the "
        "pair is rejected with the reason",
    )
    instruction_max_tokens: int = Field(256, ge=8, description="Most new tokens of a written instruction")
    judge_max_tokens: int = Field(256, ge=8, description="Most new tokens of a judge's answer")
    gate: AnswerLanguageConfig = Field(
        default_factory=AnswerLanguageConfig,
        description="The answer-language check: a written instruction lid.176 finds confidently in another "
        "language than the one asked for (--language; English in roundtrip mode) rejects its row",
    )
    check_back_translation: bool = Field(
        True, description="Reject a back-translated instruction that language ID does not find in --language"
    )

    @field_validator("language")
    @classmethod
    def _lang(cls, value: str | None) -> str | None:
        return value.strip().lower() if value else None

    @field_validator("judge_base_url", "translator_base_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    # -- the clients ----------------------------------------------------------------------------

    def separate(self, role: str) -> bool:
        """True when a --judge-* (``role="judge"``) or --translator-* option names another model
        or endpoint than --model's."""
        return any(getattr(self, f"{role}_{name}") is not None for name in ROLE_FIELDS)

    def role_llm_config(self, role: str) -> LLMConfig:
        """The client config of the judge or the translator: --model's, with the role's options
        that are set. A separate model never shares --model's --cache-id (the cache would mix
        their answers) nor its Azure deployment."""
        if role not in ROLES:
            raise ValueError(f"no role {role!r}; roles: {', '.join(ROLES)}")
        data = self.llm_config().model_dump()
        if not self.separate(role):
            return LLMConfig.model_validate(data)
        for name in ROLE_FIELDS:
            value = getattr(self, f"{role}_{name}")
            if value is not None:
                data[name] = value
        data["cache_id"] = None
        if getattr(self, f"{role}_model") is not None:
            data["azure_deployment"] = None
        if getattr(self, f"{role}_backend") == "llamacpp" and getattr(self, f"{role}_model") is None:
            data["model"] = None  # the GGUF's own name, not --model's API model name
        if getattr(self, f"{role}_backend") == "llamacpp" and getattr(self, f"{role}_base_url") is None:
            data["base_url"] = None  # --model's server; LLMConfig.check refuses one on llamacpp
        return LLMConfig.model_validate(data)

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
