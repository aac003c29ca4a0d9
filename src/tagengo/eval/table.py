"""The models × languages × tasks table of an eval run: ``results.json`` (one row per model,
task, language and metric) and ``results.md`` (one table per task and metric: a row per model,
the base model first as the reference, a column per language; model rows show their
difference to the base in brackets).
"""

from __future__ import annotations

import math
from typing import Any

from tagengo.eval.tasks import GROUP_METRICS, TaskSpec

#: lm-eval's metric keys shown under another name (the knowledge group's generative form
#: scores with exact_match; it is the same accuracy).
SHOWN_AS = {"exact_match": "acc"}
_NOT_METRICS = {"alias", "name", "sample_len", "samples"}


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def task_metrics(result: dict[str, Any], kind: str) -> list[tuple[str, float, float | None]]:
    """(metric, value, stderr) of one task's lm-eval result, in the group's order; every
    metric lm-eval reported for a task by name."""
    found: dict[str, tuple[float, float | None]] = {}
    for key, value in result.items():
        if key in _NOT_METRICS or "_stderr" in key:
            continue
        metric, _, filt = key.partition(",")
        v = _num(value)
        if v is None:
            continue
        err = _num(result.get(f"{metric}_stderr,{filt}"))
        name = SHOWN_AS.get(metric, metric) if kind in GROUP_METRICS else metric
        if kind not in GROUP_METRICS and filt and filt != "none":
            name = f"{metric} ({filt})"
        found.setdefault(name, (v, err))
    order = list(GROUP_METRICS.get(kind, ()))
    names = [m for m in order if m in found] + sorted(m for m in found if m not in order)
    return [(m, *found[m]) for m in names]


def table_rows(
    per_model: list[tuple[dict[str, Any], dict[str, Any]]], tasks: list[TaskSpec]
) -> list[dict[str, Any]]:
    """Rows of results.json from each model's (spec description, lm-eval results)."""
    rows = []
    for desc, res in per_model:
        results = res.get("results", {})
        counts = res.get("n-samples", {})
        for t in tasks:
            names = [t.name] if t.name in results else [n for n in results if n.startswith(t.name)]
            for name in names:
                n = counts.get(name, {})
                for metric, value, err in task_metrics(results[name], t.kind):
                    rows.append(
                        {
                            "model": desc["name"],
                            "role": desc["role"],
                            "task": t.label if name == t.name else name,
                            "kind": t.kind,
                            "language": t.language,
                            "direction": t.direction,
                            "metric": metric,
                            "value": value,
                            "stderr": err,
                            "items": n.get("effective") if isinstance(n, dict) else None,
                            "lm_eval_task": name,
                        }
                    )
    return rows


def _decimals(metric: str) -> int:
    """Accuracies (0-1) get three decimals, 0-100 scores (ROUGE, chrF, BLEU) two."""
    return 3 if metric.split(" ")[0] in ("acc", "acc_norm", "exact_match", "f1", "mcc") else 2


def _fmt(metric: str, v: float | None) -> str:
    return "–" if v is None else f"{v:.{_decimals(metric)}f}"


def markdown(rows: list[dict[str, Any]], title: str = "tagengo eval") -> str:
    """results.md: one table per (task, metric)."""
    lines = [f"# {title}", ""]
    models = list(dict.fromkeys((r["model"], r["role"]) for r in rows))
    models.sort(key=lambda m: 0 if m[1] == "base" else 1)
    base = next((m for m, role in models if role == "base"), None)
    blocks = list(dict.fromkeys((r["task"], r["metric"]) for r in rows))
    for task, metric in blocks:
        sel = [r for r in rows if r["task"] == task and r["metric"] == metric]
        langs = list(dict.fromkeys(r["language"] or "-" for r in sel))
        cell = {(r["model"], r["language"] or "-"): r["value"] for r in sel}
        lines += [f"## {task} · {metric}", ""]
        lines.append("| model | " + " | ".join(langs) + (" | mean |" if len(langs) > 1 else " |"))
        lines.append("| --- |" + " --- |" * (len(langs) + (1 if len(langs) > 1 else 0)))
        for model, role in models:
            vals = [cell.get((model, lang)) for lang in langs]
            have = [v for v in vals if v is not None]
            mean = sum(have) / len(have) if have and len(have) == len(vals) else None
            if len(langs) > 1:
                vals.append(mean)
            shown = []
            for i, v in enumerate(vals):
                text = _fmt(metric, v)
                if base is not None and role != "base" and v is not None:
                    lang = langs[i] if i < len(langs) else None
                    ref = cell.get((base, lang)) if lang is not None else _mean_of(cell, base, langs)
                    if ref is not None:
                        text += f" ({v - ref:+.{_decimals(metric)}f})"
                shown.append(text)
            label = f"{model} (base)" if role == "base" else model
            lines.append(f"| {label} | " + " | ".join(shown) + " |")
        lines.append("")
    if base is not None:
        lines.append(f"In brackets: the difference to the base model {base}.")
        lines.append("")
    return "\n".join(lines)


def _mean_of(cell: dict[tuple[str, str], float], model: str, langs: list[str]) -> float | None:
    vals = [cell.get((model, lang)) for lang in langs]
    if not vals or any(v is None for v in vals):
        return None
    return sum(vals) / len(vals)  # type: ignore[arg-type]
