"""translate's blocks for ``tagengo report``: each translation's checks (language ID score,
length ratio, protected spans) per target language, the rejections with examples, and the
calls (tagengo.run.llm_blocks).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from tagengo.run.blocks import Figure, Note, Section, Table, plt, png_of
from tagengo.run.funnel import language_name
from tagengo.run.llm_blocks import Call, Row, call_blocks, call_of, median, read_rows
from tagengo.run.reasons import reason_pattern
from tagengo.run.stage_blocks import anchor, excerpt, named_ids, pct, stage_section

#: Examples shown per (language, reason) in the translation rejection table.
EXAMPLES = 2


def translate_calls(rows: list[Row]) -> list[Call]:
    """Every call of ``meta.translation.calls`` (one per translated message)."""
    return [
        call_of(r, "translate", c)
        for r in rows
        for c in ((r.meta.get("translation") or {}).get("calls") or [])
    ]


def translation_blocks(folder: Path, m: dict[str, Any], rows: list[Row]) -> list[Table | Figure | Note]:
    src = f"{folder}/data/*.parquet and rejected/*.parquet (language, meta.translation)"
    cfg = m.get("config") or {}
    targets, sources, lid_scores, ratios = _per_target(rows)
    if not targets:
        return [Note("No row carries meta.translation.to: nothing was translated.", src)]
    order = sorted(targets, key=lambda k: (-targets[k]["rows"], k))
    out: list[Table | Figure | Note] = [
        _rows_figure(targets, order, src),
        _rows_table(targets, order, sources, src),
    ]
    if lid_scores or ratios:
        out.append(_check_figure(folder, order, lid_scores, ratios, cfg))
    out += translation_rejections(folder, rows)
    return out


def _per_target(
    rows: list[Row],
) -> tuple[dict[str, dict[str, Any]], Counter, dict[str, list[tuple[float, bool]]], dict[str, list[float]]]:
    """Per target language: rows, kept, messages, untouched, protected spans, LID and length
    ratios; the source rows passed through by language; each target's (LID score, LID agreed)
    and length ratios for the check figure."""
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
    return targets, sources, lid_scores, ratios


def _rows_figure(targets: dict[str, dict[str, Any]], order: list[str], src: str) -> Figure:
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
    return Figure("Rows per target language", png_of(fig), src)


def _rows_table(targets: dict[str, dict[str, Any]], order: list[str], sources: Counter, src: str) -> Table:
    return Table(
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
                pct(t["rows"] - t["kept"], t["rows"]),
                t["messages"],
                t["untouched"],
                t["protected"],
                median(t["lid"]),
                round(min(t["lid"]), 4) if t["lid"] else None,
                t["other"],
                median(t["ratio"]),
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


def translate_blocks(folder: Path, m: dict[str, Any]) -> list[Table | Figure | Note]:
    rows = read_rows(folder)
    return translation_blocks(folder, m, rows) + call_blocks(
        folder, m, translate_calls(rows), "translation.calls", by_phase=False
    )


def report_blocks(folder: Path, m: dict[str, Any]) -> list[Section]:
    return [
        stage_section(folder, m),
        Section(
            anchor(folder, "translation"),
            f"translation · {folder.name}",
            str(folder),
            "translation",
            translate_blocks(folder, m),
            summary=f"model {(m.get('llm') or {}).get('model_id')}, into "
            f"{', '.join((m.get('config') or {}).get('to') or [])}",
        ),
    ]
