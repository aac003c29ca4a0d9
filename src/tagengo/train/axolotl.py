"""The Axolotl YAML equivalent to a `tagengo train` config (``tagengo train --print-axolotl``).

Field names and values follow Axolotl's config schema (``axolotl.utils.schemas.config``,
release 0.19): ``sequence_len``, ``sample_packing``, ``train_on_inputs: false`` (loss on
assistant turns only), ``datasets[].type: chat_template`` … The test suite validates the
output against that schema. Axolotl cannot read a GGUF file as a base model: give it the
original model folder or hub name instead (the YAML says so in a comment).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tagengo.train.config import SCHEDULERS, TrainConfig


def _dataset_entry(data: str | Path | None) -> dict[str, Any]:
    """One ``datasets:`` entry for a tagengo dataset folder, a messages JSONL or a ShareGPT JSONL."""
    entry: dict[str, Any] = {"type": "chat_template", "roles_to_train": ["assistant"]}
    if data is None:
        return {"path": "DATA.jsonl", **entry, "field_messages": "messages"}
    p = Path(data)
    if p.is_dir() and (p / "data").is_dir():  # a tagengo dataset folder: Parquet parts
        return {"path": str(p / "data"), "ds_type": "parquet", **entry, "field_messages": "messages"}
    fmt = None
    if p.is_file() and p.suffix != ".parquet":
        from tagengo.io.source import detect_format

        fmt = detect_format(p)
    ds_type = "parquet" if p.suffix == ".parquet" else "json"
    if fmt == "sharegpt":
        return {
            "path": str(p),
            "ds_type": ds_type,
            **entry,
            "field_messages": "conversations",
            "message_property_mappings": {"role": "from", "content": "value"},
        }
    return {"path": str(p), "ds_type": ds_type, **entry, "field_messages": "messages"}


def to_axolotl(
    cfg: TrainConfig, data: str | Path | None = None, output_dir: str | Path = "./out"
) -> dict[str, Any]:
    """The Axolotl config (a dict ready for ``yaml.safe_dump``) that trains like ``cfg``."""
    ax: dict[str, Any] = {
        "base_model": cfg.base_model or "HuggingFaceTB/SmolLM2-135M-Instruct",
        "chat_template": "tokenizer_default" if cfg.chat_template == "tokenizer" else cfg.chat_template,
        "datasets": [_dataset_entry(data)],
        "train_on_inputs": False,
        "sequence_len": cfg.max_length,
        "sample_packing": cfg.packing,
        "pad_to_sequence_len": cfg.packing,
        "micro_batch_size": cfg.micro_batch_size,
        "gradient_accumulation_steps": cfg.gradient_accumulation_steps,
        "num_epochs": cfg.epochs,
        "optimizer": "adamw_torch_fused" if cfg.precision != "fp32" else "adamw_torch",
        "learning_rate": cfg.learning_rate,
        "lr_scheduler": SCHEDULERS[cfg.lr_scheduler],
        "warmup_steps": cfg.warmup_steps,
        "weight_decay": cfg.weight_decay,
        "max_grad_norm": cfg.max_grad_norm,
        "seed": cfg.seed,
        "logging_steps": cfg.logging_steps,
        "output_dir": str(output_dir),
    }
    if cfg.max_steps:
        ax["max_steps"] = cfg.max_steps
    if cfg.precision == "bf16":
        ax["bf16"] = True
    elif cfg.precision == "fp16":
        ax["fp16"] = True
    elif cfg.precision == "auto":
        ax["bf16"] = "auto"
    if cfg.gradient_checkpointing is not None:
        ax["gradient_checkpointing"] = cfg.gradient_checkpointing
    else:
        ax["gradient_checkpointing"] = True  # Axolotl runs on GPUs, where tagengo's default is on
    attention = "flash_attention_2" if cfg.attention == "auto" else cfg.attention
    ax["attn_implementation"] = attention
    if cfg.eval_size > 0:
        ax["val_set_size"] = cfg.eval_size if cfg.eval_size < 1 else int(cfg.eval_size)
        if cfg.eval_steps:
            ax["eval_steps"] = cfg.eval_steps
    if cfg.save_steps:
        ax["save_steps"] = cfg.save_steps
    ax["save_total_limit"] = cfg.save_total_limit
    if cfg.adapter == "lora":
        ax.update(
            {
                "adapter": "lora",
                "lora_r": cfg.lora.rank,
                "lora_alpha": cfg.lora.alpha,
                "lora_dropout": cfg.lora.dropout,
                "lora_target_modules": list(cfg.lora.targets),
            }
        )
    return ax


def axolotl_yaml(cfg: TrainConfig, data: str | Path | None = None, output_dir: str | Path = "./out") -> str:
    """``to_axolotl`` as YAML text, with a header saying where it came from."""
    import yaml

    head = "# Axolotl config written by `tagengo train --print-axolotl` (Axolotl 0.19 schema).\n"
    if cfg.base_model and cfg.base_model.endswith(".gguf"):
        head += (
            "# Axolotl does not load GGUF files: set base_model to the original model folder or hub name.\n"
        )
    return head + yaml.safe_dump(to_axolotl(cfg, data, output_dir), sort_keys=False, allow_unicode=True)
