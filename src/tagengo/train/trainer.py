"""The training loop of `tagengo train`: supervised fine-tuning on assistant tokens.

A plain PyTorch loop (nanoGPT-sized), so every choice is visible: packed rows with a
block-diagonal mask (``packing.py``), AdamW with warm-up then cosine/linear decay
(transformers' schedulers), gradient accumulation whose loss is the mean over every assistant
token of the optimizer step (not a mean of per-micro-batch means, which would weight short
micro batches up), gradient clipping, eval loss on a held-out split, and resumable
checkpoints. Output folder::

    OUT/
      model/                    the trained model (full) or LoRA adapter + tokenizer and chat template
      checkpoints/step-N/       trainable weights, optimizer, scheduler, RNG and data position
      metrics.jsonl             one line per log: step, loss, lr, grad_norm, tokens/s, eval_loss
      loss.png                  the loss curve
      dropped.jsonl             conversations left out, with the reason
      manifest.json             config, counts, runtime (device, precision, attention), versions, times
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import shutil
import sys
import time
import warnings as _warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tagengo.errors import ConfigError
from tagengo.run.dataset import atomic_write_json, atomic_write_text
from tagengo.run.manifest import TRAIN_PACKAGES, package_versions
from tagengo.train.common import TrainResult, save_model, seed_all
from tagengo.train.config import TrainConfig, capped_warmup
from tagengo.train.data import IGNORE_INDEX, Example, Prepared, load_dataset
from tagengo.train.model import (
    Runtime,
    add_lora,
    added_tokens,
    embedding_modules,
    load_model,
    load_tokenizer,
    resolve_base,
    resolve_runtime,
)
from tagengo.train.packing import collate, pack_bins, shift_labels, unpacked_bins


class TrainWarning(UserWarning):
    """A run finished but did not train as asked (the weights did not change, steps were skipped)."""


def lr_factor(step: int, *, warmup: int, total: int, kind: str) -> float:
    """The share of the peak learning rate used by optimizer step ``step`` (0-based).

    Warm-up is linear and its first step already moves the weights: step s < warmup uses
    (s + 1) / (warmup + 1) of the peak (transformers' warm-up starts at exactly 0, which wastes a
    step and, on a run of one step, trains nothing). Then cosine or linear decay towards 0 over
    the rest of the run, or constant.
    """
    if step < warmup:
        return (step + 1) / (warmup + 1)
    if kind == "constant":
        return 1.0
    progress = (step - warmup) / max(1, total - warmup)
    if kind == "linear":
        return max(0.0, 1.0 - progress)
    return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def _lr_schedule(optimizer: Any, *, warmup: int, total: int, kind: str) -> Any:
    import functools

    import torch

    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, functools.partial(lr_factor, warmup=warmup, total=total, kind=kind)
    )


class _WeightProbe:
    """A strided sample of every trainable tensor (at most 256 values each), to tell after the
    run whether the optimizer changed anything. Cheap enough for an 8B model (a few MB)."""

    def __init__(self, params: list[Any]) -> None:
        self.params = params
        self.before = [self._sample(p) for p in params]

    @staticmethod
    def _sample(p: Any) -> Any:
        flat = p.detach().reshape(-1)
        return flat[:: max(1, flat.numel() // 256)][:256].clone()

    def changed(self) -> bool:
        import torch

        return any(not torch.equal(b, self._sample(p)) for b, p in zip(self.before, self.params, strict=True))


def _unchanged_reason(steps_run: int, nonfinite: int, zero_grad: int, zero_lr: int, rt: Runtime) -> str:
    if zero_lr == steps_run:
        return "the learning rate was 0 on every step; raise --learning-rate or lower --warmup-steps"
    if nonfinite == steps_run:
        return (
            "the loss or gradient was not finite (NaN/inf) on every step, so every step was skipped; "
            "lower --learning-rate or train in --precision fp32"
        )
    if zero_grad + nonfinite == steps_run:
        return (
            "the gradient was zero on every step; check that the trained weights are the ones the loss uses"
        )
    if rt.precision in ("bf16", "fp16"):
        return (
            f"every update was smaller than what {rt.precision} weights can hold; raise --learning-rate, "
            "train longer, or use --precision fp32"
        )
    return "every update was too small to show in the weights; raise --learning-rate or train longer"


def micro_batches(examples: list[Example], cfg: TrainConfig, epoch: int) -> list[list[list[int]]]:
    """The epoch's micro batches: lists of bins (rows), each a list of example indices."""
    seed = cfg.seed + epoch
    if cfg.packing:
        bins = pack_bins([len(e.input_ids) for e in examples], cfg.max_length, seed=seed)
    else:
        bins = unpacked_bins(len(examples), seed=seed)
    m = cfg.micro_batch_size
    return [bins[i : i + m] for i in range(0, len(bins), m)]


def token_loss_sum(model: Any, batch: dict[str, Any]) -> tuple[Any, int]:
    """Summed cross-entropy over the batch's target tokens (fp32), and how many there were."""
    import torch

    labels = batch["labels"]
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    logits = model(**inputs, use_cache=False).logits
    targets = shift_labels(labels)
    n = int((targets != IGNORE_INDEX).sum())
    loss = torch.nn.functional.cross_entropy(
        logits.float().reshape(-1, logits.shape[-1]),
        targets.reshape(-1),
        ignore_index=IGNORE_INDEX,
        reduction="sum",
    )
    return loss, n


def _to(batch: dict[str, Any], device: str) -> dict[str, Any]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def _targets(examples: list[Example], mb: list[list[int]]) -> int:
    # Targets after shifting: every trained label except an example's first token.
    return sum(sum(1 for x in examples[i].labels[1:] if x != IGNORE_INDEX) for b in mb for i in b)


def evaluate(model: Any, examples: list[Example], cfg: TrainConfig, rt: Runtime, pad_id: int) -> float:
    """Mean per-token loss over ``examples`` (nats/token)."""
    import torch

    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad(), _autocast(rt):
        for mb in micro_batches(examples, cfg, epoch=0):
            batch = _to(collate(examples, mb, pad_id=pad_id, flatten=rt.flatten), rt.device)
            loss, n = token_loss_sum(model, batch)
            total += float(loss)
            count += n
    model.train(was_training)
    return total / max(count, 1)


#: Largest relative logit difference (mean |packed - alone| over the mean spread of the logits)
#: the packing self-check accepts: fp32 measures ~1e-6 (SDPA, eager); half precision rounds more.
PACKING_TOLERANCE = {"fp32": 1e-3, "bf16": 5e-2, "fp16": 5e-2}
#: Tokens of each example the packing self-check runs.
PACKING_CHECK_TOKENS = 24


def check_packing(model: Any, examples: list[Example], rt: Runtime, pad_id: int) -> dict[str, Any]:
    """Check, on the model and attention actually loaded, that a packed row keeps its examples
    apart: two short examples run packed in one row must get the logits each gets alone.

    Isolation rests on transformers deriving a block-diagonal mask (or flash-attention's varlen
    boundaries) from the restarting position ids; a transformers version, model class or
    attention kernel that ignores them would silently let every example attend to the ones
    before it. Costs one forward pass of ~50 tokens. Raises ConfigError naming the fix when the
    logits differ; returns what was measured (for the manifest)."""
    import torch

    order = sorted(range(len(examples)), key=lambda i: (len(examples[i].input_ids), i))
    picked = [examples[i] for i in order[:2]] if len(examples) > 1 else [examples[0], examples[0]]
    short = [
        Example(f"check-{k}", e.input_ids[:PACKING_CHECK_TOKENS], e.input_ids[:PACKING_CHECK_TOKENS])
        for k, e in enumerate(picked)
    ]
    lengths = [len(e.input_ids) for e in short]

    def logits(bins: list[list[int]]) -> Any:
        batch = _to(collate(short, bins, pad_id=pad_id, flatten=rt.flatten), rt.device)
        batch.pop("labels")
        with _autocast(rt):
            return model(**batch, use_cache=False).logits[0].float()

    was_training = model.training
    model.eval()  # no dropout: the two runs must be comparable
    try:
        with torch.no_grad():
            alone = [logits([[k]])[: lengths[k]] for k in range(2)]
            packed = logits([[0, 1]])
    finally:
        model.train(was_training)
    diffs = []
    start = 0
    for k in range(2):
        got = packed[start : start + lengths[k]]
        start += lengths[k]
        spread = float((alone[k] - alone[k].mean()).abs().mean()) or 1.0
        diffs.append(float((got - alone[k]).abs().mean()) / spread)
    diff = max(diffs)
    tolerance = PACKING_TOLERANCE.get(rt.precision, 5e-2)
    if not diff <= tolerance:  # NaN fails too
        import transformers

        raise ConfigError(
            f"--packing: examples packed in one row do not stay apart with attention {rt.attention} on this "
            f"model (transformers {transformers.__version__}): packed logits differ from the example run alone "
            f"by {diff:.3g} (relative; at most {tolerance:g} allowed), so each example would attend to the ones "
            "before it. Train with --no-packing (or try --attention eager)."
        )
    return {"tokens": lengths, "relative_difference": diff, "tolerance": tolerance, "attention": rt.attention}


def _autocast(rt: Runtime) -> Any:
    import torch

    # Weights are loaded in the run's dtype; autocast only matters for fp16 master weights.
    if rt.precision == "fp16":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


# ---------------------------------------------------------------- checkpoints


def _trainable_state(model: Any) -> dict[str, Any]:
    return {n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad}


def save_checkpoint(
    out: Path, step: int, model: Any, optimizer: Any, scheduler: Any, keep: int, extra: dict[str, Any]
) -> Path:
    """Write ``checkpoints/step-N`` atomically (a temporary folder renamed into place)."""
    import numpy as np
    import torch
    from safetensors.torch import save_file

    root = out / "checkpoints"
    final = root / f"step-{step:07d}"
    tmp = root / f".step-{step:07d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file(_trainable_state(model), str(tmp / "trainable.safetensors"))
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
    rng = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }
    torch.save(rng, tmp / "rng.pt")
    atomic_write_json(tmp / "state.json", {"step": step, **extra})
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for old in sorted(root.glob("step-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(out: Path) -> Path | None:
    found = sorted(p for p in (out / "checkpoints").glob("step-*") if (p / "state.json").exists())
    return found[-1] if found else None


def load_checkpoint(path: Path, model: Any, optimizer: Any, scheduler: Any) -> dict[str, Any]:
    import torch
    from safetensors.torch import load_file

    state = load_file(str(path / "trainable.safetensors"))
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in state.items():
            if name not in params:
                raise ConfigError(f"{path}: checkpoint holds {name}, which this model lacks; wrong --out?")
            params[name].copy_(value.to(params[name].device))
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=False))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=False))
    rng = torch.load(path / "rng.pt", weights_only=False)
    random.setstate(rng["python"])
    import numpy as np

    np.random.set_state(rng["numpy"])
    torch.set_rng_state(rng["torch"])
    if rng.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    return json.loads((path / "state.json").read_text())


# ---------------------------------------------------------------- saving the model


def _plot_losses(history: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    logged = [h for h in history if "loss" in h]
    # Markers: a run of one or two logs is a point or two, which a bare line does not draw.
    style = "o-" if len(logged) < 30 else "-"
    ax.plot([h["step"] for h in logged], [h["loss"] for h in logged], style, label="train loss")
    ev = [(h["step"], h["eval_loss"]) for h in history if "eval_loss" in h]
    if ev:
        ax.plot(*zip(*ev), "s--", label="eval loss")
    ax.set_xlabel("optimizer step")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("loss (nats / assistant token)")
    lrs = [(h["step"], h["lr"]) for h in logged if "lr" in h]
    if lrs:
        ax2 = ax.twinx()
        ax2.plot(*zip(*lrs), style, color="tab:gray", alpha=0.6, markersize=3, label="learning rate")
        ax2.set_ylabel("learning rate")
        ax2.set_ylim(bottom=0)
        ax2.legend(loc="upper right")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- the loop


def _progress(enabled: bool, total: int, done: int) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("train"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeRemainingColumn(),
        disable=not enabled,
        transient=False,
    )
    bar.start()
    bar.add_task("train", total=total, completed=done, info="")
    return bar


def train(
    data: str | Path,
    out: str | Path,
    cfg: TrainConfig,
    *,
    resume: bool = True,
    progress: bool | None = None,
    on_log: Callable[[dict[str, Any]], None] | None = None,
    prepared: Prepared | None = None,
) -> TrainResult:
    """Fine-tune ``cfg.base_model`` on the conversations in ``data`` and save to ``out/model``.

    With ``cfg.method`` dpo or orpo, ``data`` holds preference pairs instead and the run goes
    through TRL (``tagengo.train.preference.train_preference``).

    ``data``: a tagengo dataset folder, or a JSONL/Parquet file in any format tagengo reads
    (messages, ShareGPT …). With ``resume`` (the default), a run finds its latest checkpoint in
    ``out/checkpoints`` and goes on from there with the same data order. Raises ConfigError or
    InputError (a message for the user) on a bad base model, config or dataset.
    """
    if cfg.method != "sft":
        from tagengo.train.preference import train_preference

        return train_preference(data, out, cfg, resume=resume, progress=progress)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    seed_all(cfg.seed)
    rt = resolve_runtime(cfg)
    base = resolve_base(cfg.base_model)
    tokenizer = load_tokenizer(base, cfg.chat_template)
    prepared = _prepared(data, out, tokenizer, cfg, prepared)
    per_epoch = math.ceil(len(micro_batches(prepared.train, cfg, 0)) / cfg.gradient_accumulation_steps)
    total_steps = cfg.max_steps or max(1, math.ceil(per_epoch * cfg.epochs))
    model, new_tokens, saved_layers = _load_trainable(base, rt, tokenizer, cfg)
    pad_id = tokenizer.pad_token_id
    packing_check = check_packing(model, prepared.train, rt, pad_id) if cfg.packing else None
    run = _Run.build(model, prepared, cfg, rt, pad_id, out, total_steps)
    step, history, ckpt = _resume(run, resume)

    first_step = step
    probe = _WeightProbe(run.params)
    show = sys.stderr.isatty() if progress is None else progress
    tally = _Tally()
    step = _run_steps(run, step, history, tally, show, on_log)
    elapsed = time.perf_counter() - tally.run_t0
    steps_run = step - first_step
    weights_changed = probe.changed() if steps_run else None
    del probe
    warnings_ = _run_warnings(rt, steps_run, tally, weights_changed)
    for w in warnings_:
        _warnings.warn(f"tagengo train: {w}", TrainWarning, stacklevel=2)
    if cfg.save_steps:  # a final checkpoint lets a later run with more steps go on from here
        save_checkpoint(
            out, step, model, run.optimizer, run.scheduler, cfg.save_total_limit, {"epochs": cfg.epochs}
        )
    model_dir = save_model(model, tokenizer, out / "model", base, cfg.adapter)
    if history:
        _plot_losses(history, out / "loss.png")
    manifest = _manifest(
        run,
        base,
        packing_check=packing_check,
        tokens_added=new_tokens,
        modules_to_save=saved_layers,
        step=step,
        steps_run=steps_run,
        weights_changed=weights_changed,
        warnings_=warnings_,
        tally=tally,
        elapsed=elapsed,
        history=history,
        ckpt=ckpt,
        started=started,
    )
    atomic_write_json(out / "manifest.json", manifest)
    return TrainResult(out=out, model_dir=model_dir, steps=step, history=history, manifest=manifest)


def _prepared(
    data: str | Path, out: Path, tokenizer: Any, cfg: TrainConfig, prepared: Prepared | None
) -> Prepared:
    """The tokenized train and eval examples (read from ``data`` unless the caller has them);
    the conversations left out go to dropped.jsonl with their reasons."""
    if prepared is None:
        prepared = load_dataset(
            data,
            tokenizer,
            max_length=cfg.max_length,
            truncate=cfg.truncate,
            eval_size=cfg.eval_size,
            seed=cfg.seed,
        )
    atomic_write_text(
        out / "dropped.jsonl",
        "".join(json.dumps({"id": i, "reason": r}, ensure_ascii=False) + "\n" for i, r in prepared.dropped),
    )
    return prepared


def _load_trainable(
    base: Path, rt: Runtime, tokenizer: Any, cfg: TrainConfig
) -> tuple[Any, list[str], list[str]]:
    """The model in training mode (with its LoRA adapter when asked), the tokens the chat
    template added, and the layers saved whole beside the adapter."""
    model = load_model(base, rt, tokenizer)
    new_tokens = added_tokens(tokenizer)
    saved_layers: list[str] = []
    if cfg.adapter == "lora":
        # Tokens the template added have new, untrained rows: train and save those layers too.
        saved_layers = embedding_modules(model) if new_tokens else []
        model = add_lora(model, cfg, train_embeddings=bool(new_tokens))
    model.train()
    return model, new_tokens, saved_layers


@dataclass
class _Run:
    """What every step of one run works with: the model and its optimizer and schedule, the
    data, and where the run writes."""

    model: Any
    params: list[Any]
    optimizer: Any
    scheduler: Any
    warmup: int
    prepared: Prepared
    cfg: TrainConfig
    rt: Runtime
    pad_id: int
    out: Path
    total_steps: int

    @property
    def examples(self) -> list[Example]:
        return self.prepared.train

    @classmethod
    def build(
        cls,
        model: Any,
        prepared: Prepared,
        cfg: TrainConfig,
        rt: Runtime,
        pad_id: int,
        out: Path,
        total_steps: int,
    ) -> _Run:
        import torch

        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(
            params,
            lr=cfg.learning_rate,
            weight_decay=cfg.weight_decay,
            betas=(0.9, 0.999),
            fused=rt.device.startswith("cuda"),
        )
        warmup = capped_warmup(cfg.warmup_steps, total_steps)
        scheduler = _lr_schedule(optimizer, warmup=warmup, total=total_steps, kind=cfg.lr_scheduler)
        return cls(model, params, optimizer, scheduler, warmup, prepared, cfg, rt, pad_id, out, total_steps)


def _resume(run: _Run, resume: bool) -> tuple[int, list[dict[str, Any]], Path | None]:
    """The step to start from, the logs up to it and the checkpoint it came from (none: step 0);
    metrics.jsonl is rewritten to those logs, so a resumed run appends after them."""
    step = 0
    history: list[dict[str, Any]] = []
    metrics_path = run.out / "metrics.jsonl"
    ckpt = latest_checkpoint(run.out) if resume else None
    if ckpt is not None:
        step = int(load_checkpoint(ckpt, run.model, run.optimizer, run.scheduler)["step"])
        if metrics_path.exists():
            history = [json.loads(x) for x in metrics_path.read_text().splitlines() if x.strip()]
            history = [h for h in history if h["step"] <= step]
    elif not resume:
        shutil.rmtree(run.out / "checkpoints", ignore_errors=True)
    metrics_path.write_text("".join(json.dumps(h) + "\n" for h in history))
    return step, history, ckpt


def _schedule(examples: list[Example], cfg: TrainConfig) -> Iterator[tuple[int, list[list[list[int]]]]]:
    """(step index, its micro batches), epoch after epoch, the same on every run."""
    s = 0
    epoch = 0
    while True:
        mbs = micro_batches(examples, cfg, epoch)
        for i in range(0, len(mbs), cfg.gradient_accumulation_steps):
            yield s, mbs[i : i + cfg.gradient_accumulation_steps]
            s += 1
        epoch += 1


@dataclass
class _Tally:
    """What the loop counts across steps: tokens and time for tokens/s (since the last log and
    over the run), the losses since the last log, and the steps that could not move the weights."""

    log_tokens: int = 0
    log_t0: float = field(default_factory=time.perf_counter)
    run_tokens: int = 0
    run_t0: float = field(default_factory=time.perf_counter)
    window: list[tuple[float, int]] = field(default_factory=list)
    nonfinite: int = 0
    zero_grad: int = 0
    zero_lr: int = 0


def _run_steps(
    run: _Run,
    step: int,
    history: list[dict[str, Any]],
    tally: _Tally,
    show: bool,
    on_log: Callable[[dict[str, Any]], None] | None,
) -> int:
    """The optimizer steps from ``step`` to the last, with their logs, eval losses and
    checkpoints; the step reached."""
    cfg, total_steps = run.cfg, run.total_steps
    bar = _progress(show, total_steps, step)
    try:
        for s, group in _schedule(run.examples, cfg):
            if s < step:
                continue
            if s >= total_steps:
                break
            grad_norm, lr = _optimizer_step(run, group, tally)
            step = s + 1
            rec = _train_log(run, step, tally, lr, grad_norm)
            if run.prepared.eval and ((cfg.eval_steps and step % cfg.eval_steps == 0) or step == total_steps):
                rec = {
                    "step": step,
                    **rec,
                    "eval_loss": evaluate(run.model, run.prepared.eval, cfg, run.rt, run.pad_id),
                }
            if rec:
                history.append(rec)
                with (run.out / "metrics.jsonl").open("a") as fh:
                    fh.write(json.dumps(rec) + "\n")
                if on_log:
                    on_log(rec)
                info = f"loss {rec['loss']:.3f}  {rec['tokens_per_s']:,.0f} tok/s" if "loss" in rec else ""
                bar.update(bar.task_ids[0], completed=step, info=info)
            else:
                bar.update(bar.task_ids[0], completed=step)
            if cfg.save_steps and step % cfg.save_steps == 0 and step < total_steps:
                save_checkpoint(
                    run.out,
                    step,
                    run.model,
                    run.optimizer,
                    run.scheduler,
                    cfg.save_total_limit,
                    {"epochs": cfg.epochs},
                )
    finally:
        bar.stop()
    return step


def _optimizer_step(run: _Run, group: list[list[list[int]]], tally: _Tally) -> tuple[float, float]:
    """One optimizer step over the micro batches of ``group``; its gradient norm and learning rate."""
    import torch

    examples, cfg = run.examples, run.cfg
    n_targets = sum(_targets(examples, mb) for mb in group)
    step_loss = 0.0
    for mb in group:
        batch = _to(collate(examples, mb, pad_id=run.pad_id, flatten=run.rt.flatten), run.rt.device)
        with _autocast(run.rt):
            loss_sum, _ = token_loss_sum(run.model, batch)
        (loss_sum / max(n_targets, 1)).backward()
        step_loss += float(loss_sum.detach())
        real = sum(len(examples[i].input_ids) for b in mb for i in b)
        tally.log_tokens += real
        tally.run_tokens += real
    # The norm is measured (and clipped when --max-grad-norm > 0) before the step.
    grad_norm = float(
        torch.nn.utils.clip_grad_norm_(run.params, cfg.max_grad_norm if cfg.max_grad_norm > 0 else math.inf)
    )
    lr = run.scheduler.get_last_lr()[0]
    tally.zero_lr += lr == 0
    if math.isfinite(grad_norm):  # a NaN/inf step would ruin every weight: skip it
        run.optimizer.step()
        tally.zero_grad += grad_norm == 0
    else:
        tally.nonfinite += 1
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    tally.window.append((step_loss, n_targets))
    return grad_norm, lr


def _train_log(run: _Run, step: int, tally: _Tally, lr: float, grad_norm: float) -> dict[str, Any]:
    """The train log of ``step`` when it is one to log ({} otherwise): the loss over every
    assistant token since the last log, and the tokens per second since then."""
    import torch

    if not (step % run.cfg.logging_steps == 0 or step == run.total_steps):
        return {}
    if run.rt.device.startswith("cuda"):
        torch.cuda.synchronize()
    dt = time.perf_counter() - tally.log_t0
    rec = {
        "step": step,
        "loss": sum(x for x, _ in tally.window) / max(sum(n for _, n in tally.window), 1),
        "lr": lr,
        "grad_norm": grad_norm,
        "tokens_per_s": tally.log_tokens / dt if dt > 0 else 0.0,
    }
    tally.window, tally.log_tokens, tally.log_t0 = [], 0, time.perf_counter()
    return rec


def _run_warnings(rt: Runtime, steps_run: int, tally: _Tally, weights_changed: bool | None) -> list[str]:
    """What the run did not do as asked (skipped steps, weights unchanged), with the runtime's notes."""
    warnings_: list[str] = list(rt.notes)
    if tally.nonfinite:
        warnings_.append(f"{tally.nonfinite} of {steps_run} steps had a non-finite gradient and were skipped")
    if weights_changed is False:
        warnings_.append(
            f"the weights did not change in {steps_run} step{'s' if steps_run != 1 else ''}: "
            + _unchanged_reason(steps_run, tally.nonfinite, tally.zero_grad, tally.zero_lr, rt)
        )
    return warnings_


def _runtime_fields(rt: Runtime) -> dict[str, Any]:
    return {
        "device": rt.device,
        "precision": rt.precision,
        "gradient_checkpointing": rt.gradient_checkpointing,
        "attention": rt.attention,
        "padding_free": rt.flatten,
    }


def _schedule_fields(run: _Run) -> dict[str, Any]:
    return {
        "kind": run.cfg.lr_scheduler,
        "peak_lr": run.cfg.learning_rate,
        "warmup_steps": run.warmup,
        "warmup_steps_asked": run.cfg.warmup_steps,
        "total_steps": run.total_steps,
    }


def _manifest(
    run: _Run,
    base: Path,
    *,
    packing_check: dict[str, Any] | None,
    tokens_added: list[str],
    modules_to_save: list[str],
    step: int,
    steps_run: int,
    weights_changed: bool | None,
    warnings_: list[str],
    tally: _Tally,
    elapsed: float,
    history: list[dict[str, Any]],
    ckpt: Path | None,
    started: str,
) -> dict[str, Any]:
    """manifest.json: what was asked, what ran where, the counts, warnings and throughput."""
    cfg, rt, prepared, total_steps = run.cfg, run.rt, run.prepared, run.total_steps
    return {
        "stage": "train",
        "config": cfg.model_dump(mode="json"),
        "base_model_path": str(base.resolve()),
        "runtime": _runtime_fields(rt),
        "packing_check": packing_check,
        "tokens_added": tokens_added,
        "modules_to_save": modules_to_save,
        "counts": {**prepared.counts(), "steps": step, "steps_planned": total_steps},
        "schedule": _schedule_fields(run),
        "steps_run": steps_run,
        "steps_skipped_nonfinite": tally.nonfinite,
        "weights_changed": weights_changed,
        "warnings": warnings_,
        "throughput": {
            "tokens": tally.run_tokens,
            "seconds": elapsed,
            "tokens_per_s": tally.run_tokens / elapsed if elapsed else 0,
        },
        "final": history[-1] if history else {},
        "resumed_from": str(ckpt) if ckpt else None,
        "versions": package_versions(*TRAIN_PACKAGES),
        "started": started,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }
