"""``--report``: per-language histograms of nearest-neighbour similarity, threshold drawn.

For each distinct prompt of a language, its highest cosine similarity to any other
distinct prompt of that language. Mass to the right of the threshold is what gets
removed; a second hump just left of it says the threshold is cutting through a cluster of
near-duplicates, one well right of it says the data repeats itself. Exact copies are
settled before embedding and are not in the histogram (their count is in the manifest).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from tagengo.run.wording import plural

PNG_NAME = "dedup_nn_similarity.png"
JSON_NAME = "dedup_nn_similarity.json"
MAX_PANELS = 24


def histogram(values: np.ndarray, bins: int = 50, lo: float | None = None) -> dict:
    v = values[np.isfinite(values)]
    if len(v) == 0:
        return {"n": 0, "edges": [], "counts": []}
    low = float(v.min()) if lo is None else lo
    counts, edges = np.histogram(v, bins=bins, range=(min(low, 1.0 - 1e-3), 1.0))
    return {"n": int(len(v)), "edges": [round(float(e), 5) for e in edges], "counts": counts.tolist()}


def write_nn_report(
    nn: dict[str, np.ndarray],
    threshold: float,
    directory: Path,
    removal_rates: dict[str, float] | None = None,
    embedder: str = "",
    closest_kept: dict[str, list[dict]] | None = None,
) -> list[Path]:
    """Write ``dedup_nn_similarity.png`` (one panel per language, largest first) and
    ``dedup_nn_similarity.json`` (the histogram counts, and per language ``closest_kept``: kept
    prompts just below the threshold with their nearest neighbour, from
    ``step.closest_kept_pairs``). Returns the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    directory.mkdir(parents=True, exist_ok=True)
    removal_rates = removal_rates or {}
    langs = sorted(nn, key=lambda k: -len(nn[k]))
    shown = langs[:MAX_PANELS]
    cols = min(4, max(1, len(shown)))
    rows = max(1, math.ceil(len(shown) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.6 * rows), dpi=110, squeeze=False)
    finite = [v[np.isfinite(v)] for v in nn.values()]
    lo = min([float(v.min()) for v in finite if len(v)] + [threshold - 0.05])
    numbers = {"threshold": threshold, "embedder": embedder, "languages": {}}
    for ax, lang in zip(axes.flat, shown):
        h = histogram(nn[lang], lo=lo)
        numbers["languages"][lang] = {**h, "above_threshold": int((nn[lang] > threshold).sum())}
        if h["n"]:
            ax.stairs(h["counts"], h["edges"], fill=True, color="#4c72b0", alpha=0.8)
        ax.axvline(threshold, color="#c44e52", linestyle="--", linewidth=1.2)
        rate = removal_rates.get(lang)
        ax.set_title(
            f"{lang}: {h['n']:,} prompts" + (f", {rate:.0%} removed" if rate is not None else ""), fontsize=9
        )
        ax.tick_params(labelsize=7)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_yscale("log" if h["n"] > 200 else "linear")
    for ax in list(axes.flat)[len(shown) :]:
        ax.axis("off")
    for lang in langs[MAX_PANELS:]:
        numbers["languages"][lang] = {
            **histogram(nn[lang], lo=lo),
            "above_threshold": int((nn[lang] > threshold).sum()),
        }
    fig.suptitle(
        f"Nearest-neighbour cosine similarity per language (dashed: threshold {threshold})"
        + (f"\n{embedder}" if embedder else "")
        + (
            f" — {plural(len(langs) - len(shown), 'smaller language')} only in the JSON"
            if len(langs) > len(shown)
            else ""
        ),
        fontsize=10,
    )
    fig.supxlabel("highest similarity to another prompt of the same language", fontsize=9)
    fig.tight_layout()
    png = directory / PNG_NAME
    fig.savefig(png)
    plt.close(fig)
    for lang, pairs in (closest_kept or {}).items():
        if lang in numbers["languages"]:
            numbers["languages"][lang]["closest_kept"] = pairs
    js = directory / JSON_NAME
    js.write_text(json.dumps(numbers, indent=1, ensure_ascii=False))
    return [png, js]
