"""The λ report of `tagengo reverse`: how many pairs each judge threshold would keep.

For every language and λ = 1..5, the number of judged pairs scoring ≥ λ (pairs rejected
before the judge, or for an unparseable score, are not counted; pairs dropped later by the
back-translation check are, since their score is known). Written as ``lambda.md`` (table),
``lambda.json`` and ``lambda.png`` (one line per language) next to the data.
"""

from __future__ import annotations

import io
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson

from tagengo.run.dataset import atomic_write_bytes, atomic_write_json, atomic_write_text, read_table

LAMBDAS = (1, 2, 3, 4, 5)


def judged_scores(out: Path) -> dict[str, list[int]]:
    """language -> the judge's score of every judged pair in the folder (data and rejected)."""
    scores: dict[str, list[int]] = defaultdict(list)
    for sub in ("data", "rejected"):
        t = read_table(out, sub, ["language", "meta"])
        for lang, meta in zip(t.column("language").to_pylist(), t.column("meta").to_pylist(), strict=True):
            score = orjson.loads(meta).get("reverse", {}).get("score")
            if isinstance(score, int):
                scores[lang or "(none)"].append(score)
    return dict(scores)


def lambda_table(scores: dict[str, list[int]]) -> dict[str, dict[str, int]]:
    """language -> {"judged": n, "1": kept at λ=1, ..., "5": kept at λ=5}."""
    out: dict[str, dict[str, int]] = {}
    for lang in sorted(scores):
        s = scores[lang]
        out[lang] = {"judged": len(s), **{str(lam): sum(v >= lam for v in s) for lam in LAMBDAS}}
    return out


def lambda_markdown(table: dict[str, dict[str, int]], min_score: int) -> str:
    lines = [
        "# reverse: pairs kept per judge threshold λ",
        "",
        f"Judged pairs scoring ≥ λ, per language. This run kept λ = {min_score} (--min-score).",
        "",
        "| language | judged | " + " | ".join(f"λ={lam}" for lam in LAMBDAS) + " |",
        "| --- | ---: | " + " | ".join("---:" for _ in LAMBDAS) + " |",
    ]
    for lang, row in table.items():
        lines.append(
            f"| {lang} | {row['judged']:,} | " + " | ".join(f"{row[str(lam)]:,}" for lam in LAMBDAS) + " |"
        )
    if not table:
        lines.append("| (none) | 0 | " + " | ".join("0" for _ in LAMBDAS) + " |")
    return "\n".join(lines) + "\n"


def lambda_chart(table: dict[str, dict[str, int]], path: Path, min_score: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    for lang, row in table.items():
        ax.plot(LAMBDAS, [row[str(lam)] for lam in LAMBDAS], marker="o", label=lang)
    ax.axvline(min_score, color="grey", linestyle="--", linewidth=1, label=f"--min-score {min_score}")
    ax.set_xticks(LAMBDAS)
    ax.set_xlabel("judge threshold λ (keep score ≥ λ)")
    ax.set_ylabel("pairs kept")
    ax.set_title("reverse instructions kept per λ")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def write_lambda_report(out: Path, min_score: int) -> dict[str, dict[str, int]]:
    """Write lambda.md / lambda.json / lambda.png into the dataset folder ``out``; return the table."""
    out = Path(out)
    table = lambda_table(judged_scores(out))
    atomic_write_text(out / "lambda.md", lambda_markdown(table, min_score))
    payload: dict[str, Any] = {"min_score": min_score, "languages": table}
    atomic_write_json(out / "lambda.json", payload)
    lambda_chart(table, out / "lambda.png", min_score)
    return table
