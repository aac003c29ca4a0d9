"""Report sections for dataset folders (curate, dedup, generate, mix, export; a train folder's
section is in :mod:`tagengo.report.train_section`).

Every number comes from one of the folder's own files, named in the block that shows it:
``manifest.json`` (counts, steps, per-language figures, step summaries), ``data/*.parquet``
and ``rejected/*.parquet`` (rows, their ``meta`` and rejection reasons),
``report/dedup_nn_similarity.json`` (dedup's nearest-neighbour histograms, when the run
wrote them) and ``export.json`` for an export folder. Nothing is recomputed from a model.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from tagengo.records import NO_LANGUAGE
from tagengo.report.blocks import Figure, Note, Section, Table, bar_chart, plt, png_of
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


def _meta(values: list[str | None]) -> list[dict[str, Any]]:
    return [orjson.loads(v) if v else {} for v in values]


def _first_user(messages: list[dict[str, Any]] | None) -> str:
    for m in messages or []:
        if m["role"] == "user":
            return m["content"]
    return ""


def _last_assistant(messages: list[dict[str, Any]] | None) -> str:
    for m in reversed(messages or []):
        if m["role"] == "assistant":
            return m["content"]
    return ""


def _first_text(messages: list[dict[str, Any]] | None) -> str:
    """The first user turn, or, for a row without one (a corpus fragment), its first text."""
    return _first_user(messages) or next((m["content"] for m in messages or [] if m["content"]), "")


# --- curate (any stage with a manifest: the funnel and languages) ------------------------


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
                None if r["removed"] is None else _pct(r["removed"], r["removed"] + r["remaining"]),
                _pct(r["remaining"], read),
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


def _pct(part: float, whole: float) -> float | None:
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
                [[lang, language_name(lang), n, k, _pct(k, n)] for lang, n, k in per],
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
    return {str(m["dup_of"]) for m in _meta(t.column("meta").to_pylist()) if m.get("dup_of")}


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
            f"[{ids[i][:24]}, {langs[i] or NO_LANGUAGE}] {excerpt(_first_text(msgs[i]), 120)} — {reasons[i]}"
            for i in idx[:EXAMPLES]
        )
        rows.append([s, kind, len(idx), _pct(len(idx), t.num_rows), ex])
    return [
        Table(
            f"{stage}: rejection reasons",
            ["step", "reason", "rows", "% of rejected", "examples (id, language, prompt — reason)"],
            rows,
            src,
        )
    ]


# --- dedup ------------------------------------------------------------------------------


def dedup_blocks(folder: Path, m: dict[str, Any], step: dict[str, Any]) -> list[Table | Figure | Note]:
    summ = step.get("summary") or {}
    threshold = summ.get("threshold")
    msrc = f"{folder}/manifest.json (steps[name=dedup].summary.languages)"
    out: list[Table | Figure | Note] = []
    langs = summ.get("languages") or {}
    if langs:
        rows = [
            [
                lang,
                language_name(lang),
                s.get("in", 0),
                s.get("exact_copies"),
                s.get("minhash_removed"),
                s.get("embedding_removed"),
                s.get("removed", 0),
                round(100 * s.get("removal_rate", 0.0), 2),
                s.get("search"),
            ]
            for lang, s in langs.items()
        ]
        shown = [r for r in sorted(rows, key=lambda r: -r[7]) if r[6]][:40]
        if shown:
            out.append(
                Figure(
                    "Dedup removal rate per language",
                    bar_chart(
                        [r[0] for r in shown],
                        [r[7] / 100 for r in shown],
                        title="share of each language's rows removed as (near-)duplicates",
                        ylabel="removed",
                        horizontal=True,
                        percent=True,
                        color="#8172b2",
                    ),
                    msrc,
                )
            )
        out.append(
            Table(
                "Dedup per language",
                [
                    "language",
                    "name",
                    "in",
                    "exact copies",
                    "MinHash removed",
                    "embedding removed",
                    "removed",
                    "removed %",
                    "search",
                ],
                rows,
                msrc,
                note=f"method {summ.get('method')}, semantics {summ.get('semantics')}, embedder "
                f"{summ.get('embedder')}, cosine threshold {threshold} ({summ.get('threshold_source')}).",
            )
        )
    rej = read_parts(folder, "rejected", ["id", "language", "messages", "meta", "step", "reason"])
    pairs: list[dict[str, Any]] = []
    if rej is not None and rej.num_rows:
        sel = [i for i, s in enumerate(rej.column("step").to_pylist()) if s == step["name"]]
        rej = rej.take(sel)
        metas = _meta(rej.column("meta").to_pylist())
        msgs = rej.column("messages").to_pylist()
        for i, meta in enumerate(metas):
            if "similarity" in meta:
                pairs.append(
                    {
                        "id": rej.column("id")[i].as_py(),
                        "language": rej.column("language")[i].as_py() or NO_LANGUAGE,
                        "dup_of": meta.get("dup_of"),
                        "similarity": float(meta["similarity"]),
                        "by": meta.get("dedup_by"),
                        "prompt": _first_user(msgs[i]),
                    }
                )
    hist_path = folder / "report" / "dedup_nn_similarity.json"
    if hist_path.exists():
        out += _nn_histogram(hist_path, threshold)
    elif pairs and threshold is not None:
        sims = [p["similarity"] for p in pairs if p["by"] == "embedding"]
        if sims:
            pyplot = plt()
            fig, ax = pyplot.subplots(figsize=(7, 3.2))
            ax.hist(sims, bins=30, color="#8172b2")
            ax.axvline(threshold, color="#c44e52", linestyle="--", label=f"threshold {threshold}")
            ax.set_xlabel("cosine similarity of each removed prompt to the prompt it duplicates")
            ax.set_ylabel("rows")
            ax.legend(fontsize=8)
            ax.set_title("similarity of removed near-duplicates (removed side only)", fontsize=10)
            out.append(
                Figure(
                    "Similarity histogram",
                    png_of(fig),
                    f"{folder}/rejected/*.parquet (meta.similarity, step dedup)",
                )
            )
            out.append(
                Note(
                    "Only the removed side is known from the folder: run dedup with report: true "
                    "(--report) to have the nearest-neighbour similarity of every prompt, kept ones "
                    "included, in report/dedup_nn_similarity.json.",
                )
            )
    if pairs:
        out.append(_pair_table(folder, pairs, threshold))
    if hist_path.exists():
        out += _kept_pair_table(folder, hist_path)
    return out


def _prompts_by_id(folder: Path, wanted: set[str]) -> dict[str, str]:
    """The first user turn of the rows with these ids, kept or rejected."""
    found: dict[str, str] = {}
    for sub in ("data", "rejected"):
        t = read_parts(folder, sub, ["id", "messages"])
        if t is None:
            continue
        for rid, msgs in zip(t.column("id").to_pylist(), t.column("messages").to_pylist(), strict=True):
            if rid in wanted and rid not in found:
                found[rid] = _first_user(msgs)
    return found


def _kept_pair_table(folder: Path, path: Path) -> list[Table | Figure | Note]:
    """The other side of the threshold: kept prompts whose nearest neighbour came closest to
    it without passing (dedup --report records them as ``closest_kept``)."""
    data = json.loads(path.read_text())
    threshold = data.get("threshold")
    pairs = [(lang, p) for lang, h in data["languages"].items() for p in h.get("closest_kept") or []]
    src = f"{path} (languages[].closest_kept) and {folder}/data, rejected/*.parquet (messages)"
    if not pairs:
        if any("closest_kept" in h for h in data["languages"].values()):
            return [Note("No kept prompt has a neighbour below the threshold to show.", src)]
        return [
            Note(
                "This folder's report/dedup_nn_similarity.json has no closest_kept entries (written before "
                "dedup --report recorded them): re-run dedup with --report to see kept pairs just below the "
                "threshold.",
                str(path),
            )
        ]
    pairs.sort(key=lambda lp: -lp[1]["similarity"])
    text = _prompts_by_id(folder, {p["id"] for _, p in pairs} | {p["neighbour"] for _, p in pairs})
    rows = [
        [
            lang,
            p["similarity"],
            f"{p['id']}: {excerpt(text.get(p['id'], '(not found)'), 160)}",
            f"{p['neighbour']}: {excerpt(text.get(p['neighbour'], '(not found)'), 160)}",
            "kept" if p["neighbour_kept"] else "removed (a duplicate of another)",
        ]
        for lang, p in pairs[: 2 * PAIRS]
    ]
    return [
        Table(
            "Kept pairs just below the threshold",
            ["language", "similarity", "kept prompt", "its nearest neighbour", "neighbour"],
            rows,
            src,
            note=f"The closest calls the threshold ({threshold}) let through: kept prompts whose most similar "
            "prompt of the same language scores highest without passing it (cosine, exact).",
        )
    ]


def _nn_histogram(path: Path, threshold: float | None) -> list[Table | Figure | Note]:
    data = json.loads(path.read_text())
    threshold = data.get("threshold", threshold)
    total: list[int] = []
    edges: list[float] = []
    for h in data["languages"].values():
        if not h["n"]:
            continue
        if not edges:
            edges, total = h["edges"], list(h["counts"])
        elif h["edges"] == edges:
            total = [a + b for a, b in zip(total, h["counts"], strict=True)]
    if not edges:
        return []
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(7, 3.2))
    ax.stairs(total, edges, fill=True, color="#4c72b0", alpha=0.85)
    ax.axvline(threshold, color="#c44e52", linestyle="--", label=f"threshold {threshold}")
    ax.set_xlabel("highest cosine similarity to another prompt of the same language")
    ax.set_ylabel("prompts")
    ax.legend(fontsize=8)
    ax.set_title("nearest-neighbour similarity, all languages (right of the line: removed)", fontsize=10)
    src = f"{path} (languages[].edges/counts)"
    rows = [
        [lang, language_name(lang), h["n"], h["above_threshold"], _pct(h["above_threshold"], h["n"])]
        for lang, h in data["languages"].items()
    ]
    return [
        Figure("Similarity histogram", png_of(fig), src),
        Table(
            "Prompts above the threshold per language",
            ["language", "name", "distinct prompts", "nearest neighbour above threshold", "%"],
            rows,
            f"{path} (languages[].n/above_threshold)",
        ),
    ]


def _pair_table(folder: Path, pairs: list[dict[str, Any]], threshold: float | None) -> Table:
    """Removed rows next to the row they duplicate: the closest calls just above the threshold
    and the clearest cases far above it."""
    kept = read_parts(folder, "data", ["id", "messages"])
    originals: dict[str, str] = {}
    wanted = {p["dup_of"] for p in pairs}
    if kept is not None:
        for rid, msgs in zip(kept.column("id").to_pylist(), kept.column("messages").to_pylist(), strict=True):
            if rid in wanted:
                originals[rid] = _first_user(msgs)
    emb = sorted((p for p in pairs if p["by"] != "exact-text"), key=lambda p: p["similarity"])
    chosen = emb[:PAIRS] + [p for p in emb[::-1][:PAIRS] if p not in emb[:PAIRS]]
    chosen += [p for p in pairs if p["by"] == "exact-text"][:2]
    rows = [
        [
            p["language"],
            p["similarity"],
            p["by"],
            f"{p['id']}: {excerpt(p['prompt'], 160)}",
            f"{p['dup_of']}: {excerpt(originals.get(p['dup_of'], '(not in data/)'), 160)}",
        ]
        for p in chosen
    ]
    return Table(
        "Example pairs",
        ["language", "similarity", "by", "removed prompt", "kept prompt it duplicates"],
        rows,
        f"{folder}/rejected/*.parquet (meta.dup_of/similarity/dedup_by) and {folder}/data/*.parquet",
        note=f"Closest calls above the threshold ({threshold}) first, then the clearest duplicates. "
        "Pairs just below it, both kept, follow when dedup ran with --report.",
    )


# --- generate ---------------------------------------------------------------------------


def generate_blocks(folder: Path, m: dict[str, Any]) -> list[Table | Figure | Note]:
    rows: list[dict[str, Any]] = []
    for sub in ("data", "rejected"):
        t = read_parts(folder, sub, ["id", "language", "meta", "messages"])
        if t is None:
            continue
        for rid, lang, meta, msgs in zip(
            t.column("id").to_pylist(),
            t.column("language").to_pylist(),
            _meta(t.column("meta").to_pylist()),
            t.column("messages").to_pylist(),
            strict=True,
        ):
            g = meta.get("generation")
            if isinstance(g, dict):
                rows.append({"id": rid, "language": lang or NO_LANGUAGE, "where": sub, "g": g, "msgs": msgs})
    src = f"{folder}/data/*.parquet and rejected/*.parquet (meta.generation)"
    if not rows:
        return [Note("No row carries meta.generation: nothing was generated.", src)]
    out: list[Table | Figure | Note] = []
    by_model: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        g = r["g"]
        c = by_model[str(g.get("model"))]
        c["rows"] += 1
        c["kept"] += r["where"] == "data"
        c["input_tokens"] += int(g.get("input_tokens") or 0)
        c["output_tokens"] += int(g.get("output_tokens") or 0)
        c["cost"] += float(g.get("cost") or 0.0)
        c["cached"] += bool(g.get("cached"))
        c["latency"] += float(g.get("latency_s") or 0.0)
    out.append(
        Table(
            "Tokens and cost",
            [
                "model",
                "rows",
                "kept",
                "input tokens",
                "output tokens",
                "cost (USD)",
                "from cache",
                "mean latency (s)",
            ],
            [
                [
                    model,
                    c["rows"],
                    c["kept"],
                    c["input_tokens"],
                    c["output_tokens"],
                    round(c["cost"], 6),
                    c["cached"],
                    round(c["latency"] / c["rows"], 3) if c["rows"] else None,
                ]
                for model, c in by_model.items()
            ],
            src,
            note="Cost is what the client's price table gave per call (0 for local backends).",
        )
    )
    per_lang: dict[str, Counter] = defaultdict(Counter)
    finish: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        g = r["g"]
        c = per_lang[r["language"]]
        c["rows"] += 1
        c["kept"] += r["where"] == "data"
        c["output_tokens"] += int(g.get("output_tokens") or 0)
        c["cost"] += float(g.get("cost") or 0.0)
        finish[str(g.get("finish_reason"))][r["where"]] += 1
    out.append(
        Table(
            "Per language",
            ["language", "name", "rows", "kept", "output tokens", "mean output tokens", "cost (USD)"],
            [
                [
                    lang,
                    language_name(lang),
                    c["rows"],
                    c["kept"],
                    c["output_tokens"],
                    round(c["output_tokens"] / c["rows"], 1),
                    round(c["cost"], 6),
                ]
                for lang, c in sorted(per_lang.items(), key=lambda kv: -kv[1]["rows"])
            ],
            src,
        )
    )
    out += finish_reason_blocks(finish, src, unit="answers")
    toks = [int(r["g"].get("output_tokens") or 0) for r in rows]
    max_tokens = (m.get("config") or {}).get("max_tokens")
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(7, 3.0))
    ax.hist(toks, bins=min(40, max(5, len(set(toks)))), color="#55a868")
    if max_tokens:
        ax.axvline(max_tokens, color="#c44e52", linestyle="--", label=f"max_tokens {max_tokens}")
        ax.legend(fontsize=8)
    ax.set_xlabel("output tokens per answer")
    ax.set_ylabel("answers")
    ax.set_title("answer length", fontsize=10)
    out.append(Figure("Answer length", png_of(fig), src))
    return out


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


# --- mix --------------------------------------------------------------------------------


def mix_blocks(folder: Path, m: dict[str, Any]) -> list[Table | Figure | Note]:
    t = read_parts(folder, "data", ["language", "source"])
    src = f"{folder}/data/*.parquet (language, source)"
    if t is None or t.num_rows == 0:
        return [Note("The mixture has no rows.", src)]
    counts = Counter(
        zip(
            [x or NO_LANGUAGE for x in t.column("language").to_pylist()],
            t.column("source").to_pylist(),
            strict=True,
        )
    )
    langs = sorted(
        {k[0] for k in counts}, key=lambda lang: -sum(v for k, v in counts.items() if k[0] == lang)
    )
    sources = sorted({k[1] for k in counts})
    rows = [
        [
            lang,
            language_name(lang),
            *[counts.get((lang, s), 0) for s in sources],
            sum(counts.get((lang, s), 0) for s in sources),
        ]
        for lang in langs
    ]
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(max(5.5, 0.3 * len(langs) + 2.5), 3.6))
    bottom = [0] * len(langs)
    for s in sources:
        vals = [counts.get((lang, s), 0) for lang in langs]
        ax.bar(range(len(langs)), vals, bottom=bottom, label=s)
        bottom = [a + b for a, b in zip(bottom, vals, strict=True)]
    ax.set_xticks(range(len(langs)))
    ax.set_xticklabels(langs, rotation=90 if len(langs) > 8 else 0, fontsize=8)
    ax.set_ylabel("rows")
    ax.legend(fontsize=7, title="source", title_fontsize=7)
    ax.set_title(
        f"mixture '{m.get('recipe') or (m.get('config') or {}).get('recipe')}': rows per language and source",
        fontsize=10,
    )
    return [
        Figure("Rows per language and source", png_of(fig), src),
        Table("Rows per language and source", ["language", "name", *sources, "total"], rows, src),
    ]


# --- export -----------------------------------------------------------------------------


def export_blocks(folder: Path, m: dict[str, Any]) -> list[Table | Figure | Note]:
    src = f"{folder}/export.json (languages, files, counts)"
    out: list[Table | Figure | Note] = [
        Table(
            "Exported files",
            ["file", "split", "rows", "bytes", "sha256"],
            [[n, f["split"], f["rows"], f["bytes"], f["sha256"][:16]] for n, f in m["files"].items()],
            src,
        ),
        Table(
            "Rows per language",
            ["language", "name", "train", "validation", "skipped"],
            [
                [lang, language_name(lang), v["train"], v["validation"], v["skipped"]]
                for lang, v in m["languages"].items()
            ],
            src,
        ),
    ]
    return out


# --- dispatch ---------------------------------------------------------------------------


def _anchor(folder: Path, suffix: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", f"{folder.name}-{suffix}".lower()).strip("-")


def dataset_sections(folder: Path) -> list[Section]:
    """The sections for one dataset folder (one with ``manifest.json``, or an export with
    ``export.json``); empty when the folder is neither."""
    from tagengo.run.dataset import read_manifest

    folder = Path(folder)
    export_json = folder / "export.json"
    if export_json.exists() and not (folder / "manifest.json").exists():
        m = json.loads(export_json.read_text())
        return [
            Section(
                _anchor(folder, "export"),
                f"export · {folder.name}",
                str(folder),
                "export",
                export_blocks(folder, m),
                summary=f"{m['counts']['exported']:,} conversations exported as {m['config']['format']}",
            )
        ]
    m = read_manifest(folder)
    if m is None:
        return []
    from tagengo.report.train_section import is_train_manifest, train_sections

    if is_train_manifest(m):  # no funnel, no languages: a run, its curves and its data counts
        return train_sections(folder, m, _anchor(folder, "train"))
    from tagengo.eval.report import is_eval_manifest

    if is_eval_manifest(m):  # models x languages x tasks, the base model as the reference row
        from tagengo.eval.report import report_blocks as eval_blocks
        from tagengo.eval.report import summary as eval_summary

        return [
            Section(
                _anchor(folder, "eval"),
                f"eval · {folder.name}",
                str(folder),
                "eval",
                eval_blocks(folder, m),
                summary=eval_summary(m),
            )
        ]
    stage = m["stage"]
    c = m["counts"]
    out = [
        Section(
            _anchor(folder, stage),
            f"{stage} · {folder.name}",
            str(folder),
            stage,
            funnel_blocks(folder, m) + language_blocks(folder, m) + rejection_blocks(folder, stage),
            summary=f"{c['read']:,} rows read → {c['kept']:,} kept, {c['rejected']:,} rejected, "
            f"{c['quarantined']:,} quarantined",
        )
    ]
    for step in m["steps"]:
        if step["name"] == "dedup":
            s = step.get("summary") or {}
            out.append(
                Section(
                    _anchor(folder, "dedup"),
                    f"dedup · {folder.name}",
                    str(folder),
                    "dedup",
                    dedup_blocks(folder, m, step),
                    summary=f"{step['removed']:,} of {step['in']:,} rows removed as near-duplicates "
                    f"(threshold {s.get('threshold')})",
                )
            )
        if step["name"] == "contamination":
            from tagengo.contamination.report import report_blocks

            s = step.get("summary") or {}
            out.append(
                Section(
                    _anchor(folder, "benchmark-matches"),
                    f"benchmark contamination · {folder.name}",
                    str(folder),
                    "benchmark contamination",
                    report_blocks(folder),
                    summary=f"{s.get('rows_matched', 0):,} of {step['in']:,} rows match a benchmark question",
                )
            )
    if stage == "generate":
        out.append(
            Section(
                _anchor(folder, "generation"),
                f"generation · {folder.name}",
                str(folder),
                "generation",
                generate_blocks(folder, m),
                summary=f"model {(m.get('llm') or {}).get('model_id')}",
            )
        )
    if stage == "reverse":
        from tagengo.report.llm_sections import reverse_blocks

        out.append(
            Section(
                _anchor(folder, "instructions"),
                f"reverse instructions · {folder.name}",
                str(folder),
                "instructions",
                reverse_blocks(folder, m),
                summary=f"model {(m.get('llm') or {}).get('model_id')}, language "
                f"{(m.get('config') or {}).get('language')}, mode {(m.get('config') or {}).get('mode')}, "
                f"λ = {(m.get('config') or {}).get('min_score')}",
                data={"min_score": (m.get("config") or {}).get("min_score")},
            )
        )
    if stage == "translate":
        from tagengo.report.llm_sections import translate_blocks

        out.append(
            Section(
                _anchor(folder, "translation"),
                f"translation · {folder.name}",
                str(folder),
                "translation",
                translate_blocks(folder, m),
                summary=f"model {(m.get('llm') or {}).get('model_id')}, into "
                f"{', '.join((m.get('config') or {}).get('to') or [])}",
            )
        )
    if stage == "mix":
        out.append(
            Section(
                _anchor(folder, "mixture"),
                f"mixture · {folder.name}",
                str(folder),
                "mixture",
                mix_blocks(folder, m),
                summary=f"recipe {m.get('recipe')}, {c['kept']:,} rows",
            )
        )
    return out
