"""The sampling options every stage that calls a model shares, as pydantic blocks on top of
``LLMConfig`` (flattened, so the flags read --model and --temperature, not --llm-model):

* :class:`SamplingConfig`: temperature, max_tokens, seed, sampling_extra, the client part
  (:meth:`~SamplingConfig.llm_config`) and the :class:`~tagengo.llm.types.ChatRequest` they make
  (translate, reverse);
* :class:`AnswerConfig`: adds top_p, stop strings, a system prompt and require_stop, for a
  teacher that answers conversations (generate, extend).

Every field is part of the request, so of the cache key. A stage words a shared option for
what it means there through ``option_help`` (field name -> description): the --help text and
the docs tables read it, the field itself (type, default, bounds, YAML key) stays the one here.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from pydantic import Field

from tagengo.llm.config import LLMConfig
from tagengo.llm.types import ChatRequest


class SamplingConfig(LLMConfig):
    """``LLMConfig`` plus the sampling settings every LLM stage shares (all part of the cache key)."""

    #: This stage's description of shared fields (field name -> text), where it says more than
    #: the generic one (whose answers, which model, which meta key).
    option_help: ClassVar[dict[str, str]] = {}

    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature (0: greedy)")
    max_tokens: int = Field(2048, ge=1, description="Most new tokens per call")
    seed: int | None = Field(None, description="Sampling seed, where the backend honours one")
    sampling_extra: dict[str, Any] = Field(
        default_factory=dict,
        description="Other request fields (YAML only), e.g. {repeat_penalty: 1.1}; part of the cache key",
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if not cls.option_help:
            return
        fields = cls.model_fields
        unknown = set(cls.option_help) - set(fields)
        if unknown:
            raise TypeError(f"{cls.__name__}.option_help names no field: {', '.join(sorted(unknown))}")
        for name, text in cls.option_help.items():
            info = copy.copy(fields[name])  # the parent's FieldInfo keeps its own text
            info.description = text
            fields[name] = info
        cls.model_rebuild(force=True)

    def llm_config(self) -> LLMConfig:
        """The client part of this config."""
        return LLMConfig.model_validate({k: getattr(self, k) for k in LLMConfig.model_fields})

    def sampling(self) -> dict[str, Any]:
        """The ``ChatRequest`` fields this config sets."""
        return {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "extra": dict(self.sampling_extra),
        }

    def request(self, messages: list[dict[str, str]], *, max_tokens: int | None = None) -> ChatRequest:
        """The request for ``messages`` with this config's sampling (``max_tokens``: another cap)."""
        kw = self.sampling()
        if max_tokens:
            kw["max_tokens"] = max_tokens
        return ChatRequest.from_messages(messages, **kw)


class AnswerConfig(SamplingConfig):
    """``SamplingConfig`` plus what a teacher answering conversations takes: nucleus sampling,
    stop strings, a system prompt for conversations without one, and whether a cut answer is
    rejected (generate, extend)."""

    top_p: float | None = Field(None, gt=0, le=1, description="Nucleus sampling (none: the server's default)")
    stop: list[str] = Field(default_factory=list, description="Stop strings")
    system_prompt: str | None = Field(
        None,
        description="System turn sent before a conversation that has none; not written into the record "
        "(its meta says it was used)",
    )
    require_stop: bool = Field(
        True,
        description="Reject an answer whose finish_reason is not 'stop' (cut by max_tokens, content filter...)",
    )

    def sampling(self) -> dict[str, Any]:
        return {**super().sampling(), "top_p": self.top_p, "stop": self.stop or None}
