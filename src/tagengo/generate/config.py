"""Configuration of `tagengo generate`: how to reach the teacher (every ``LLMConfig``
field, as top-level flags: --backend, --model, --base-url, ...) plus sampling and the
rules for which answers are kept.

Defaults follow Tagengo (section 3.1): temperature 0, at most 2,048 new tokens, answers
that were not finished or not given are removed.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from tagengo.llm.answer import AnswerLanguageConfig
from tagengo.llm.config import LLMConfig
from tagengo.llm.sampling import AnswerConfig


class GenerateConfig(AnswerConfig):
    """``LLMConfig`` (flattened, so the flags read --model, not --llm-model) plus sampling
    (:class:`~tagengo.llm.sampling.AnswerConfig`) and what to do with a trailing assistant turn."""

    option_help: ClassVar[dict[str, str]] = {
        "temperature": "Sampling temperature (0: greedy, as Tagengo)",
        "max_tokens": "Most new tokens per answer (Tagengo: 2,048)",
        "system_prompt": "System turn sent before a conversation that has none. Not written into the record "
        "(it is scaffolding for the teacher); meta.generation.system_prompt says it was used",
        "require_stop": "Reject answers whose finish_reason is not 'stop' (cut by max_tokens, content filter...)",
    }

    trailing_assistant: Literal["drop", "skip", "reject"] = Field(
        "drop",
        description="A record that already ends with an assistant turn: drop those turns and answer the user "
        "turn before them (the dropped text goes to meta.generation.dropped_turns); skip: keep the record "
        "as it is without a call; reject: reject it",
    )
    gate: AnswerLanguageConfig = Field(
        default_factory=AnswerLanguageConfig,
        description="The answer-language check: an answer lid.176 finds confidently in another language than "
        "the row's is rejected ('wrong language')",
    )
    routing: Path | None = Field(
        None,
        description="A routing table of `tagengo route` (routing.json or its folder): each row goes to the "
        "teacher of its language (meta.generation.teacher), a language the table lacks to its default "
        "teacher. The teachers' backend, model, URL, key variable and prices come from the table, every "
        "other option (sampling, concurrency, cache, budget per teacher, --batch) from here",
    )

    def llm_config(self) -> LLMConfig:
        """The teacher's client config; with ``routing``, the table's default teacher's."""
        own = super().llm_config()
        if self.routing is None:
            return own
        from tagengo.run.routing_table import RoutingTable

        table = RoutingTable.load(self.routing)
        return table.llm_config(table.default, own)

    def teacher_configs(self) -> dict[str, LLMConfig]:
        """With ``routing``: every teacher of the table -> its client config (else {})."""
        if self.routing is None:
            return {}
        from tagengo.run.routing_table import RoutingTable

        table = RoutingTable.load(self.routing)
        own = super().llm_config()
        return {name: table.llm_config(name, own) for name in table.teachers}
