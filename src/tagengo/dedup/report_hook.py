"""dedup's blocks for ``tagengo report``: the funnel and languages of any stage folder, and for
every run of the near-duplicate step (in dedup, or as curate's last step) its removals per
language, the nearest-neighbour similarity histograms (``report/dedup_nn_similarity.json``, when
the run wrote them) and example pairs on each side of the threshold.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tagengo.records import NO_LANGUAGE
from tagengo.run.blocks import Figure, Note, Section, Table, bar_chart, plt, png_of
from tagengo.run.funnel import language_name
from tagengo.run.stage_blocks import (
    PAIRS,
    anchor,
    excerpt,
    first_user,
    parse_meta,
    pct,
    read_parts,
    stage_section,
)


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
        metas = parse_meta(rej.column("meta").to_pylist())
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
                        "prompt": first_user(msgs[i]),
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
                found[rid] = first_user(msgs)
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
        [lang, language_name(lang), h["n"], h["above_threshold"], pct(h["above_threshold"], h["n"])]
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
                originals[rid] = first_user(msgs)
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


def report_blocks(folder: Path, manifest: dict[str, Any]) -> list[Section]:
    """A dedup folder: the runner's section (its dedup step's own comes from :func:`step_blocks`)."""
    return [stage_section(folder, manifest)]


def step_blocks(folder: Path, m: dict[str, Any], step: dict[str, Any]) -> list[Section]:
    """The section of one run of the near-duplicate step, in whichever stage ran it."""
    s = step.get("summary") or {}
    return [
        Section(
            anchor(folder, "dedup"),
            f"dedup · {folder.name}",
            str(folder),
            "dedup",
            dedup_blocks(folder, m, step),
            summary=f"{step['removed']:,} of {step['in']:,} rows removed as near-duplicates "
            f"(threshold {s.get('threshold')})",
        )
    ]
