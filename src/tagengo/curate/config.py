"""Configuration of `tagengo curate`, and its two presets.

``default`` is the corrected recipe; ``tagengo-2024`` reproduces the released Tagengo code,
quirks included. docs/presets.md lists every difference and why the default differs.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tagengo.dedup.config import PRESETS as DEDUP_PRESETS
from tagengo.dedup.config import DedupConfig
from tagengo.errors import ConfigError
from tagengo.run.sampling import CapConfig

DEFAULT_MODEL_NAMES = ["gpt", "chatgpt", "vicuna", "alpaca", "llama", "koala", "claude", "guanaco"]
DEFAULT_UNKNOWN_LABELS = ["unknown", "klingon", "xx", "zp", "zzp"]


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModerationConfig(_Cfg):
    enabled: bool = Field(True, description="Drop prompts whose first-turn moderation entry is flagged")
    categories: bool = Field(
        True, description="Also drop when any moderation category is true though not flagged"
    )
    endpoint: str | None = Field(
        None,
        description="OpenAI-compatible base URL (…/v1) to moderate rows that carry no moderation entry; off when empty",
    )
    endpoint_model: str = Field(
        "omni-moderation-latest", description="Model name sent to the moderation endpoint"
    )
    api_key_env: str = Field("OPENAI_API_KEY", description="Environment variable holding the endpoint's key")


class UnknownLanguageConfig(_Cfg):
    enabled: bool = Field(True, description="Drop rows whose language label means 'no language'")
    labels: list[str] = Field(
        default_factory=lambda: list(DEFAULT_UNKNOWN_LABELS),
        description="Labels treated as 'no language' (case-insensitive), besides an empty label",
    )
    drop_unmapped: bool = Field(True, description="Drop rows whose label is not in the language table")


class AnonymisedConfig(_Cfg):
    enabled: bool = Field(True, description="Drop prompts carrying anonymisation placeholders")
    mode: Literal["placeholder", "substring"] = Field(
        "placeholder",
        description="placeholder: match the patterns; substring: any prompt containing 'name' (tagengo-2024 quirk)",
    )
    patterns: list[str] = Field(
        # Not \b: Python's \b is Unicode-aware and CJK characters are word characters, so
        # "同事NAME_1总是" would not match. Only ASCII word characters may not touch it.
        default_factory=lambda: [r"(?<![A-Za-z0-9_])NAME_\d+(?![0-9])"],
        description="Regular expressions of the placeholders",
    )

    @field_validator("patterns")
    @classmethod
    def _compilable(cls, value: list[str]) -> list[str]:
        # Checked here, not when the filter is built in a worker: the user gets the option and
        # the pattern in one sentence instead of a re.error traceback from the middle of a run.
        for p in value:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"{p!r} is not a valid regular expression ({exc}); fix or quote it") from exc
        return value


class ModelMentionsConfig(_Cfg):
    enabled: bool = Field(True, description="Drop prompts that mention a model name")
    names: list[str] = Field(default_factory=lambda: list(DEFAULT_MODEL_NAMES), description="Model names")
    match: Literal["word", "substring"] = Field(
        "word",
        description="word: the name not touching other letters (llama2 matches, llamada does not); "
        "substring: plain lowercase substring (tagengo-2024)",
    )


class LangIDConfig(_Cfg):
    enabled: bool = Field(True, description="Keep rows whose detected language matches the label")
    model_path: str | None = Field(
        None, description="fastText .bin/.ftz model (default: bundled lid.176.ftz)"
    )
    threshold: float = Field(0.8, ge=0, le=1, description="Confidence needed")
    strict: bool = Field(False, description="Require score > threshold instead of >= (tagengo-2024)")
    rule: Literal["group", "exact"] = Field(
        "group",
        description="group: sum the probabilities of the label's near-language group (id+ms, zh+wuu+yue …); "
        "exact: the top label must equal the row's language",
    )
    top_k: int = Field(5, ge=1, le=20, description="Labels read from the model for the group sum")
    strip_code: bool = Field(
        True, description="Leave code blocks, inline code and URLs out of the detector's text"
    )
    strip_technical: bool = Field(
        True,
        description="Also leave identifiers, math, numbers and code-like tokens (useEffect, x^2, C++, "
        "SELECT, --force) out of the detector's text",
    )
    fold_case: bool = Field(
        True,
        description="Read a mostly upper-case prompt (ALL CAPS) in small letters: lid.176 takes shouted "
        "text for other languages (off in tagengo-2024)",
    )
    agree_threshold: float | None = Field(
        0.4,
        ge=0,
        le=1,
        description="When the detector's top label is the row's label (or in its group), this lower "
        "score is enough: the label is a prior the detector agrees with. None: only --langid-threshold",
    )
    second_opinion: Literal["none", "lingua", "lingua-low-accuracy"] = Field(
        "lingua",
        description="Rows fastText cannot settle: lingua chooses between the label and fastText's top "
        "labels, and the row is kept when it picks the label (or its group). lingua-low-accuracy: its "
        "trigram models only, about a ninth of the memory (919 MiB less for 11 languages) for a little "
        "accuracy on short prompts (docs/curate.md)",
    )
    second_opinion_min: float = Field(
        0.5,
        ge=0,
        le=1,
        description="lingua's confidence in the label, among the candidate languages, needed to keep the row",
    )
    trust_other_above: float = Field(
        0.9,
        ge=0,
        le=1,
        description="A fastText top label of another language at or above this score is trusted: "
        "no second opinion is asked",
    )
    assign_unlabelled: bool = Field(
        True, description="Give rows without a label the detected language when confident"
    )


class LengthConfig(_Cfg):
    enabled: bool = Field(True, description="Drop rows whose token count exceeds the limit")
    max_tokens: int = Field(512, ge=1, description="Token limit")
    strict: bool = Field(False, description="Keep only counts < max_tokens instead of <= (tagengo-2024)")
    over: Literal["prompt_and_response", "prompt", "conversation"] = Field(
        "prompt_and_response",
        description="What is counted: first prompt + first logged response (the paper), …",
    )
    joined: bool = Field(
        False,
        description="Count the texts joined with a space as one string (tagengo-2024) instead of summing counts",
    )
    encoding: Literal["cl100k_base", "o200k_base"] = Field("cl100k_base", description="Tokenizer")
    min_chars: int = Field(
        2,
        ge=0,
        description="Fewest visible characters a prompt needs (spaces, zero-width and other invisible characters do not count)",
    )


class DedupStepConfig(DedupConfig):
    """Step 8 is `tagengo dedup`'s step; its options show here as --dedup-…"""

    enabled: bool = Field(
        False,
        description="Remove near-duplicate prompts per language (step 8; embeds every prompt, so off by default)",
    )

    @model_validator(mode="after")
    def _check(self) -> DedupStepConfig:
        # Same name as DedupConfig's check, so it replaces it: a switched-off step needs no model
        # path. When on, run the dedup checks, naming curate's flags (--dedup-…).
        if self.enabled:
            try:
                DedupConfig.model_validate(self.model_dump(exclude={"enabled"}))
            except ConfigError as exc:
                raise ConfigError(str(exc).replace("--", "--dedup-")) from exc
        return self


class CurateConfig(_Cfg):
    keep: Literal["first_prompt", "conversation"] = Field(
        "first_prompt",
        description="first_prompt: keep the first user turn (logged response to meta); conversation: keep all turns",
    )
    moderation: ModerationConfig = Field(default_factory=ModerationConfig)
    unknown_language: UnknownLanguageConfig = Field(default_factory=UnknownLanguageConfig)
    anonymised: AnonymisedConfig = Field(default_factory=AnonymisedConfig)
    model_mentions: ModelMentionsConfig = Field(default_factory=ModelMentionsConfig)
    langid: LangIDConfig = Field(default_factory=LangIDConfig)
    length: LengthConfig = Field(default_factory=LengthConfig)
    cap: CapConfig = Field(default_factory=CapConfig)
    dedup: DedupStepConfig = Field(default_factory=DedupStepConfig)


#: Named recipes: overrides applied on top of the model defaults.
PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "tagengo-2024": {
        "anonymised": {"mode": "substring"},
        "model_mentions": {
            "match": "substring",
            "names": ["gpt", "vicuna", "alpaca", "llama", "koala", "claude", "guanaco"],
        },
        "langid": {
            "strict": True,
            "rule": "exact",
            "strip_code": False,
            "strip_technical": False,
            "fold_case": False,
            "agree_threshold": None,
            "second_opinion": "none",
        },
        "length": {"strict": True, "joined": True},
        "dedup": DEDUP_PRESETS["tagengo-2024"],
    },
}
