"""The contamination report: ``report/contamination.json``, ``contamination.md`` and
``contamination_similarity.png`` (per benchmark: each row's highest cosine to its questions,
with the threshold drawn).

Counts are per benchmark and, inside it, per language of the training rows: for each check,
how many rows match at least one of the benchmark's questions. ``any`` counts a row once
whatever the number of checks that fired.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tagengo.contamination.match import RowResult
from tagengo.io.bench_layout import Bench
from tagengo.records import NO_LANGUAGE, Record
from tagengo.run.wording import plural

#: Histogram bins of the cosine similarity (the bundled model's scores lie in 0.6-1.0).
BINS = np.round(np.arange(0.5, 1.0001, 0.01), 2)
REPORT_JSON = "contamination.json"
REPORT_MD = "contamination.md"
REPORT_PNG = "contamination_similarity.png"


def _excerpt(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def build_report(
    records: Sequence[Record],
    segments: Sequence[Sequence[str]],
    results: Sequence[RowResult],
    benches: Sequence[Bench],
    checks: Sequence[str],
    *,
    examples: int,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """The report as a JSON-ready dict (see module doc)."""
    question_text = {
        (b.name, q.key, t): text for b in benches for q in b.questions for t, text in enumerate(q.turns)
    }
    out_benches: dict[str, Any] = {}
    for b in benches:
        counts = dict.fromkeys([*checks, "any"], 0)
        by_lang: dict[str, dict[str, int]] = {}
        shown: dict[str, list[dict[str, Any]]] = {c: [] for c in checks}
        cosines: list[float] = []
        for rec, segs, res in zip(records, segments, results, strict=True):
            lang = rec.language or NO_LANGUAGE
            row_counts = by_lang.setdefault(lang, {"rows": 0, **dict.fromkeys([*checks, "any"], 0)})
            row_counts["rows"] += 1
            if b.name in res.best_cosine:
                cosines.append(res.best_cosine[b.name])
            hit = False
            for check, per_bench in res.matches.items():
                m = per_bench.get(b.name)
                if m is None:
                    continue
                hit = True
                counts[check] += 1
                row_counts[check] += 1
                if len(shown[check]) < examples:
                    t = m.target
                    shown[check].append(
                        {
                            "id": rec.id,
                            "language": rec.language,
                            "text": _excerpt(segs[m.row_turn]),
                            **m.to_json(),
                            "question": _excerpt(question_text[(t.bench, str(t.question_id), t.turn)]),
                        }
                    )
            if hit:
                counts["any"] += 1
                row_counts["any"] += 1
        hist = None
        if cosines:
            c, _ = np.histogram(np.clip(cosines, BINS[0], BINS[-1]), bins=BINS)
            hist = {"edges": BINS.tolist(), "counts": c.tolist(), "rows": len(cosines)}
        out_benches[b.name] = {
            "language": b.language,
            "language_source": b.language_source,
            "questions": len(b.questions),
            "path": str(b.path),
            "matched_rows": counts,
            "by_language": dict(
                sorted(by_lang.items(), key=lambda kv: (-kv[1]["any"], -kv[1]["rows"], kv[0]))
            ),
            "examples": shown,
            "cosine_histogram": hist,
        }
    matched = sum(1 for r in results if r.matches)
    return {
        "rows": len(records),
        "rows_matched": matched,
        "checks": list(checks),
        **extra,
        "benches": out_benches,
    }


def write_report(report: dict[str, Any], folder: Path) -> list[Path]:
    """Write the JSON, the Markdown and (when there are cosines) the PNG into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / REPORT_JSON, folder / REPORT_MD]
    (folder / REPORT_JSON).write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    (folder / REPORT_MD).write_text(to_markdown(report))
    if any(b["cosine_histogram"] for b in report["benches"].values()):
        plot_histograms(report, folder / REPORT_PNG)
        written.append(folder / REPORT_PNG)
    return written


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(report: dict[str, Any]) -> str:
    checks = report["checks"]
    lines = [
        "# Benchmark contamination",
        "",
        f"{report['rows']:,} rows compared, {report['rows_matched']:,} match at least one benchmark question"
        + (f"; {report['dropped']:,} dropped (in rejected/)" if report.get("dropped") is not None else "")
        + ".",
        "",
        "Rules: " + "; ".join(f"**{k}** {v}" for k, v in report.get("rules", {}).items()),
        "",
        "| benchmark | language | questions | " + " | ".join(checks) + " | any |",
        "| --- | --- | ---: | " + " | ".join("---:" for _ in checks) + " | ---: |",
    ]
    for name, b in report["benches"].items():
        mr = b["matched_rows"]
        lines.append(
            f"| {name} | {b['language'] or '?'} | {b['questions']} | "
            + " | ".join(str(mr[c]) for c in checks)
            + f" | {mr['any']} |"
        )
    for name, b in report["benches"].items():
        lines += ["", f"## {name} ({b['language'] or 'language unknown'})", ""]
        lines += [
            "| row language | rows | " + " | ".join(checks) + " | any |",
            "| --- | ---: | " + " | ".join("---:" for _ in checks) + " | ---: |",
        ]
        for lang, c in b["by_language"].items():
            if c["any"]:
                lines.append(
                    f"| {lang} | {c['rows']} | " + " | ".join(str(c[k]) for k in checks) + f" | {c['any']} |"
                )
        quiet = sum(1 for c in b["by_language"].values() if not c["any"])
        if quiet:
            lines.append(
                f"| ({plural(quiet, 'other language')}: no match) | | "
                + " | ".join("" for _ in checks)
                + " | |"
            )
        for check, items in b["examples"].items():
            if not items:
                continue
            lines += [
                "",
                f"Examples, {check}:",
                "",
                "| row | lang | row text | question | similarity |",
                "| --- | --- | --- | --- | ---: |",
            ]
            for e in items:
                lines.append(
                    f"| {_cell(e['id'])} | {e['language'] or ''} | {_cell(e['text'])} | "
                    f"{e['question_id']}/{e['turn']}: {_cell(e['question'])} | {e['similarity']} |"
                )
    if any(b["cosine_histogram"] for b in report["benches"].values()):
        lines += ["", f"![highest cosine per row and benchmark]({REPORT_PNG})"]
    return "\n".join(lines) + "\n"


def plot_histograms(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = [(n, b) for n, b in report["benches"].items() if b["cosine_histogram"]]
    cols = min(3, len(items))
    rows = -(-len(items) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.8 * rows), squeeze=False)
    threshold = report.get("threshold")
    for ax, (name, b) in zip(axes.flat, items, strict=False):
        h = b["cosine_histogram"]
        edges = np.array(h["edges"])
        ax.bar(edges[:-1], h["counts"], width=np.diff(edges), align="edge", color="#3b6ea8")
        ax.set_yscale("symlog", linthresh=1)
        if threshold is not None:
            ax.axvline(threshold, color="#c0392b", lw=1.2, label=f"threshold {threshold}")
            ax.legend(fontsize=7, loc="upper left")
        ax.set_title(
            f"{name} ({b['language'] or '?'}): {b['matched_rows'].get('embedding', 0)} above", fontsize=9
        )
        ax.set_xlabel("highest cosine to a question", fontsize=8)
        ax.set_ylabel("rows", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(items) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report_blocks(folder: Path) -> list[Any]:
    """Blocks for ``tagengo report`` (tagengo.contamination.report_hook) from ``folder/report/``: the counts per
    benchmark, the histogram PNG and the examples; every number from contamination.json."""
    from tagengo.run.blocks import Figure, Note, Table

    path = folder / "report" / REPORT_JSON
    if not path.exists():
        return [Note(f"no {path} (the run wrote no report)", str(path))]
    rep = json.loads(path.read_text())
    checks = rep["checks"]
    src = f"{path} (benches[].matched_rows)"
    blocks: list[Any] = [
        Table(
            "Rows matching a benchmark question, per check",
            ["benchmark", "language", "questions", *checks, "any"],
            [
                [
                    name,
                    b["language"],
                    b["questions"],
                    *(b["matched_rows"][c] for c in checks),
                    b["matched_rows"]["any"],
                ]
                for name, b in rep["benches"].items()
            ],
            src,
            note="; ".join(f"{k}: {v}" for k, v in rep.get("rules", {}).items()),
        )
    ]
    png = folder / "report" / REPORT_PNG
    if png.exists():
        blocks.append(
            Figure("Highest cosine per row and benchmark", png.read_bytes(), f"{path} (cosine_histogram)")
        )
    rows = [
        [
            name,
            check,
            e["id"],
            e["language"],
            e["text"],
            f"{e['question_id']}/{e['turn']}: {e['question']}",
            e["similarity"],
        ]
        for name, b in rep["benches"].items()
        for check, items in b["examples"].items()
        for e in items[:2]
    ]
    if rows:
        blocks.append(
            Table(
                "Examples",
                ["benchmark", "check", "row", "lang", "row text", "question", "similarity"],
                rows,
                f"{path} (benches[].examples)",
            )
        )
    return blocks
