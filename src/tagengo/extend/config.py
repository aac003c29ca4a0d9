"""Configuration of `tagengo extend`: the teacher (every ``LLMConfig`` field as a top-level flag:
--backend, --model, --base-url ...), the follow-up writer (--writer-*: the teacher unless told
otherwise), how many user turns a conversation should reach, and the checks a new turn must pass.

Tagengo (arXiv 2405.12612, section 5) names multi-turn conversations as what its single-turn
dataset lacks; the procedure here (an LLM plays the user and writes a follow-up of a drawn kind,
the teacher answers it, every new turn is language-checked) is tagengo's own.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator

from tagengo.extend.prompts import TASK_IDS
from tagengo.llm.config import Backend, LLMConfig
from tagengo.llm.sampling import AnswerConfig
from tagengo.llm.types import ChatRequest
from tagengo.run.options import known_choices

#: The writer fields that, when set, make the writer a model of its own (else it is the teacher).
WRITER_OVERRIDES = (
    "writer_backend",
    "writer_model",
    "writer_base_url",
    "writer_api_key_env",
    "writer_model_path",
)


class ExtendConfig(AnswerConfig):
    """``LLMConfig`` of the teacher (flattened: --model, not --llm-model), its sampling
    (:class:`~tagengo.llm.sampling.AnswerConfig`; seed and sampling_extra serve the writer too),
    the writer's overrides and sampling, and the turn checks."""

    option_help: ClassVar[dict[str, str]] = {
        "temperature": "Teacher's sampling temperature (0: greedy)",
        "max_tokens": "Most new tokens per teacher answer",
        "seed": "Sampling seed of both models, where the backend honours one",
        "stop": "Stop strings of the teacher",
        "sampling_extra": "Other request fields of both models (YAML only), e.g. {repeat_penalty: 1.1}; part of "
        "the cache key",
        "system_prompt": "System turn sent to the teacher before a conversation that has none; not written "
        "into the record (meta.extend.system_prompt says it was used)",
        "require_stop": "Reject a conversation when a new answer or follow-up was cut (finish_reason not 'stop')",
    }

    turns: int = Field(
        3, ge=2, le=20, description="User turns a conversation should have when done (the first one included)"
    )

    # -- the follow-up writer -----------------------------------------------------------------
    writer_backend: Backend | None = Field(
        None, description="Backend of the follow-up writer (none: --backend)"
    )
    writer_model: str | None = Field(
        None, description="Model that writes the follow-up user turns (none: the teacher, --model)"
    )
    writer_base_url: str | None = Field(None, description="API root of the writer (none: --base-url)")
    writer_api_key_env: str | None = Field(
        None, description="Environment variable holding the writer's key (none: as the teacher's)"
    )
    writer_model_path: Path | None = Field(
        None, description="llamacpp: GGUF file of the writer (none: --model-path)"
    )
    writer_temperature: float = Field(
        0.7, ge=0, le=2, description="Writer's sampling temperature (above 0: varied, natural follow-ups)"
    )
    writer_max_tokens: int = Field(256, ge=8, description="Most new tokens of a written follow-up")
    task_types: list[str] = Field(
        default_factory=lambda: list(TASK_IDS),
        description="Kinds of follow-up the writer is asked for, drawn (seeded) per conversation and turn: "
        + ", ".join(TASK_IDS),
    )
    task_seed: int = Field(42, description="Seed of the task-type draw")
    context_chars: int = Field(
        4000,
        ge=200,
        description="Each earlier turn shown to the writer is cut to this many characters (the teacher "
        "always sees the whole conversation)",
    )

    # -- checks on every new turn ---------------------------------------------------------------
    check_language: bool = Field(
        True,
        description="Reject a conversation when language ID finds a new turn (follow-up or answer) not in "
        "the conversation's language, or finds no language it is sure of for an unlabelled one",
    )
    min_lid_score: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Least lid.176 probability of the conversation's language (or a near one) in a new turn",
    )
    lid_min_chars: int = Field(
        20,
        ge=0,
        description="New turns with fewer letters than this (code and URLs removed) skip the language check: "
        "LID means little on a few words",
    )
    echo_similarity: float = Field(
        0.9,
        gt=0,
        le=1,
        description="Reject a follow-up this similar (difflib ratio, case and spacing folded) to an earlier "
        "user turn: an echo, not a follow-up",
    )

    repeat_similarity: float = Field(
        0.8,
        gt=0,
        le=1,
        description="Reject an answer this similar to the answer before it (Jaccard overlap of 5-character "
        "shingles, case and spacing folded; 1: the same text): a repeat, not an answer to the follow-up",
    )

    @field_validator("task_types")
    @classmethod
    def _tasks(cls, value: list[str]) -> list[str]:
        return known_choices(value, TASK_IDS, "task type")

    @field_validator("writer_base_url")
    @classmethod
    def _strip_writer_slash(cls, v: str | None) -> str | None:
        return v.rstrip("/") if v else v

    # -- the two clients ---------------------------------------------------------------------------

    def separate_writer(self) -> bool:
        """True when a --writer-* option names another model or endpoint than the teacher's."""
        return any(getattr(self, name) is not None for name in WRITER_OVERRIDES)

    def writer_llm_config(self) -> LLMConfig:
        """The writer's client config: the teacher's, with the --writer-* options that are set.
        A separate writer never shares the teacher's --cache-id (the cache would mix their answers)."""
        data = self.llm_config().model_dump()
        if not self.separate_writer():
            return LLMConfig.model_validate(data)
        for name in WRITER_OVERRIDES:
            value = getattr(self, name)
            if value is not None:
                data[name.removeprefix("writer_")] = value
        data["cache_id"] = None
        if self.writer_backend == "llamacpp" and self.writer_model is None:
            data["model"] = None  # the GGUF's own name, not the teacher's API model name
        if self.writer_backend == "llamacpp" and self.writer_base_url is None:
            data["base_url"] = None  # the teacher's server; LLMConfig.check refuses one on llamacpp
        return LLMConfig.model_validate(data)

    def answer_request(self, messages: list[dict[str, str]]) -> ChatRequest:
        """The teacher's request for the next answer of ``messages``."""
        return self.request(messages)

    def writer_request(self, messages: list[dict[str, str]]) -> ChatRequest:
        """The writer's request for a follow-up (``messages``: tagengo.extend.prompts.writer_messages)."""
        return ChatRequest.from_messages(
            messages,
            temperature=self.writer_temperature,
            max_tokens=self.writer_max_tokens,
            seed=self.seed,
            extra=dict(self.sampling_extra),
        )
