"""Training speed of `tagengo train` against TRL's SFTTrainer, on the same data in the same run.

Data: N conversations of random token ids with a Tagengo-like length mix (log-normal lengths,
median MEDIAN tokens, sigma 0.7, clipped to 32..MAX_LENGTH), 10-40% of each example prompt and
the rest completion (the only tokens with a loss). Every trainer does one epoch over it with
the same model, precision, attention and rows per step; the figure is real (non-padding)
tokens per second of training, and the bound is the best TRL configuration (goal: >= 1x on
CPU; the GPU goal of issue 12 is >= 2x and >= 35% MFU, measured when a GPU is at hand).

Trainers compared:
  tagengo            packed rows (best-fit), padding-free positions, loss on completion tokens
  trl padding        SFTTrainer defaults except checkpointing off (one example per row, padded)
  trl packing        SFTTrainer packing=True (BFD, padding-free), checkpointing off

Default model: the bundled SmolLM2-135M-Instruct (GGUF, dequantized to fp32 by transformers).

    .venv/bin/python benchmarks/train_bench.py --examples 64 --median 96 --max-length 512 --batch 4
"""

from __future__ import annotations

import argparse
import math
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from tagengo.llm.backends.hf_model import causal_lm_from_path
from tagengo.train.config import TrainConfig
from tagengo.train.data import IGNORE_INDEX, Example, Prepared
from tagengo.train.model import load_tokenizer, resolve_base


def make_examples(n: int, median: int, max_length: int, vocab: int, seed: int) -> list[Example]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        length = int(min(max(median * math.exp(rng.gauss(0, 0.7)), 32), max_length))
        prompt = max(1, int(length * rng.uniform(0.1, 0.4)))
        ids = [rng.randrange(100, vocab) for _ in range(length)]
        labels = [IGNORE_INDEX] * prompt + ids[prompt:]
        out.append(Example(f"ex{i}", ids, labels))
    return out


def run_tagengo(
    model_dir: Path, examples: list[Example], args: argparse.Namespace, work: Path
) -> dict[str, Any]:
    from tagengo.train.trainer import train

    cfg = TrainConfig(
        base_model=str(model_dir),
        max_length=args.max_length,
        micro_batch_size=args.batch,
        gradient_accumulation_steps=1,
        learning_rate=1e-5,
        warmup_steps=0,
        epochs=1,
        logging_steps=10_000,
        precision="fp32" if args.device == "cpu" else "auto",
        gradient_checkpointing=False,
        device=args.device,
    )
    prepared = Prepared(train=examples, eval=[], read=len(examples))
    res = train("(synthetic)", work / "tagengo", cfg, resume=False, progress=False, prepared=prepared)
    t = res.manifest["throughput"]
    return {"tokens": t["tokens"], "seconds": t["seconds"], "steps": res.steps}


def run_trl(
    model_dir: Path,
    tokenizer: Any,
    examples: list[Example],
    args: argparse.Namespace,
    work: Path,
    packing: bool,
) -> dict[str, Any]:
    import torch
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    ds = Dataset.from_list(
        [
            {"input_ids": e.input_ids, "assistant_masks": [int(x != IGNORE_INDEX) for x in e.labels]}
            for e in examples
        ]
    )
    cpu = args.device == "cpu"
    conf = SFTConfig(
        output_dir=str(work / f"trl-{packing}"),
        per_device_train_batch_size=args.batch,
        gradient_accumulation_steps=1,
        num_train_epochs=1,
        learning_rate=1e-5,
        warmup_steps=0,
        max_length=args.max_length,
        packing=packing,
        gradient_checkpointing=False,
        bf16=not cpu,
        use_cpu=cpu,
        logging_steps=10_000,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        seed=0,
    )
    model = causal_lm_from_path(
        model_dir, dtype=torch.float32 if cpu else torch.bfloat16, attn_implementation="sdpa"
    )
    trainer = SFTTrainer(model=model, args=conf, train_dataset=ds, processing_class=tokenizer)
    t0 = time.perf_counter()
    out = trainer.train()
    seconds = time.perf_counter() - t0
    return {"tokens": sum(len(e.input_ids) for e in examples), "seconds": seconds, "steps": out.global_step}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--examples", type=int, default=64)
    ap.add_argument("--median", type=int, default=96, help="median example length, tokens")
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--batch", type=int, default=4, help="rows per optimizer step")
    ap.add_argument("--device", default="cpu")
    ap.add_argument(
        "--model", default=None, help="a local model folder or .gguf (default: bundled SmolLM2-135M)"
    )
    ap.add_argument("--skip-trl", action="store_true")
    args = ap.parse_args()

    import torch

    base = resolve_base(args.model)
    tokenizer = load_tokenizer(base)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model_dir = base
        if base.suffix == ".gguf":  # dequantize once; every trainer then loads the same folder
            model_dir = work / "base"
            causal_lm_from_path(base).save_pretrained(model_dir)
            tokenizer.save_pretrained(model_dir)
        examples = make_examples(args.examples, args.median, args.max_length, len(tokenizer), seed=0)
        total = sum(len(e.input_ids) for e in examples)
        print(
            f"{args.examples} examples, {total:,} tokens (median {args.median}, max {args.max_length}), "
            f"{args.batch} rows/step, {args.device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
            f"{os.cpu_count()} cores"
        )
        rows = [("tagengo (packed, padding-free)", run_tagengo(model_dir, examples, args, work))]
        if not args.skip_trl:
            rows.append(
                ("TRL SFTTrainer, padding", run_trl(model_dir, tokenizer, examples, args, work, False))
            )
            rows.append(
                ("TRL SFTTrainer, packing=True", run_trl(model_dir, tokenizer, examples, args, work, True))
            )
    best_trl = max((r["tokens"] / r["seconds"] for name, r in rows if name.startswith("TRL")), default=None)
    print("\n| trainer | steps | real tokens | seconds | real tokens/s | x best TRL |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, r in rows:
        tps = r["tokens"] / r["seconds"]
        ratio = f"{tps / best_trl:.2f}" if best_trl else "-"
        print(f"| {name} | {r['steps']} | {r['tokens']:,} | {r['seconds']:.1f} | {tps:,.1f} | {ratio} |")


if __name__ == "__main__":
    main()
