"""The language chart of a dataset folder (languages.png), drawn without pyplot.

Its own module, below both its users: the funnel (tagengo.run.funnel) draws the real chart at the
end of a run, and the warm-up thread (tagengo.run.warm) draws a throwaway one during the calls.
"""

from __future__ import annotations

import io


def warm_up_chart() -> None:
    """Draw a throwaway chart like :func:`tagengo.run.funnel.language_chart`'s and discard it, so the real one
    finds matplotlib's backend, font lookups and the mathtext parser of its log-scale tick
    labels ready: 0.1-0.2 s of a run's end (tagengo.run.warm runs this during the calls)."""
    bar_chart_png([("en", 1000), ("ja", 10)], "warm-up: 1,010 rows in 2 languages")


def bar_chart_png(items: list[tuple[str, int]], title: str) -> bytes:
    # The object-oriented API, not pyplot: no process-wide figure registry, nothing to close.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = max(6, 0.28 * len(items) + 2), 4.2
    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.bar([lang for lang, _ in items], [n for _, n in items], color="#3b6ea8")
    ax.set_yscale("log")
    ax.set_ylabel("rows kept (log scale)")
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=90, labelsize=8)
    ax.grid(axis="y", which="both", alpha=0.3)
    # Margins in inches from what they hold (the y label and log ticks on the left, the title on
    # top, the longest rotated language code below) rather than fig.tight_layout(), which draws
    # the figure once more to measure it: a third of the chart's time, paid by every stage.
    longest = max(len(str(lang)) for lang, _ in items)
    fig.subplots_adjust(
        left=0.85 / width,
        right=1 - 0.2 / width,
        bottom=(0.2 + 0.075 * longest) / height,
        top=1 - 0.4 / height,
    )
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
