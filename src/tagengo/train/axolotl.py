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

from tagengo.io.axolotl import dataset_entry
from tagengo.train.config import SCHEDULERS, TrainConfig


def _dataset_entry(data: str | Path | None) -> dict[str, Any]:
    """The ``datasets:`` entry for what ``tagengo train --input`` was given: a tagengo dataset
    folder (its Parquet parts, listed: Axolotl reads a bare folder as a saved ``datasets``
    folder or a hub name), a messages or ShareGPT JSONL, or a Parquet file."""
    if data is None:
        return dataset_entry("DATA.jsonl", "messages")
    p = Path(data)
    if p.is_dir() and (p / "data").is_dir():  # a tagengo dataset folder: Parquet parts
        parts = sorted(str(f) for f in (p / "data").glob("part-*.parquet"))
        return dataset_entry(str(p / "data"), "messages", ds_type="parquet", data_files=parts or None)
    if p.suffix == ".parquet":
        return dataset_entry(str(p), "messages", ds_type="parquet")
    fmt = None
    if p.is_file():
        from tagengo.io.source import detect_format

        fmt = detect_format(p)
    return dataset_entry(str(p), "sharegpt" if fmt == "sharegpt" else "messages", ds_type="json")


def _runtime(cfg: TrainConfig) -> tuple[str, bool, str]:
    """(device kind, gradient checkpointing, attention) as ``tagengo train`` would pick them for
    ``cfg`` on this machine: ``auto`` is resolved here, so a CPU machine gets no flash attention
    and no gradient checkpointing (what tagengo itself would train with), a GPU the defaults
    tagengo uses there. Explicit values (the suzume-2024 preset's) are kept as given, and a
    config that asks for flash attention is taken for a GPU run."""
    import importlib.util

    device = cfg.device
    if device == "auto" and cfg.attention == "flash_attention_2":
        device = "cuda"  # flash attention exists on GPUs only: a config asking for it is a GPU run
    if device == "auto":
        try:
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        except ImportError:  # the train extra is missing: Axolotl runs on GPUs
            device = "cuda"
    gpu = device.startswith("cuda")
    checkpointing = gpu if cfg.gradient_checkpointing is None else cfg.gradient_checkpointing
    attention = cfg.attention
    if attention == "auto":
        attention = "flash_attention_2" if gpu and importlib.util.find_spec("flash_attn") else "sdpa"
    return ("gpu" if gpu else "cpu"), checkpointing, attention


def to_axolotl(
    cfg: TrainConfig, data: str | Path | None = None, output_dir: str | Path = "./out"
) -> dict[str, Any]:
    """The Axolotl config (a dict ready for ``yaml.safe_dump``) that trains like ``cfg``."""
    kind, checkpointing, attention = _runtime(cfg)
    gpu = kind == "gpu"
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
        "optimizer": "adamw_torch_fused" if gpu and cfg.precision != "fp32" else "adamw_torch",
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
    elif cfg.precision == "auto" and gpu:
        ax["bf16"] = "auto"  # on CPU, auto is fp32 (no key), as tagengo trains there
    ax["gradient_checkpointing"] = checkpointing
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
    if _runtime(cfg)[0] == "cpu":
        head += (
            "# Resolved for a CPU, as tagengo trains here (sdpa, no gradient checkpointing, fp32); on a GPU\n"
            "# machine (or with --device cuda) the YAML asks for bf16, gradient checkpointing and flash\n"
            "# attention where flash-attn is installed.\n"
        )
    if cfg.base_model and cfg.base_model.endswith(".gguf"):
        head += (
            "# Axolotl does not load GGUF files: set base_model to the original model folder or hub name.\n"
        )
    return head + yaml.safe_dump(to_axolotl(cfg, data, output_dir), sort_keys=False, allow_unicode=True)
