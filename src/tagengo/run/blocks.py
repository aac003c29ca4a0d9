"""The pieces an HTML report is made of: tables, figures, notes and examples, each naming the
file its numbers came from.

A stage's report hook (``tagengo.<stage>.report_hook``, asked by :mod:`tagengo.report.hooks`)
returns a :class:`Section` holding a list of these blocks; :mod:`tagengo.report.html` renders
them. Keeping the numbers here, apart from the HTML, is what lets the tests check them
against the source files without parsing the page.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass, field
from typing import Any


class NotShown(Exception):
    """A folder ``tagengo report`` cannot show: a report hook raises it with one sentence saying
    why, and the page lists the folder with that sentence (never a traceback)."""


@dataclass
class Table:
    """A sortable table. ``source``: the file (and the field in it) every cell comes from."""

    title: str
    columns: list[str]
    rows: list[list[Any]]
    source: str
    note: str = ""
    kind: str = "table"

    def cell(self, value: Any) -> str:
        """The text shown for a cell: thousands separators for ints, 4 significant digits for floats."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "–"
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, int):
            return f"{value:,}"
        if isinstance(value, float):
            return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
        return str(value)

    @staticmethod
    def sort_key(value: Any) -> str:
        """What the page sorts on: the raw number for numeric cells, else the text."""
        if isinstance(value, bool) or value is None:
            return ""
        if isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value)):
            return repr(value)
        return ""


@dataclass
class Figure:
    """A PNG embedded in the page as a data URI (the page loads nothing from anywhere)."""

    title: str
    png: bytes
    source: str
    alt: str = ""
    kind: str = "figure"

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass
class Note:
    text: str
    source: str = ""
    kind: str = "note"


@dataclass
class Section:
    """One stage folder (or one bench) in the report."""

    anchor: str
    title: str
    folder: str
    kind: str  # a stage (curate, mix ...), or dedup, generation, mixture, export, bench
    blocks: list[Table | Figure | Note] = field(default_factory=list)
    summary: str = ""
    #: Figures a section across folders reads (the reverse sections' chosen λ).
    data: dict[str, Any] = field(default_factory=dict)

    def tables(self) -> dict[str, Table]:
        return {b.title: b for b in self.blocks if isinstance(b, Table)}

    def figures(self) -> dict[str, Figure]:
        return {b.title: b for b in self.blocks if isinstance(b, Figure)}


# --- charts ----------------------------------------------------------------------------


def plt():  # -> matplotlib.pyplot, on the file-only Agg backend
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def png_of(fig: Any) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it."""
    pyplot = plt()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96)
    pyplot.close(fig)
    return buf.getvalue()


def bar_chart(
    labels: list[str],
    values: list[float],
    *,
    title: str,
    ylabel: str,
    log: bool = False,
    horizontal: bool = False,
    color: str = "#3b6ea8",
    percent: bool = False,
) -> bytes:
    pyplot = plt()
    n = len(labels)
    if horizontal:
        fig, ax = pyplot.subplots(figsize=(7.5, max(2.2, 0.32 * n + 1.2)))
        ax.barh(range(n), values, color=color)
        ax.set_yticks(range(n))
        ax.set_yticklabels(labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(ylabel)
        if log:
            ax.set_xscale("log")
        for i, v in enumerate(values):
            ax.text(v, i, f" {v:.1%}" if percent else f" {v:,.0f}", va="center", fontsize=7)
        ax.grid(axis="x", alpha=0.3)
    else:
        fig, ax = pyplot.subplots(figsize=(max(5.5, 0.3 * n + 2), 3.6))
        ax.bar(range(n), values, color=color)
        ax.set_xticks(range(n))
        ax.set_xticklabels(labels, rotation=90 if n > 8 else 0, fontsize=8)
        ax.set_ylabel(ylabel)
        if log:
            ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
    value_axis = ax.xaxis if horizontal else ax.yaxis
    if percent:
        from matplotlib.ticker import PercentFormatter

        value_axis.set_major_formatter(PercentFormatter(1.0))
    elif not log and all(float(v).is_integer() for v in values):
        from matplotlib.ticker import MaxNLocator

        value_axis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.5 of a row
    ax.set_title(title, fontsize=10)
    return png_of(fig)
