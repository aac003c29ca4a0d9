"""`tagengo train --method dpo|orpo`: preference training on (prompt, chosen, rejected) pairs
through TRL's ``DPOTrainer`` (Rafailov et al. 2023, "Direct Preference Optimization") and
``ORPOTrainer`` (Hong et al. 2024, "ORPO: Monolithic Preference Optimization without Reference
Model"; ``trl.experimental.orpo`` in TRL 1.x).

The same ``TrainConfig`` drives it: its fields map onto TRL's ``DPOConfig`` / ``ORPOConfig``
(both ``transformers.TrainingArguments``) one for one (``micro_batch_size`` is
``per_device_train_batch_size``, ``lr_scheduler`` goes through the same table as SFT), plus
``beta``. The base model, the tokenizer and its chat template, LoRA and the runtime (device,
precision, attention) are set up exactly as for SFT. Packing does not apply. Output folder::

    OUT/
      model/             the trained model (or LoRA adapter) + tokenizer and chat template
      checkpoints/       TRL/transformers checkpoints (with --save-steps), resumable
      metrics.jsonl      one line per log: step, loss, rewards/chosen, rewards/rejected,
                         rewards/margins, rewards/accuracies, lr, grad_norm (TRL's names)
      loss.png           loss and reward margin per step
      dropped.jsonl      pairs left out, with file, line and field
      manifest.json      config, counts, runtime, final metrics, versions, times

With DPO and a LoRA adapter the reference model is the base with the adapter switched off
(TRL's way: no second copy of the weights); with full training TRL keeps a frozen copy.

The pairs reach TRL encoded already (train/pairs.py ``tokenize_pair``, laid out as TRL's own
encoding lays them out): TRL renders the chat template and encodes the result whole, so message
text that spells ``<|im_end|>`` would become the end-of-turn marker. ``TagengoDPOTrainer`` and
``TagengoORPOTrainer`` take those ids instead of encoding again; on pairs that spell no special
token the ids are the ones TRL makes (tests/train/test_pair_tokens.py compares them). Pairs whose
chosen and rejected answers are the same text (``tagengo.pairs_check``) are dropped as
``same_answer``.
"""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tagengo.errors import ConfigError
from tagengo.run.dataset import atomic_write_json, atomic_write_text
from tagengo.run.manifest import TRAIN_PACKAGES, package_versions
from tagengo.train.config import SCHEDULERS, TrainConfig, capped_warmup
from tagengo.train.pairs import PreferenceData, load_pairs

IGNORE_INDEX = -100


def _args(cfg: TrainConfig, out: Path, rt: Any, progress: bool, has_eval: bool, n_train: int) -> Any:
    # The run's optimizer steps, as TRL will count them: warm-up is capped to the run as SFT's is
    # (tagengo.train.config.capped_warmup), or a short run would spend every step at a rate near 0.
    per_step = max(1, cfg.micro_batch_size * cfg.gradient_accumulation_steps)
    total = cfg.max_steps or max(1, math.ceil(n_train / per_step) * max(1, math.ceil(cfg.epochs)))
    common: dict[str, Any] = {
        "output_dir": str(out / "checkpoints"),
        "per_device_train_batch_size": cfg.micro_batch_size,
        "per_device_eval_batch_size": cfg.micro_batch_size,
        "gradient_accumulation_steps": cfg.gradient_accumulation_steps,
        "learning_rate": cfg.learning_rate,
        "lr_scheduler_type": SCHEDULERS[cfg.lr_scheduler],
        "warmup_steps": capped_warmup(cfg.warmup_steps, total),
        "weight_decay": cfg.weight_decay,
        "max_grad_norm": cfg.max_grad_norm,
        "num_train_epochs": cfg.epochs,
        "max_steps": cfg.max_steps or -1,
        "seed": cfg.seed,
        "data_seed": cfg.seed,
        "logging_steps": cfg.logging_steps,
        "save_strategy": "steps" if cfg.save_steps else "no",
        "save_steps": cfg.save_steps or 500,
        "save_total_limit": cfg.save_total_limit,
        "eval_strategy": ("steps" if cfg.eval_steps else "epoch") if has_eval else "no",
        **({"eval_steps": cfg.eval_steps} if has_eval and cfg.eval_steps else {}),
        "bf16": rt.precision == "bf16",
        "fp16": rt.precision == "fp16",
        "use_cpu": rt.device == "cpu",
        "gradient_checkpointing": rt.gradient_checkpointing,
        "report_to": [],
        "disable_tqdm": not progress,
        "beta": cfg.beta,
        "max_length": cfg.max_length,
    }
    if cfg.method == "dpo":
        from trl import DPOConfig

        return DPOConfig(**common)
    from trl.experimental.orpo import ORPOConfig

    return ORPOConfig(**common)


def orpo_features(
    prompt: list[int],
    chosen: list[int],
    rejected: list[int],
    bos_id: int | None,
    eos_id: int,
    max_length: int,
) -> dict[str, list[int]]:
    """The row ``ORPOTrainer.tokenize_row`` (TRL 1.x, decoder-only) makes from its own encoding,
    made from ids encoded already: the bos before the prompt and the eos after each answer where
    missing, the answer cut to ``max_length``, labels -100 over the prompt."""
    from trl.experimental.utils import add_bos_token_if_needed, add_eos_token_if_needed

    def side(answer: list[int]) -> dict[str, list[int]]:
        return {
            "prompt_input_ids": list(prompt),
            "prompt_attention_mask": [1] * len(prompt),
            "input_ids": list(answer),
            "attention_mask": [1] * len(answer),
        }

    n = len(prompt)
    prompt_part = {"prompt_input_ids": list(prompt), "prompt_attention_mask": [1] * n}
    prompt_part, c, r = add_bos_token_if_needed(bos_id, n, prompt_part, n, side(chosen), n, side(rejected))
    c, r = add_eos_token_if_needed(eos_id, c, r)
    row: dict[str, list[int]] = dict(prompt_part)
    for name, part in (("chosen", c), ("rejected", r)):
        keep = max(0, max_length - len(part["prompt_input_ids"]))
        answer, mask = part["input_ids"][:keep], part["attention_mask"][:keep]
        row[f"{name}_input_ids"] = part["prompt_input_ids"] + answer
        row[f"{name}_attention_mask"] = part["prompt_attention_mask"] + mask
        row[f"{name}_labels"] = [IGNORE_INDEX] * len(part["prompt_input_ids"]) + answer
    return row


def trainer_class(method: str) -> Any:
    """TRL's DPO or ORPO trainer, taking pairs encoded by ``tokenize_pair`` (rows with
    ``prompt_ids``, ``chosen_ids``, ``rejected_ids``) as they are; other rows go through TRL."""
    if method == "dpo":
        from trl import DPOTrainer

        class TagengoDPOTrainer(DPOTrainer):
            def _prepare_dataset(
                self, dataset: Any, processing_class: Any, args: Any, dataset_name: str
            ) -> Any:
                if "prompt_ids" not in dataset.column_names:
                    return super()._prepare_dataset(dataset, processing_class, args, dataset_name)
                # TRL's one rule after encoding: a prompt that fills max_length leaves no answer.
                if args.max_length is not None and args.truncation_mode == "keep_start":
                    dataset = dataset.filter(lambda row: len(row["prompt_ids"]) < args.max_length)
                return dataset

        return TagengoDPOTrainer
    from trl.experimental.orpo import ORPOTrainer

    class TagengoORPOTrainer(ORPOTrainer):
        def tokenize_row(self, feature: dict[str, Any], model: Any = None) -> dict:
            if "prompt_ids" not in feature or self.is_encoder_decoder:
                return super().tokenize_row(feature, model)
            tok = self.processing_class
            return orpo_features(
                feature["prompt_ids"],
                feature["chosen_ids"],
                feature["rejected_ids"],
                tok.bos_token_id,
                tok.eos_token_id,
                self.max_length,
            )

    return TagengoORPOTrainer


def _plot(history: list[dict[str, Any]], path: Path, method: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    logs = [h for h in history if "loss" in h]
    if not logs:
        return
    fig, ax = plt.subplots(figsize=(6, 3.5))
    steps = [h["step"] for h in logs]
    ax.plot(steps, [h["loss"] for h in logs], label=f"{method} loss")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss")
    if any("rewards/margins" in h for h in logs):
        ax2 = ax.twinx()
        ax2.plot(steps, [h.get("rewards/margins", float("nan")) for h in logs], "C1--", label="reward margin")
        ax2.set_ylabel("rewards/chosen - rewards/rejected")
        ax2.legend(loc="upper right")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def train_preference(
    data: str | Path, out: str | Path, cfg: TrainConfig, *, resume: bool = True, progress: bool | None = None
) -> Any:
    """Train ``cfg.base_model`` with ``cfg.method`` (dpo or orpo) on the pairs in ``data``.

    Returns a ``tagengo.train.common.TrainResult`` whose ``history`` holds TRL's logs (``loss``,
    ``rewards/chosen``, ``rewards/rejected``, ``rewards/margins`` ...). Raises ``ConfigError`` /
    ``InputError`` with a sentence for the user."""
    from tagengo.train.common import TrainResult, save_model, seed_all
    from tagengo.train.model import load_tokenizer, resolve_base, resolve_runtime

    if cfg.method not in ("dpo", "orpo"):
        raise ConfigError(f"train_preference is for --method dpo or orpo, not {cfg.method}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    seed_all(cfg.seed)
    rt = resolve_runtime(cfg)
    if rt.flatten:
        raise ConfigError(
            "--attention flash_attention_2 (padding-free) is not used for dpo/orpo here; use sdpa"
        )
    base = resolve_base(cfg.base_model)
    tokenizer = load_tokenizer(base, cfg.chat_template)
    pairs = load_pairs(data, eval_size=cfg.eval_size, seed=cfg.seed, tokenizer=tokenizer)
    atomic_write_text(
        out / "dropped.jsonl",
        "".join(json.dumps({"id": i, "reason": r}, ensure_ascii=False) + "\n" for i, r in pairs.dropped),
    )
    trainer = _trainer(cfg, out, base, rt, tokenizer, pairs, progress)
    from transformers.trainer_utils import get_last_checkpoint

    ckpt = (
        get_last_checkpoint(str(out / "checkpoints")) if resume and (out / "checkpoints").is_dir() else None
    )
    t0 = time.perf_counter()
    trainer.train(resume_from_checkpoint=ckpt)
    elapsed = time.perf_counter() - t0
    history = [dict(h) for h in trainer.state.log_history if "step" in h]
    atomic_write_text(out / "metrics.jsonl", "".join(json.dumps(h) + "\n" for h in history))
    _plot(history, out / "loss.png", cfg.method)
    model_dir = save_model(trainer.model, tokenizer, out / "model", base, cfg.adapter)
    manifest = {
        **_manifest(data, cfg, base, rt, pairs, trainer.state.global_step, history, elapsed, ckpt),
        "started": started,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    atomic_write_json(out / "manifest.json", manifest)
    return TrainResult(
        out=out, model_dir=model_dir, steps=trainer.state.global_step, history=history, manifest=manifest
    )


def _trainer(
    cfg: TrainConfig,
    out: Path,
    base: Path,
    rt: Any,
    tokenizer: Any,
    pairs: PreferenceData,
    progress: bool | None,
) -> Any:
    """TRL's DPO or ORPO trainer over the base model (with a LoRA adapter when asked) and the pairs."""
    import sys

    from datasets import Dataset

    from tagengo.train.model import add_lora, load_model

    model = load_model(base, rt, tokenizer)
    if cfg.adapter == "lora":
        model = add_lora(model, cfg)
    show = sys.stderr.isatty() if progress is None else progress
    args = _args(cfg, out, rt, show, bool(pairs.eval), len(pairs.train))
    kw: dict[str, Any] = {
        "model": model,
        "args": args,
        "train_dataset": Dataset.from_list(pairs.train),
        "eval_dataset": Dataset.from_list(pairs.eval) if pairs.eval else None,
        "processing_class": tokenizer,
    }
    return trainer_class(cfg.method)(**kw)


def _manifest(
    data: str | Path,
    cfg: TrainConfig,
    base: Path,
    rt: Any,
    pairs: PreferenceData,
    steps: int,
    history: list[dict[str, Any]],
    elapsed: float,
    ckpt: str | None,
) -> dict[str, Any]:
    """manifest.json's fields but the times: config, runtime, counts, throughput, first and last log."""
    logs = [h for h in history if "loss" in h]
    return {
        "stage": "train",
        "method": cfg.method,
        "config": cfg.model_dump(mode="json"),
        "base_model_path": str(base.resolve()),
        "data": str(data),
        "runtime": {
            "device": rt.device,
            "precision": rt.precision,
            "gradient_checkpointing": rt.gradient_checkpointing,
            "attention": rt.attention,
        },
        "counts": {**pairs.counts(), "steps": steps},
        "throughput": {
            "seconds": elapsed,
            "pairs_per_s": len(pairs.train) * max(cfg.epochs, 0) / elapsed if elapsed else 0,
        },
        "first": logs[0] if logs else {},
        "final": logs[-1] if logs else {},
        "resumed_from": ckpt,
        "versions": {**package_versions(*TRAIN_PACKAGES), **_trl_version()},
    }


def _trl_version() -> dict[str, str]:
    from importlib.metadata import version

    return {"trl": version("trl")}
