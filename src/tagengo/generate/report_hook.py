"""generate's blocks for ``tagengo report``: the teacher's answers (finish reasons, tokens, cost,
cache, examples), read from each row's ``meta.generation``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from tagengo.records import NO_LANGUAGE
from tagengo.run.blocks import Figure, Note, Section, Table, plt, png_of
from tagengo.run.funnel import language_name
from tagengo.run.stage_blocks import anchor, finish_reason_blocks, parse_meta, read_parts, stage_section


def generate_blocks(folder: Path, m: dict[str, Any]) -> list[Table | Figure | Note]:
    """Tokens and cost per model, per language, the finish reasons and the answers' lengths."""
    rows = _generated(folder)
    src = f"{folder}/data/*.parquet and rejected/*.parquet (meta.generation)"
    if not rows:
        return [Note("No row carries meta.generation: nothing was generated.", src)]
    finish: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        finish[str(r["g"].get("finish_reason"))][r["where"]] += 1
    return [
        _model_table(rows, src),
        _language_table(rows, src),
        *finish_reason_blocks(finish, src, unit="answers"),
        _length_figure(rows, (m.get("config") or {}).get("max_tokens"), src),
    ]


def _generated(folder: Path) -> list[dict[str, Any]]:
    """Each kept or rejected row's id, language, folder, meta.generation and messages."""
    rows: list[dict[str, Any]] = []
    for sub in ("data", "rejected"):
        t = read_parts(folder, sub, ["id", "language", "meta", "messages"])
        if t is None:
            continue
        for rid, lang, meta, msgs in zip(
            t.column("id").to_pylist(),
            t.column("language").to_pylist(),
            parse_meta(t.column("meta").to_pylist()),
            t.column("messages").to_pylist(),
            strict=True,
        ):
            g = meta.get("generation")
            if isinstance(g, dict):
                rows.append({"id": rid, "language": lang or NO_LANGUAGE, "where": sub, "g": g, "msgs": msgs})
    return rows


def _model_table(rows: list[dict[str, Any]], src: str) -> Table:
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
    return Table(
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


def _language_table(rows: list[dict[str, Any]], src: str) -> Table:
    per_lang: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        g = r["g"]
        c = per_lang[r["language"]]
        c["rows"] += 1
        c["kept"] += r["where"] == "data"
        c["output_tokens"] += int(g.get("output_tokens") or 0)
        c["cost"] += float(g.get("cost") or 0.0)
    return Table(
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


def _length_figure(rows: list[dict[str, Any]], max_tokens: int | None, src: str) -> Figure:
    """The answers' lengths in tokens, with the --max-tokens line they were cut at."""
    toks = [int(r["g"].get("output_tokens") or 0) for r in rows]
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(7, 3.0))
    ax.hist(toks, bins=min(40, max(5, len(set(toks)))), color="#55a868")
    if max_tokens:
        ax.axvline(max_tokens, color="#c44e52", linestyle="--", label=f"max_tokens {max_tokens}")
        ax.legend(fontsize=8)
    ax.set_xlabel("output tokens per answer")
    ax.set_ylabel("answers")
    ax.set_title("answer length", fontsize=10)
    return Figure("Answer length", png_of(fig), src)


def report_blocks(folder: Path, m: dict[str, Any]) -> list[Section]:
    return [
        stage_section(folder, m),
        Section(
            anchor(folder, "generation"),
            f"generation · {folder.name}",
            str(folder),
            "generation",
            generate_blocks(folder, m),
            summary=f"model {(m.get('llm') or {}).get('model_id')}",
        ),
    ]
