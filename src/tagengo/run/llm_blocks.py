"""The blocks every stage that calls a model per row shares in ``tagengo report``: its calls
(model, finish reason, tokens, cost, cache) per language and phase, read from each row's
``meta.<stage>.calls``, kept and rejected rows alike. Below the stages (reverse and translate
build on it), so no stage imports another's report hook.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tagengo.records import NO_LANGUAGE
from tagengo.run.blocks import Figure, Note, Table
from tagengo.run.funnel import language_name
from tagengo.run.stage_blocks import finish_reason_blocks, parse_meta, read_parts


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
            parse_meta(t.column("meta").to_pylist()),
            t.column("messages").to_pylist(),
            steps,
            reasons,
            strict=True,
        ):
            out.append(Row(rid, lang or NO_LANGUAGE, sub, meta, msgs or [], step, reason))
    return out


def call_of(row: Row, phase: str, c: dict[str, Any]) -> Call:
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


def sum_cost(calls: list[Call]) -> float | None:
    if any(c.cost is None for c in calls):
        return None
    return round(sum(c.cost or 0.0 for c in calls), 6)


def call_blocks(
    folder: Path, m: dict[str, Any], calls: list[Call], field: str, *, by_phase: bool
) -> list[Table | Figure | Note]:
    """Tokens and cost per model (and per phase), per language, and the finish reasons."""
    src = f"{folder}/data/*.parquet and rejected/*.parquet (meta.{field})"
    if not calls:
        return [Note("No row records a model call: nothing reached the model.", src)]
    out: list[Table | Figure | Note] = [_model_table(m, calls, src)]
    if by_phase:
        out.append(_phase_table(calls, src))
    out.append(_language_table(calls, src))
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


def _model_table(m: dict[str, Any], calls: list[Call], src: str) -> Table:
    """Calls, rows, cache hits, retries, tokens and cost per model (the manifest's totals when
    the rows, written by an older tagengo, lack the cost per call)."""
    by_model: dict[str, list[Call]] = defaultdict(list)
    for c in calls:
        by_model[c.model].append(c)
    manifest_cost = {
        name: u.get("cost", 0.0) + u.get("cached_cost", 0.0)
        for s in m.get("steps", [])
        for name, u in ((s.get("summary") or {}).get("models") or {}).items()
    }
    missing_cost = any(c.cost is None for c in calls)
    return Table(
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
                sum_cost(cs),
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


def _phase_table(calls: list[Call], src: str) -> Table:
    phases: dict[str, list[Call]] = defaultdict(list)
    for c in calls:
        phases[c.phase].append(c)
    return Table(
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
                sum_cost(cs),
            ]
            for phase, cs in phases.items()
        ],
        src,
        note="asked again: calls beyond the first per row (an unparseable instruction or score is "
        "asked for again, --reask times).",
    )


def _language_table(calls: list[Call], src: str) -> Table:
    per_lang: dict[str, list[Call]] = defaultdict(list)
    for c in calls:
        per_lang[c.language].append(c)
    return Table(
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
                sum_cost(cs),
            ]
            for lang, cs in sorted(per_lang.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        ],
        src,
    )


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None
