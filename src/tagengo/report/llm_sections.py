"""Report sections for the stages that call a model per row besides ``generate``: ``reverse``
(instructions written for corpus fragments, judged, kept at score ≥ λ) and ``translate``
(parallel rows, each translation checked).

Every figure is read from the rows the stage wrote, kept (``data/``) and rejected
(``rejected/``) alike: each row's ``meta.reverse`` / ``meta.translation`` records its calls
(model, finish reason, tokens, cost, cache), the judge's score, and the checks' numbers
(language ID score, length ratio, protected spans). ``lambda.json`` (reverse) and the
manifest's step summary hold the same figures summed; the tests check the two agree.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tagengo.records import NO_LANGUAGE
from tagengo.report.blocks import Figure, Note, Section, Table, plt, png_of
from tagengo.report.sections import (
    _meta,
    _pct,
    excerpt,
    finish_reason_blocks,
    named_ids,
    read_parts,
)
from tagengo.run.funnel import language_name
from tagengo.run.reasons import reason_pattern

#: The judge thresholds of the λ sweep (the judge scores 1-5; see tagengo.reverse.report).
LAMBDAS = (1, 2, 3, 4, 5)
#: Examples shown per (language, reason) in the translation rejection table.
EXAMPLES = 2


@dataclass
class Call:
    """One model call as a row's meta records it (tagengo.llm.answer.call_meta)."""

    row: str
    language: str
    where: str  # "data" or "rejected"
    phase: str  # reverse: translate_fragment, instruction, judge, translate_instruction; translate: translate
    model: str
    finish_reason: str
    input_tokens: int
    output_tokens: int
    cost: float | None  # None: the folder predates per-call cost in meta
    cached: bool
    attempts: int


@dataclass
class Row:
    id: str
    language: str
    where: str
    meta: dict[str, Any]
    messages: list[dict[str, Any]]
    step: str | None = None
    reason: str | None = None


def read_rows(folder: Path) -> list[Row]:
    """Kept rows then rejected rows, with their meta parsed."""
    out: list[Row] = []
    for sub in ("data", "rejected"):
        t = read_parts(folder, sub, ["id", "language", "meta", "messages", "step", "reason"])
        if t is None:
            continue
        cols = t.column_names
        n = t.num_rows
        steps = t.column("step").to_pylist() if "step" in cols else [None] * n
        reasons = t.column("reason").to_pylist() if "reason" in cols else [None] * n
        for rid, lang, meta, msgs, step, reason in zip(
            t.column("id").to_pylist(),
            t.column("language").to_pylist(),
            _meta(t.column("meta").to_pylist()),
            t.column("messages").to_pylist(),
            steps,
            reasons,
            strict=True,
        ):
            out.append(Row(rid, lang or NO_LANGUAGE, sub, meta, msgs or [], step, reason))
    return out


def _call(row: Row, phase: str, c: dict[str, Any]) -> Call:
    cost = c.get("cost")
    return Call(
        row=row.id,
        language=row.language,
        where=row.where,
        phase=phase,
        model=str(c.get("model")),
        finish_reason=str(c.get("finish_reason")),
        input_tokens=int(c.get("input_tokens") or 0),
        output_tokens=int(c.get("output_tokens") or 0),
        cost=None if cost is None else float(cost),
        cached=bool(c.get("cached")),
        attempts=int(c.get("attempts") or 1),
    )


def reverse_calls(rows: list[Row]) -> list[Call]:
    """Every call of ``meta.reverse.calls`` ({phase: [call, …]})."""
    return [
        _call(r, phase, c)
        for r in rows
        for phase, calls in ((r.meta.get("reverse") or {}).get("calls") or {}).items()
        for c in calls
    ]


def translate_calls(rows: list[Row]) -> list[Call]:
    """Every call of ``meta.translation.calls`` (one per translated message)."""
    return [
        _call(r, "translate", c) for r in rows for c in ((r.meta.get("translation") or {}).get("calls") or [])
    ]


def _sum_cost(calls: list[Call]) -> float | None:
    if any(c.cost is None for c in calls):
        return None
    return round(sum(c.cost or 0.0 for c in calls), 6)


# --- calls: tokens, cost, finish reasons (both stages) -----------------------------------


def call_blocks(
    folder: Path, m: dict[str, Any], calls: list[Call], field: str, *, by_phase: bool
) -> list[Table | Figure | Note]:
    """Tokens and cost per model (and per phase), per language, and the finish reasons."""
    src = f"{folder}/data/*.parquet and rejected/*.parquet (meta.{field})"
    if not calls:
        return [Note("No row records a model call: nothing reached the model.", src)]
    out: list[Table | Figure | Note] = []
    by_model: dict[str, list[Call]] = defaultdict(list)
    for c in calls:
        by_model[c.model].append(c)
    manifest_cost = {
        name: u.get("cost", 0.0) + u.get("cached_cost", 0.0)
        for s in m.get("steps", [])
        for name, u in ((s.get("summary") or {}).get("models") or {}).items()
    }
    missing_cost = any(c.cost is None for c in calls)
    out.append(
        Table(
            "Tokens and cost",
            [
                "model",
                "calls",
                "rows",
                "from cache",
                "retried",
                "input tokens",
                "output tokens",
                "cost (USD)",
            ],
            [
                [
                    model,
                    len(cs),
                    len({c.row for c in cs}),
                    sum(c.cached for c in cs),
                    sum(c.attempts > 1 for c in cs),
                    sum(c.input_tokens for c in cs),
                    sum(c.output_tokens for c in cs),
                    _sum_cost(cs),
                ]
                for model, cs in sorted(by_model.items())
            ],
            src,
            note="Every call the rows record, kept and rejected rows alike, answers from the cache "
            "included (at what they cost when made). Cost is the client's price table (0 without one: "
            "--input-price-per-1m / --output-price-per-1m)."
            + (
                " Cost per call is not in this folder's meta (written by an older tagengo); the manifest's "
                "per-model totals: " + ", ".join(f"{k} {v:.6f}" for k, v in manifest_cost.items())
                if missing_cost and manifest_cost
                else ""
            ),
        )
    )
    if by_phase:
        phases: dict[str, list[Call]] = defaultdict(list)
        for c in calls:
            phases[c.phase].append(c)
        out.append(
            Table(
                "Calls per phase",
                ["phase", "calls", "rows", "asked again", "input tokens", "output tokens", "cost (USD)"],
                [
                    [
                        phase,
                        len(cs),
                        len({c.row for c in cs}),
                        len(cs) - len({c.row for c in cs}),
                        sum(c.input_tokens for c in cs),
                        sum(c.output_tokens for c in cs),
                        _sum_cost(cs),
                    ]
                    for phase, cs in phases.items()
                ],
                src,
                note="asked again: calls beyond the first per row (an unparseable instruction or score is "
                "asked for again, --reask times).",
            )
        )
    per_lang: dict[str, list[Call]] = defaultdict(list)
    for c in calls:
        per_lang[c.language].append(c)
    out.append(
        Table(
            "Tokens and cost per language",
            ["language", "name", "rows", "calls", "input tokens", "output tokens", "cost (USD)"],
            [
                [
                    lang,
                    language_name(lang),
                    len({c.row for c in cs}),
                    len(cs),
                    sum(c.input_tokens for c in cs),
                    sum(c.output_tokens for c in cs),
                    _sum_cost(cs),
                ]
                for lang, cs in sorted(per_lang.items(), key=lambda kv: (-len(kv[1]), kv[0]))
            ],
            src,
        )
    )
    finish: dict[str, Counter[str]] = defaultdict(Counter)
    for c in calls:
        finish[c.finish_reason][c.where] += 1
    out += finish_reason_blocks(
        finish,
        src,
        unit="calls",
        note="None: the call failed for good (its error is the row's rejection reason)."
        if "None" in finish
        else "",
    )
    return out


# --- reverse: the λ sweep, the judge, the back-translation -----------------------------------


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


def lambda_across(sections: list[Section]) -> Section | None:
    """One λ sweep over every reverse folder in the report (a reverse run makes one language,
    so languages meet only here); None with fewer than two. Read from each folder's own
    λ sweep table, so the numbers are the ones shown there."""
    found = [(s, s.tables().get("λ sweep")) for s in sections if s.kind == "instructions"]
    found = [(s, t) for s, t in found if t is not None]
    if len(found) < 2:
        return None
    rows: list[list[Any]] = []
    series: list[tuple[str, dict[str, int]]] = []
    chosen: set[int] = set()
    langs = Counter(r[0] for _, t in found for r in t.rows if r[0] != "all")
    for sec, t in found:
        lam = sec.data.get("min_score")
        if lam is not None:
            chosen.add(lam)
        name = Path(sec.folder).name
        for r in t.rows:
            if r[0] == "all":
                continue
            d = {"judged": r[3], **{str(x): v for x, v in zip(LAMBDAS, r[4:], strict=True)}}
            series.append((r[0] if langs[r[0]] == 1 else f"{r[0]} ({name})", d))
            kept = d.get(str(lam)) if lam is not None else None
            rows.append(
                [name, r[0], r[1], lam, r[2], r[3], *r[4:], _pct(kept, r[3]) if kept is not None else None]
            )
    series.sort(key=lambda kv: -kv[1]["judged"])
    src = "; ".join(t.source for _, t in found)
    return Section(
        "lambda-sweep-all",
        "λ sweep · all reverse folders",
        ", ".join(s.folder for s, _ in found),
        "lambda",
        [
            Figure("λ sweep, every language", sweep_figure(series, chosen), src),
            Table(
                "λ sweep, every language",
                ["folder", "language", "name", "chosen λ", "sent to the judge", "judged"]
                + [f"λ={x}" for x in LAMBDAS]
                + ["kept at the chosen λ, % of judged"],
                rows,
                src,
                note="Each reverse folder's λ sweep (its own section has it too), side by side: the right "
                "panel's shares compare languages of different sizes.",
            ),
        ],
        summary=f"{len(rows)} language run(s) in {len(found)} folders; chosen λ "
        + ", ".join(str(x) for x in sorted(chosen)),
    )


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
                        _median(b["lid"]),
                        _median(b["ratio"]),
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


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None


# --- translate: rows per target language and the checks ----------------------------------


def translation_blocks(folder: Path, m: dict[str, Any], rows: list[Row]) -> list[Table | Figure | Note]:
    src = f"{folder}/data/*.parquet and rejected/*.parquet (language, meta.translation)"
    cfg = m.get("config") or {}
    targets: dict[str, dict[str, Any]] = {}
    sources = Counter()
    lid_scores: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    ratios: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        info = r.meta.get("translation")
        if not isinstance(info, dict) or "to" not in info:
            sources[r.language] += 1
            continue
        lang = str(info["to"])
        t = targets.setdefault(
            lang,
            {
                "rows": 0,
                "kept": 0,
                "messages": 0,
                "untouched": 0,
                "protected": 0,
                "lid": [],
                "other": 0,
                "ratio": [],
            },
        )
        t["rows"] += 1
        t["kept"] += r.where == "data"
        for msg in info.get("messages") or []:
            t["messages"] += 1
            t["untouched"] += msg.get("translated") is False
            t["protected"] += int(msg.get("protected") or 0)
            if "lid_score" in msg and msg.get("lid") is not None:
                # The detector's top label and its probability, as the row records them.
                t["lid"].append(float(msg["lid_score"]))
                t["other"] += msg["lid"] != lang
                lid_scores[lang].append((float(msg["lid_score"]), msg["lid"] == lang))
            if "length_ratio" in msg:
                t["ratio"].append(float(msg["length_ratio"]))
                ratios[lang].append(float(msg["length_ratio"]))
    if not targets:
        return [Note("No row carries meta.translation.to: nothing was translated.", src)]
    order = sorted(targets, key=lambda k: (-targets[k]["rows"], k))
    out: list[Table | Figure | Note] = []
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(max(5.5, 0.45 * len(order) + 2.5), 3.4))
    kept = [targets[k]["kept"] for k in order]
    rej = [targets[k]["rows"] - targets[k]["kept"] for k in order]
    ax.bar(range(len(order)), kept, color="#55a868", label="kept")
    ax.bar(range(len(order)), rej, bottom=kept, color="#c44e52", label="rejected")
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels(order, rotation=90 if len(order) > 10 else 0, fontsize=8)
    ax.set_ylabel("translated rows")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("rows per target language: kept and rejected", fontsize=10)
    out.append(Figure("Rows per target language", png_of(fig), src))
    out.append(
        Table(
            "Rows per target language",
            [
                "language",
                "name",
                "rows",
                "kept",
                "rejected",
                "rejected %",
                "messages",
                "left as they were",
                "protected spans",
                "median LID score",
                "lowest LID score",
                "LID found another language",
                "median length ratio",
            ],
            [
                [
                    lang,
                    language_name(lang),
                    (t := targets[lang])["rows"],
                    t["kept"],
                    t["rows"] - t["kept"],
                    _pct(t["rows"] - t["kept"], t["rows"]),
                    t["messages"],
                    t["untouched"],
                    t["protected"],
                    _median(t["lid"]),
                    round(min(t["lid"]), 4) if t["lid"] else None,
                    t["other"],
                    _median(t["ratio"]),
                ]
                for lang in order
            ],
            src,
            note=f"Source rows passed through unchanged (include_source): {sum(sources.values()):,}"
            + (f" ({', '.join(f'{k} {v:,}' for k, v in sorted(sources.items()))})" if sources else "")
            + ". Left as they were: messages with nothing to translate (code or numbers only). LID score: "
            "the probability of the detector's top label, for the messages it checked (those shorter than "
            "--lid-min-chars skip the check); another language: its top label was not the target (a near "
            "language can still pass). Length ratio: the translation's length over its source's (CJK "
            "counts 3).",
        )
    )
    if lid_scores or ratios:
        out.append(_check_figure(folder, order, lid_scores, ratios, cfg))
    out += translation_rejections(folder, rows)
    return out


def _check_figure(
    folder: Path,
    order: list[str],
    lid_scores: dict[str, list[tuple[float, bool]]],
    ratios: dict[str, list[float]],
    cfg: dict[str, Any],
) -> Figure:
    """Two panels: the LID score and the length ratio of every checked message, per target
    language, with the bounds the checks apply."""
    pyplot = plt()
    langs = [k for k in order if lid_scores.get(k) or ratios.get(k)][:16]
    fig, (ax_l, ax_r) = pyplot.subplots(1, 2, figsize=(10, max(2.6, 0.32 * len(langs) + 1.6)))
    for i, lang in enumerate(langs):
        same = [s for s, ok in lid_scores.get(lang, []) if ok]
        other = [s for s, ok in lid_scores.get(lang, []) if not ok]
        ax_l.plot(same, [i] * len(same), "o", alpha=0.55, color="#4c72b0", markersize=5)
        ax_l.plot(other, [i] * len(other), "x", color="#c44e52", markersize=6)
        xs = ratios.get(lang) or []
        ax_r.plot(xs, [i] * len(xs), "o", alpha=0.55, color="#4c72b0", markersize=5)
    for ax, label in (
        (ax_l, "probability of the detector's top label (x: not the target)"),
        (ax_r, "length ratio (translation / source)"),
    ):
        ax.set_yticks(range(len(langs)))
        ax.set_yticklabels(langs, fontsize=8)
        ax.set_ylim(len(langs) - 0.5, -0.5)
        ax.set_xlabel(label, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    lo_lid = cfg.get("min_lid_score")
    if lo_lid is not None:
        ax_l.axvline(
            lo_lid, color="#c44e52", linestyle="--", linewidth=1.2, label=f"--min-lid-score {lo_lid}"
        )
        ax_l.legend(fontsize=7, loc="lower left")
    ax_l.set_xlim(-0.03, 1.03)
    lo, hi = cfg.get("min_length_ratio"), cfg.get("max_length_ratio")
    if lo is not None and hi is not None:
        ax_r.axvspan(lo, hi, color="#55a868", alpha=0.12, label=f"allowed {lo:g}-{hi:g}")
        ax_r.legend(fontsize=7, loc="lower right")
    ax_l.set_title("language ID of each translated message", fontsize=10)
    ax_r.set_title("length of each translated message", fontsize=10)
    return Figure(
        "Translation checks",
        png_of(fig),
        f"{folder}/data/*.parquet and rejected/*.parquet (meta.translation.messages[].lid_score/length_ratio)",
    )


def translation_rejections(folder: Path, rows: list[Row]) -> list[Table | Figure | Note]:
    """Rejected translations per target language and reason, each with the failed translation."""
    src = f"{folder}/rejected/*.parquet (language, step, reason, meta.translation.messages[].raw)"
    rejected = [r for r in rows if r.where == "rejected"]
    if not rejected:
        return [Note("No translation was rejected.", src)]
    ids = named_ids(folder)
    groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for r in rejected:
        groups[(r.language, reason_pattern(r.reason or "", ids)[:100])].append(r)
    table_rows = []
    for (lang, pattern), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], -len(kv[1]), kv[0][1])):
        examples = []
        for r in rs[:EXAMPLES]:
            msgs = (r.meta.get("translation") or {}).get("messages") or []
            bad = next((x for x in msgs if "raw" in x), None)
            shown = (
                f"{excerpt(bad['source'], 90)} → {excerpt(bad['raw'], 90) or '(empty)'}"
                if bad
                else excerpt(next((x["content"] for x in r.messages if x["role"] == "user"), ""), 120)
            )
            examples.append(f"[{r.id}] {shown}")
        table_rows.append([lang, language_name(lang), pattern, len(rs), " ‖ ".join(examples)])
    return [
        Table(
            "Rejected translations per language",
            ["language", "name", "reason", "rows", "examples (id: source → translation)"],
            table_rows,
            src,
            note="Reasons with row ids and numbers blanked so alike ones group; a failed check keeps "
            "the translation it rejected (meta.translation.messages[].raw).",
        )
    ]


# --- the sections -----------------------------------------------------------------------


def reverse_blocks(folder: Path, m: dict[str, Any]) -> list[Table | Figure | Note]:
    rows = read_rows(folder)
    return (
        lambda_blocks(folder, m, rows)
        + judge_blocks(folder, rows)
        + call_blocks(folder, m, reverse_calls(rows), "reverse.calls", by_phase=True)
    )


def translate_blocks(folder: Path, m: dict[str, Any]) -> list[Table | Figure | Note]:
    rows = read_rows(folder)
    return translation_blocks(folder, m, rows) + call_blocks(
        folder, m, translate_calls(rows), "translation.calls", by_phase=False
    )
