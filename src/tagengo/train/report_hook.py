"""The report section of a ``tagengo train`` folder.

A train folder is not a dataset folder: its ``manifest.json`` has no funnel (``steps``) and no
``languages``, so the dataset sections cannot show it. What it has, and what is shown, each
block naming its file:

* ``manifest.json``: the method, base model, runtime (device, precision, attention), counts
  (conversations or pairs read, trained, held out, dropped by reason, tokens), optimizer steps
  run and planned, the warm-up used, throughput, warnings, and the whole config;
* ``metrics.jsonl``: one line per log (``step``, ``loss``, ``lr``, ``grad_norm``,
  ``tokens_per_s``, ``eval_loss``; DPO/ORPO: ``rewards/*``, ``logps/*`` …), drawn as the loss
  and learning-rate curves;
* ``dropped.jsonl``: the conversations left out, with their reason.

SFT (``tagengo.train.trainer``) and DPO/ORPO (``tagengo.train.preference``) manifests both
work; a key one of them lacks is shown as missing, never a traceback.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from tagengo.run.blocks import Figure, Note, Section, Table, plt, png_of

#: Most rows of the per-log metrics table (a long run is thinned to this many, evenly).
METRIC_ROWS = 60


def is_train_manifest(m: dict[str, Any] | None) -> bool:
    return isinstance(m, dict) and m.get("stage") == "train"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every JSON object of a JSONL file; lines split on ``\\n`` only (a JSON string may hold
    U+2028 raw), unreadable lines skipped. ``[]`` when the file is missing."""
    if not path.exists():
        return []
    out: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8", errors="replace").split("\n"):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out


def method_of(m: dict[str, Any]) -> str:
    return str(m.get("method") or (m.get("config") or {}).get("method") or "sft")


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) else None


def _thin(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    if len(rows) <= n:
        return rows
    keep = {round(i * (len(rows) - 1) / (n - 1)) for i in range(n)}
    return [r for i, r in enumerate(rows) if i in keep]


def _flat(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in d.items():
        if isinstance(v, dict):
            out += _flat(v, f"{prefix}{k}.")
        else:
            out.append((f"{prefix}{k}", v if not isinstance(v, list) else ", ".join(map(str, v))))
    return out


def train_summary(m: dict[str, Any]) -> str:
    """One line: what trained on what, how long, and the last loss."""
    c = m.get("counts") or {}
    rt = m.get("runtime") or {}
    method = method_of(m)
    unit = "pairs" if method in ("dpo", "orpo") else "conversations"
    steps = c.get("steps")
    adapter = (m.get("config") or {}).get("adapter")
    done = (
        f"{steps:,} optimizer step{'s' if steps != 1 else ''}" if isinstance(steps, int) else "steps unknown"
    )
    if isinstance(c.get("train"), int):
        done += f" on {c['train']:,} {unit}"
    parts = [
        method + (" (lora)" if adapter == "lora" else ""),
        done,
        f"on {rt.get('device')} in {rt.get('precision')}" if rt else "",
    ]
    final = m.get("final") or {}
    if _num(final.get("loss")) is not None:
        parts.append(f"last loss {final['loss']:.4g}")
    if m.get("weights_changed") is False:
        parts.append("the weights did not change")
    return ", ".join(p for p in parts if p)


def _curves(history: list[dict[str, Any]], method: str) -> bytes | None:
    """Loss (and eval loss; DPO/ORPO: reward margin) above, learning rate below, by step."""
    loss = [
        (h["step"], h["loss"])
        for h in history
        if _num(h.get("step")) is not None and _num(h.get("loss")) is not None
    ]
    ev = [
        (h["step"], h["eval_loss"]) for h in history if _num(h.get("eval_loss")) is not None and "step" in h
    ]
    lr = [(h["step"], h.get("lr", h.get("learning_rate"))) for h in history if "step" in h]
    lr = [(s, v) for s, v in lr if _num(v) is not None]
    margin = [
        (h["step"], h["rewards/margins"]) for h in history if _num(h.get("rewards/margins")) is not None
    ]
    if not (loss or ev or lr):
        return None
    pyplot = plt()
    fig, (ax, ax_lr) = pyplot.subplots(2, 1, figsize=(7, 5), sharex=True, height_ratios=[2, 1])
    style = "o-" if max(len(loss), len(lr)) < 30 else "-"  # one or two points still show
    if loss:
        ax.plot(*zip(*loss), style, markersize=3, label="train loss")
    if ev:
        ax.plot(*zip(*ev), "s--", label="eval loss")
    if margin and method in ("dpo", "orpo"):
        ax.plot(*zip(*margin), style, markersize=3, color="tab:green", label="reward margin")
    ax.set_ylabel("loss (nats / token)" if method == "sft" else "loss")
    ax.grid(alpha=0.3)
    if loss or ev:
        ax.legend(fontsize=8)
    ax.set_title(f"{method}: loss and learning rate by optimizer step", fontsize=10)
    if lr:
        ax_lr.plot(*zip(*lr), style, markersize=3, color="tab:gray")
        ax_lr.set_ylim(bottom=0)
    ax_lr.set_ylabel("learning rate")
    ax_lr.set_xlabel("optimizer step")
    from matplotlib.ticker import MaxNLocator

    ax_lr.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps: no step 0.98
    ax_lr.grid(alpha=0.3)
    return png_of(fig)


def train_blocks(folder: Path, m: dict[str, Any]) -> list[Table | Figure | Note]:
    """The blocks of a train folder's section (see the module doc)."""
    folder = Path(folder)
    src = f"{folder}/manifest.json"
    msrc = f"{folder}/metrics.jsonl"
    method = method_of(m)
    cfg = m.get("config") or {}
    history = read_jsonl(folder / "metrics.jsonl")
    out: list[Table | Figure | Note] = []
    for w in m.get("warnings") or []:
        out.append(Note(f"Warning: {w}", f"{src} (warnings)"))
    if m.get("weights_changed") is False:
        out.append(
            Note(
                "This run did not change the weights: model/ holds the base model.",
                f"{src} (weights_changed)",
            )
        )
    png = _curves(history, method)
    if png is not None:
        out.append(Figure("Loss and learning rate", png, f"{msrc} (step, loss, eval_loss, lr)"))
    elif not history:
        out.append(Note("No metrics.jsonl: no curve to draw.", msrc))
    out.append(_run_table(m, method, src))
    out += _data_blocks(folder, m, method, src)
    if history:
        out.append(_metrics_table(history, msrc))
    if cfg:
        out.append(Table("Config", ["option", "value"], [[k, v] for k, v in _flat(cfg)], f"{src} (config)"))
    return out


def _run_table(m: dict[str, Any], method: str, src: str) -> Table:
    """What ran: method, model, steps, schedule, runtime and throughput (rows with no value left out)."""
    c = m.get("counts") or {}
    rt = m.get("runtime") or {}
    cfg = m.get("config") or {}
    tp = m.get("throughput") or {}
    sched = m.get("schedule") or {}
    run_rows: list[list[Any]] = [
        ["method", method],
        ["adapter", cfg.get("adapter")],
        ["base model", m.get("base_model_path") or cfg.get("base_model")],
        ["optimizer steps", c.get("steps")],
        ["steps planned", c.get("steps_planned")],
        ["steps run by the last invocation", m.get("steps_run")],
        [
            "warm-up steps (used / asked)",
            f"{sched['warmup_steps']} / {sched['warmup_steps_asked']}" if sched else cfg.get("warmup_steps"),
        ],
        ["peak learning rate", cfg.get("learning_rate")],
        ["schedule", cfg.get("lr_scheduler")],
        ["device", rt.get("device")],
        ["precision", rt.get("precision")],
        ["attention", rt.get("attention")],
        ["packing", cfg.get("packing") if method == "sft" else None],
        ["gradient checkpointing", rt.get("gradient_checkpointing")],
        ["tokens trained on (run)", tp.get("tokens")],
        ["seconds", _num(tp.get("seconds"))],
        ["tokens/s", _num(tp.get("tokens_per_s"))],
        ["pairs/s", _num(tp.get("pairs_per_s"))],
        ["weights changed", m.get("weights_changed")],
        ["resumed from", m.get("resumed_from")],
        ["started", m.get("started")],
        ["finished", m.get("finished")],
    ]
    return Table(
        "Run",
        ["what", "value"],
        [r for r in run_rows if r[1] is not None and r[1] != ""],
        f"{src} (counts, runtime, schedule, throughput)",
    )


def _data_blocks(folder: Path, m: dict[str, Any], method: str, src: str) -> list[Table | Figure | Note]:
    """The data counts, and the conversations (or pairs) dropped by reason."""
    c = m.get("counts") or {}
    out: list[Table | Figure | Note] = []
    unit = "pairs" if method in ("dpo", "orpo") else "conversations"
    data_rows = [
        [k, c[k]] for k in ("read", "train", "eval", "dropped", "quarantined") if isinstance(c.get(k), int)
    ]
    data_rows += [
        [label, c[k]]
        for k, label in (
            ("train_tokens", "train tokens"),
            ("train_assistant_tokens", "trained (assistant) tokens"),
        )
        if isinstance(c.get(k), int)
    ]
    if data_rows:
        out.append(Table(f"Data ({unit})", ["count", "value"], data_rows, f"{src} (counts)"))
    dropped = c.get("dropped_by_reason")
    if not isinstance(dropped, dict) or not dropped:
        dropped = Counter(
            str(d.get("reason", "")).split(":")[0] for d in read_jsonl(folder / "dropped.jsonl")
        )
    if dropped:
        out.append(
            Table(
                "Dropped, by reason",
                ["reason", "rows"],
                sorted(([k, v] for k, v in dropped.items()), key=lambda r: -r[1]),
                f"{folder}/dropped.jsonl (reason), {src} (counts.dropped_by_reason)",
            )
        )
    return out


def _metrics_table(history: list[dict[str, Any]], msrc: str) -> Table:
    """The logs, thinned to METRIC_ROWS evenly spaced."""
    keys = ["step", "loss", "eval_loss", "lr", "learning_rate", "grad_norm", "tokens_per_s"]
    keys += ["rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies"]
    keys = [k for k in keys if any(k in h for h in history)]
    return Table(
        "Metrics per log",
        keys,
        [[h.get(k) for k in keys] for h in _thin(history, METRIC_ROWS)],
        msrc,
        note=f"{len(history):,} logs"
        + (f", {METRIC_ROWS} shown evenly spaced" if len(history) > METRIC_ROWS else ""),
    )


def train_sections(folder: Path, m: dict[str, Any], anchor: str) -> list[Section]:
    return [
        Section(
            anchor,
            f"train · {folder.name}",
            str(folder),
            "train",
            train_blocks(folder, m),
            summary=train_summary(m),
        )
    ]


def report_blocks(folder: Path, manifest: dict[str, Any]) -> list[Section]:
    """No funnel, no languages: a run, its curves and its data counts."""
    from tagengo.run.stage_blocks import anchor

    return train_sections(folder, manifest, anchor(folder, "train"))
