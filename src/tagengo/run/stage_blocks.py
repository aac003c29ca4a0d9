"""The blocks every stage folder written by the runner shows in ``tagengo report``: its funnel,
its languages and its rejections, with the helpers the stages' report hooks share (reading
parts, excerpts, the first user turn of a row).

Every number comes from the folder's own files, named in the block that shows it:
``manifest.json`` (counts, steps, per-language figures) and ``data/*.parquet`` /
``rejected/*.parquet`` (rows, their ``meta`` and rejection reasons). Nothing is recomputed.
It lives in run/, below the stages, because every stage's hook builds on it (DESIGN.md, Report).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from tagengo.records import NO_LANGUAGE
from tagengo.run.blocks import Figure, Note, Section, Table, bar_chart, plt, png_of
from tagengo.run.dataset import read_table
from tagengo.run.funnel import funnel_rows, language_name, language_table
from tagengo.run.reasons import reason_pattern
from tagengo.run.wording import rows_in_languages

#: The step that checks a row's language with the LID model (its per-language removal gets a chart).
LID_STEPS = ("language_id", "fragment_language")


#: Characters of a prompt or answer shown in an example cell.
EXCERPT = 240


#: Examples shown per rejection reason, and dedup pairs per side.
EXAMPLES = 2


PAIRS = 4


def excerpt(text: str, n: int = EXCERPT) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def read_parts(folder: Path, sub: str, columns: list[str]) -> pa.Table | None:
    """The ``columns`` of every ``<folder>/<sub>/part-*.parquet`` part, in part order (a column
    a part lacks is left out); None when there is no part."""
    if not any((folder / sub).glob("part-*.parquet")):
        return None
    return read_table(folder, sub, columns)


def parse_meta(values: list[str | None]) -> list[dict[str, Any]]:
    return [orjson.loads(v) if v else {} for v in values]


def first_user(messages: list[dict[str, Any]] | None) -> str:
    for m in messages or []:
        if m["role"] == "user":
            return m["content"]
    return ""


def last_assistant(messages: list[dict[str, Any]] | None) -> str:
    for m in reversed(messages or []):
        if m["role"] == "assistant":
            return m["content"]
    return ""


def first_text(messages: list[dict[str, Any]] | None) -> str:
    """The first user turn, or, for a row without one (a corpus fragment), its first text."""
    return first_user(messages) or next((m["content"] for m in messages or [] if m["content"]), "")


def funnel_blocks(folder: Path, m: dict[str, Any]) -> list[Table | Figure | Note]:
    src = f"{folder}/manifest.json (counts, steps[].in/out/removed)"
    rows = funnel_rows(m)
    read = m["counts"]["read"] or 0
    table = Table(
        "Funnel",
        ["step", "removed", "remaining", "removed % of the step's input", "remaining % of read"],
        [
            [
                r["step"],
                r["removed"],
                r["remaining"],
                None if r["removed"] is None else pct(r["removed"], r["removed"] + r["remaining"]),
                pct(r["remaining"], read),
            ]
            for r in rows
        ],
        src,
        note=f"{m['counts']['lines']:,} input lines, {m['counts']['quarantined']:,} quarantined as unreadable "
        f"(in quarantine/), {m['counts']['rejected']:,} rejected with a reason (in rejected/).",
    )
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(7.5, max(2.2, 0.38 * len(rows) + 1.2)))
    labels = [r["step"] for r in rows]
    ax.barh(range(len(rows)), [r["remaining"] for r in rows], color="#3b6ea8")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    for i, r in enumerate(rows):
        ax.text(r["remaining"], i, f" {r['remaining']:,}", va="center", fontsize=8)
    ax.set_xlabel("rows remaining after the step")
    ax.set_title(f"{m['stage']} funnel: {read:,} read → {m['counts']['kept']:,} kept", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return [Figure("Funnel chart", png_of(fig), src), table]


def _spread(items: list[tuple[str, int]]) -> bool:
    values = [v for _, v in items if v > 0]
    return bool(values) and max(values) >= 20 * min(values)


def pct(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def language_blocks(folder: Path, m: dict[str, Any]) -> list[Table | Figure | Note]:
    src = f"{folder}/manifest.json (languages, steps[].in_by_language/removed_by_language)"
    header, rows = language_table(m)
    out: list[Table | Figure | Note] = []
    kept = [(r[0], r[3]) for r in rows if r[3]]
    kept.sort(key=lambda kv: -kv[1])
    if kept:
        out.append(
            Figure(
                "Language distribution",
                bar_chart(
                    [k for k, _ in kept],
                    [v for _, v in kept],
                    title=f"rows kept per language ({rows_in_languages(dict(kept))})",
                    # Log scale only where sizes span orders of magnitude (the paper's Fig. 1).
                    ylabel="rows kept" + (" (log scale)" if _spread(kept) else ""),
                    log=_spread(kept),
                ),
                src,
            )
        )
    out.append(Table("Rows per language", header, rows, src))
    for step in m["steps"]:
        if step["name"] not in LID_STEPS or not step["removed"]:
            continue
        per = [
            (lang, n_in, step["removed_by_language"].get(lang, 0))
            for lang, n_in in step["in_by_language"].items()
        ]
        per.sort(key=lambda t: (-t[2] / t[1] if t[1] else 0, t[0]))
        shown = [p for p in per if p[2]][:40]
        ssrc = f"{folder}/manifest.json (steps[name={step['name']}].in_by_language/removed_by_language)"
        if shown:
            out.append(
                Figure(
                    f"LID removal per language ({step['name']})",
                    bar_chart(
                        [p[0] for p in shown],
                        [p[2] / p[1] for p in shown],
                        title=f"{step['name']}: share of each language's rows removed",
                        ylabel="removed",
                        horizontal=True,
                        percent=True,
                        color="#c44e52",
                    ),
                    ssrc,
                )
            )
        out.append(
            Table(
                f"LID removal per language ({step['name']})",
                ["language", "name", "in", "removed", "removed %"],
                [[lang, language_name(lang), n, k, pct(k, n)] for lang, n, k in per],
                ssrc,
                note="A row's language here is the one its source labelled (or the one detected when "
                "the source had none); the step removes rows whose detected language disagrees.",
            )
        )
    return out


def named_ids(folder: Path) -> set[str]:
    """The row ids rejection reasons name: a duplicate's original (``meta.dup_of``). Only those
    are blanked when reasons group; an id that is also a word ("empty") stays a word elsewhere."""
    t = read_parts(folder, "rejected", ["meta"])
    if t is None:
        return set()
    return {str(m["dup_of"]) for m in parse_meta(t.column("meta").to_pylist()) if m.get("dup_of")}


def rejection_blocks(folder: Path, stage: str) -> list[Table | Figure | Note]:
    """Rejections grouped by step and reason (ids and numbers blanked), with examples."""
    t = read_parts(folder, "rejected", ["id", "language", "messages", "step", "reason"])
    src = f"{folder}/rejected/*.parquet (step, reason)"
    if t is None or t.num_rows == 0:
        return [Note("No rows were rejected.", src)]
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    steps, reasons = t.column("step").to_pylist(), t.column("reason").to_pylist()
    ids, langs = t.column("id").to_pylist(), t.column("language").to_pylist()
    known = named_ids(folder)
    for i, (s, r) in enumerate(zip(steps, reasons, strict=True)):
        groups[(s, reason_pattern(r or "", known)[:100])].append(i)
    msgs = t.column("messages").to_pylist()
    rows = []
    for (s, kind), idx in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        ex = " ‖ ".join(
            f"[{ids[i][:24]}, {langs[i] or NO_LANGUAGE}] {excerpt(first_text(msgs[i]), 120)} — {reasons[i]}"
            for i in idx[:EXAMPLES]
        )
        rows.append([s, kind, len(idx), pct(len(idx), t.num_rows), ex])
    return [
        Table(
            f"{stage}: rejection reasons",
            ["step", "reason", "rows", "% of rejected", "examples (id, language, prompt — reason)"],
            rows,
            src,
        )
    ]


def finish_reason_blocks(
    finish: dict[str, Counter[str]], src: str, *, unit: str, note: str = ""
) -> list[Table | Figure | Note]:
    """The "Finish reasons" chart and table of a stage that calls a model (generate, reverse,
    translate). ``finish``: finish_reason -> Counter of the calls (or answers) it ended, keyed
    ``"data"`` (of kept rows) and ``"rejected"``; ``unit``: what is counted, plural ("calls",
    "answers"). Most frequent first, ties by name."""
    fr = sorted(finish.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    return [
        Figure(
            "Finish reasons",
            bar_chart(
                [k for k, _ in fr],
                [sum(v.values()) for _, v in fr],
                title=f"finish_reason of every {unit.removesuffix('s')}",
                ylabel=unit,
                color="#55a868",
                horizontal=True,
            ),
            src,
        ),
        Table(
            "Finish reasons",
            ["finish_reason", unit, "of kept rows", "of rejected rows"],
            [[k, sum(v.values()), v["data"], v["rejected"]] for k, v in fr],
            src,
            note=note,
        ),
    ]


def anchor(folder: Path, suffix: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", f"{folder.name}-{suffix}".lower()).strip("-")


def stage_section(folder: Path, m: dict[str, Any]) -> Section:
    """The section every runner stage's folder opens with: funnel, languages, rejections."""
    stage, c = m["stage"], m["counts"]
    return Section(
        anchor(folder, stage),
        f"{stage} · {folder.name}",
        str(folder),
        stage,
        funnel_blocks(folder, m) + language_blocks(folder, m) + rejection_blocks(folder, stage),
        summary=f"{c['read']:,} rows read → {c['kept']:,} kept, {c['rejected']:,} rejected, "
        f"{c['quarantined']:,} quarantined",
    )


def stage_sections(folder: Path, manifest: dict[str, Any]) -> list[Section]:
    """The report hook of a stage that adds nothing to :func:`stage_section` (extend, prefer, route)."""
    return [stage_section(folder, manifest)]
