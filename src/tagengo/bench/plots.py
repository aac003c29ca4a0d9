"""Pictures of bench scores: a radar chart per language over the eight categories (the
MT-Bench paper's figure) and a heatmap of models x languages (Tagengo's Table 2 at a glance).
matplotlib with the Agg backend: files only, no display needed.
"""

from __future__ import annotations

import math
from pathlib import Path

from tagengo.io.fastchat import CATEGORIES


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: Path) -> Path:  # noqa: ANN001 - matplotlib's module and Figure
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def radar_chart(
    scores: dict[str, dict[str, float]],
    path: Path,
    title: str,
    categories: list[str] | None = None,
) -> Path:
    """``scores[model][category]`` -> one closed line per model on a 0-10 polar grid.
    Categories default to MT-Bench's eight; a category a model lacks is drawn at 0 and the
    legend says so, rather than silently bending the polygon."""
    plt = _plt()
    cats = list(categories or CATEGORIES)
    angles = [2 * math.pi * i / len(cats) for i in range(len(cats))]
    fig, ax = plt.subplots(figsize=(6.4, 6.4), subplot_kw={"polar": True})
    for model in sorted(scores):
        vals = [scores[model].get(c, float("nan")) for c in cats]
        missing = [c for c, v in zip(cats, vals, strict=True) if math.isnan(v)]
        drawn = [0.0 if math.isnan(v) else v for v in vals]
        label = model if not missing else f"{model} (no {', '.join(missing)})"
        ax.plot(angles + angles[:1], drawn + drawn[:1], linewidth=1.6, label=label)
        ax.fill(angles + angles[:1], drawn + drawn[:1], alpha=0.08)
    ax.set_xticks(angles)
    ax.set_xticklabels(cats)
    ax.set_ylim(0, 10)
    ax.set_yticks([2, 4, 6, 8, 10])
    ax.set_rlabel_position(360 / len(cats) / 2)  # radial labels between two axes, not on one
    ax.set_title(title, pad=18)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), fontsize=8, ncol=2 if len(scores) > 4 else 1)
    return _save(plt, fig, path)


def heatmap(
    table: dict[str, dict[str, float]],
    path: Path,
    title: str,
    columns: list[str] | None = None,
) -> Path:
    """``table[model][column]`` (columns: languages) as an annotated heatmap on a 1-10 scale."""
    plt = _plt()
    import numpy as np

    def mean(m: str) -> float:
        vals = [v for v in table[m].values() if not math.isnan(v)]
        return sum(vals) / len(vals) if vals else float("-inf")

    models = sorted(table, key=lambda m: -mean(m))
    cols = columns or sorted({c for row in table.values() for c in row})
    data = np.array([[table[m].get(c, np.nan) for c in cols] for m in models], dtype=float)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.6 + 0.9 * len(cols)), max(2.4, 1.2 + 0.45 * len(models))))
    im = ax.imshow(np.ma.masked_invalid(data), cmap="viridis", vmin=1, vmax=10, aspect="auto")
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels(cols)
    ax.set_yticks(range(len(models)))
    ax.set_yticklabels(models)
    for i in range(len(models)):
        for j in range(len(cols)):
            v = data[i, j]
            text = "-" if np.isnan(v) else f"{v:.2f}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                color="white" if (np.isnan(v) or v < 6) else "black",
                fontsize=8,
            )
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="score (1-10)")
    return _save(plt, fig, path)
