"""``EvalConfig``: what ``tagengo eval`` runs, on which model, against which reference.

Every default shows in ``tagengo eval --help`` and in the run's manifest. The model is a local
transformers folder (``--local-model``, what ``tagengo train`` writes), or anything tagengo's
client layer reaches (``--llm-*``: any OpenAI-compatible server, Azure, a GGUF through
in-process llama.cpp; by default the bundled SmolLM2-135M), as in ``tagengo bench answer``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tagengo.eval.tasks import GROUPS
from tagengo.llm.config import LLMConfig, check_backend, infer_backend, local_llm

Direction = Literal["from-en", "into-en"]


class EvalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())
    #: Old names, accepted with a note until the next release (tagengo.run.options, docs/options.md).
    RENAMED: ClassVar[dict[str, str]] = {"max_new_tokens": "max_tokens"}

    tasks: list[str] = Field(
        default_factory=lambda: list(GROUPS),
        description="Task groups (summarization: ROUGE-L; translation: chrF and BLEU; knowledge: "
        "multiple-choice accuracy) and lm-eval task names (global_mmlu_full_de, belebele_deu_Latn ...: "
        "their data must be on this machine)",
    )
    languages: list[str] | None = Field(
        None, description="Languages of the groups (default: every <language>.jsonl the data folder has)"
    )
    data: Path | None = Field(
        None,
        description="The groups' data folder: summarization/, translation/, knowledge/ with <language>.jsonl "
        "(docs/eval.md). Default: tagengo's own 3-item sets in en, de, es, ja (a smoke test, not a benchmark)",
    )
    include_path: Path | None = Field(
        None, description="A folder of your own lm-eval task YAMLs (lm-eval's --include_path)"
    )
    llm: LLMConfig = Field(
        default_factory=local_llm, description="The model, through tagengo's client layer."
    )
    local_model: Path | None = Field(
        None,
        description="A local transformers model folder (what tagengo train writes), a LoRA adapter folder, "
        "or a .gguf file read by transformers, run by lm-eval's hf model instead of --llm-* (needs the "
        "train extra)",
    )
    model_id: str | None = Field(
        None,
        description="The model's name in the table and under models/ (default: its folder or model name)",
    )
    base_model: Path | None = Field(
        None,
        description="The reference row: the model before training (a transformers folder, or a .gguf file "
        "run through llama.cpp with the --llm-* settings)",
    )
    base_model_id: str | None = Field(None, description="The reference row's name (default: from its path)")
    limit: int | None = Field(None, ge=1, description="Only the first N items of every task (a quick check)")
    num_fewshot: int = Field(
        0, ge=0, description="Few-shot examples per item, from <language>.dev.jsonl when it exists"
    )
    knowledge_mode: Literal["auto", "loglikelihood", "generate"] = Field(
        "auto",
        description="loglikelihood: the A-D letter the model finds most likely (needs a local model); "
        "generate: the first letter of its answer; auto: loglikelihood when every model is local",
    )
    translation_directions: list[Direction] = Field(
        default_factory=lambda: ["from-en", "into-en"],
        description="from-en: English into each language; into-en: each language into English",
    )
    max_tokens: int = Field(128, ge=1, description="Most new tokens of a summary or a translation")
    batch_size: int = Field(8, ge=1, description="Items per forward pass of a local model")
    device: str | None = Field(
        None, description="Torch device of a local model (default: cuda when there is one, else cpu)"
    )
    chat_template: bool | None = Field(
        None,
        description="Wrap local-model prompts in the tokenizer's chat template (default: when it has one; "
        "chat servers always get messages)",
    )
    seed: int = Field(1234, description="lm-eval's random seeds (few-shot sampling) and the request seed")
    bootstrap_iters: int = Field(
        1000, ge=0, description="lm-eval's bootstrap resamples for standard errors (0: none)"
    )

    @field_validator("llm", mode="before")
    @classmethod
    def _pick_backend(cls, v: object) -> object:
        return infer_backend(v)

    @field_validator("tasks")
    @classmethod
    def _tasks(cls, v: list[str]) -> list[str]:
        out = list(dict.fromkeys(t.strip() for t in v if t.strip()))
        if not out:
            raise ValueError("give at least one task group or lm-eval task")
        return out

    @field_validator("languages")
    @classmethod
    def _languages(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        from tagengo.lang.bench_names import normalize_code

        out = []
        for item in v:
            code = normalize_code(item.strip()) if item.strip() else None
            if code is None:
                raise ValueError(f"{item!r} names no language (use ISO codes such as de, ja)")
            out.append(code)
        return list(dict.fromkeys(out)) or None

    @field_validator("translation_directions")
    @classmethod
    def _directions(cls, v: list[str]) -> list[str]:
        out = list(dict.fromkeys(v))
        if not out:
            raise ValueError("give from-en, into-en or both")
        return out

    @model_validator(mode="after")
    def _check(self) -> EvalConfig:
        check_backend(self.llm, "llm")
        return self
