"""reverse's blocks for ``tagengo report``: the λ sweep (how many instructions each judge
threshold keeps, per language), the judge's scores and the back-translation checks, and the
calls (tagengo.run.llm_blocks).
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from tagengo.run.blocks import Figure, Note, Section, Table, plt, png_of
from tagengo.run.funnel import language_name
from tagengo.run.llm_blocks import Call, Row, call_blocks, call_of, median, read_rows
from tagengo.run.stage_blocks import anchor, stage_section

#: The judge thresholds of the λ sweep (the judge scores 1-5; see tagengo.reverse.report).
LAMBDAS = (1, 2, 3, 4, 5)


def lambda_sweep(rows: list[Row]) -> dict[str, dict[str, int]]:
    """language -> {"reached": rows sent to the judge, "judged": rows with a score,
    "1".."5": judged rows scoring ≥ λ}. The same count as tagengo.reverse.report."""
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        info = r.meta.get("reverse") or {}
        if "judge" not in (info.get("calls") or {}):
            continue
        d = out.setdefault(r.language, {"reached": 0, "judged": 0, **{str(lam): 0 for lam in LAMBDAS}})
        d["reached"] += 1
        score = info.get("score")
        if isinstance(score, int) and not isinstance(score, bool):
            d["judged"] += 1
            for lam in LAMBDAS:
                d[str(lam)] += score >= lam
    return dict(sorted(out.items(), key=lambda kv: (-kv[1]["judged"], kv[0])))


def sweep_figure(series: list[tuple[str, dict[str, int]]], chosen: set[int]) -> bytes:
    """Two panels over λ = 1..5: pairs kept (left) and their share of the judged pairs (right,
    what compares languages of different sizes), one line per series, the chosen λ dashed."""
    pyplot = plt()
    fig, (ax_n, ax_p) = pyplot.subplots(1, 2, figsize=(9.5, 3.6))
    for label, d in series[:12]:  # lines beyond a dozen are a blur; the table has them all
        ys = [d[str(lam)] for lam in LAMBDAS]
        ax_n.plot(LAMBDAS, ys, marker="o", label=label)
        ax_p.plot(LAMBDAS, [100 * y / d["judged"] if d["judged"] else 0 for y in ys], marker="o", label=label)
    for ax in (ax_n, ax_p):
        for lam in sorted(chosen):
            ax.axvline(lam, color="#c44e52", linestyle="--", linewidth=1.2, label=f"chosen λ = {lam}")
        ax.set_xticks(LAMBDAS)
        ax.set_xlabel("judge threshold λ (keep score ≥ λ)")
        ax.grid(alpha=0.3)
    ax_n.set_ylabel("pairs kept")
    ax_n.set_ylim(bottom=0)
    ax_p.set_ylabel("% of judged pairs kept")
    ax_p.set_ylim(0, 105)
    ax_n.set_title("pairs surviving each λ", fontsize=10)
    ax_p.set_title("share of judged pairs surviving each λ", fontsize=10)
    handles, labels = ax_n.get_legend_handles_labels()
    ax_p.legend(handles, labels, fontsize=7, loc="lower left")
    return png_of(fig)


def lambda_blocks(folder: Path, m: dict[str, Any], rows: list[Row]) -> list[Table | Figure | Note]:
    src = f"{folder}/data/*.parquet and rejected/*.parquet (meta.reverse.score)"
    chosen = (m.get("config") or {}).get("min_score")
    sweep = lambda_sweep(rows)
    if not sweep:
        return [Note("No pair reached the judge: no λ sweep.", src)]
    fig = sweep_figure(list(sweep.items()), {chosen} if chosen is not None else set())
    columns = ["language", "name", "sent to the judge", "judged"] + [
        f"λ={lam}" + (" (chosen)" if lam == chosen else "") for lam in LAMBDAS
    ]
    table_rows = [
        [lang, language_name(lang), d["reached"], d["judged"], *[d[str(lam)] for lam in LAMBDAS]]
        for lang, d in sweep.items()
    ]
    if len(sweep) > 1:
        table_rows.append(
            [
                "all",
                "",
                sum(d["reached"] for d in sweep.values()),
                sum(d["judged"] for d in sweep.values()),
                *[sum(d[str(lam)] for d in sweep.values()) for lam in LAMBDAS],
            ]
        )
    out: list[Table | Figure | Note] = [
        Figure("λ sweep", fig, src),
        Table(
            "λ sweep",
            columns,
            table_rows,
            src,
            note=f"Pairs the judge scored at least λ (1-5), per language; this run kept λ = {chosen} "
            "(--min-score). Judged: a score was found in the judge's answer; pairs whose back-translation "
            "failed later still count (their score is known). The stage's own lambda.md / lambda.json "
            "hold the same counts.",
        ),
    ]
    return out


def judge_blocks(folder: Path, rows: list[Row]) -> list[Table | Figure | Note]:
    """Per task type: pairs judged, their mean score, kept; and the back-translation check."""
    src = f"{folder}/data/*.parquet and rejected/*.parquet (meta.reverse.task_type/score)"
    tasks: dict[str, dict[str, Any]] = {}
    for r in rows:
        info = r.meta.get("reverse") or {}
        if "task_type" not in info:
            continue
        t = tasks.setdefault(info["task_type"], {"rows": 0, "scores": [], "kept": 0})
        t["rows"] += 1
        t["kept"] += r.where == "data"
        if isinstance(info.get("score"), int):
            t["scores"].append(info["score"])
    out: list[Table | Figure | Note] = []
    if tasks:
        out.append(
            Table(
                "Task types",
                ["task type", "instructions asked", "judged", "mean score", "kept"],
                [
                    [
                        task,
                        t["rows"],
                        len(t["scores"]),
                        round(statistics.fmean(t["scores"]), 3) if t["scores"] else None,
                        t["kept"],
                    ]
                    for task, t in sorted(tasks.items(), key=lambda kv: (-kv[1]["rows"], kv[0]))
                ],
                src,
                note="The task type each instruction was asked as (drawn per row, seeded: --task-seed).",
            )
        )
    back: dict[str, dict[str, Any]] = {}
    for r in rows:
        info = r.meta.get("reverse") or {}
        if "translate_instruction" not in (info.get("calls") or {}):
            continue
        b = back.setdefault(r.language, {"n": 0, "passed": 0, "lid": [], "ratio": []})
        b["n"] += 1
        b["passed"] += r.where == "data"
        check = info.get("back_translation_check") or {}
        if "lid_score" in check:
            b["lid"].append(float(check["lid_score"]))
        if "length_ratio" in check:
            b["ratio"].append(float(check["length_ratio"]))
    if back:
        out.append(
            Table(
                "Back-translation check",
                [
                    "language",
                    "name",
                    "instructions translated back",
                    "passed",
                    "rejected",
                    "median LID score",
                    "median length ratio",
                ],
                [
                    [
                        lang,
                        language_name(lang),
                        b["n"],
                        b["passed"],
                        b["n"] - b["passed"],
                        median(b["lid"]),
                        median(b["ratio"]),
                    ]
                    for lang, b in sorted(back.items())
                ],
                f"{folder}/data/*.parquet and rejected/*.parquet (meta.reverse.back_translation_check)",
                note="roundtrip mode: the English instruction is translated into the corpus language and "
                "checked (language ID finds the language, a plausible length); LID score: the detector's "
                "probability of its top label.",
            )
        )
    return out


def reverse_calls(rows: list[Row]) -> list[Call]:
    """Every call of ``meta.reverse.calls`` ({phase: [call, …]})."""
    return [
        call_of(r, phase, c)
        for r in rows
        for phase, calls in ((r.meta.get("reverse") or {}).get("calls") or {}).items()
        for c in calls
    ]


def reverse_blocks(folder: Path, m: dict[str, Any]) -> list[Table | Figure | Note]:
    rows = read_rows(folder)
    return (
        lambda_blocks(folder, m, rows)
        + judge_blocks(folder, rows)
        + call_blocks(folder, m, reverse_calls(rows), "reverse.calls", by_phase=True)
    )


def report_blocks(folder: Path, m: dict[str, Any]) -> list[Section]:
    cfg = m.get("config") or {}
    return [
        stage_section(folder, m),
        Section(
            anchor(folder, "instructions"),
            f"reverse instructions · {folder.name}",
            str(folder),
            "instructions",
            reverse_blocks(folder, m),
            summary=f"model {(m.get('llm') or {}).get('model_id')}, language {cfg.get('language')}, "
            f"mode {cfg.get('mode')}, λ = {cfg.get('min_score')}",
            data={"min_score": cfg.get("min_score")},
        ),
    ]
