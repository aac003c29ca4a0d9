"""The cross-stage HTML page over any stage outputs (html: ``write_report(dirs, out_html)``),
built from each stage's report hook (hooks). A stage's own artifacts (funnel, summary, reasons,
wording) are run/'s; its dataset card is export's (mix/card.py)."""

from tagengo.report.html import write_report

__all__ = ["write_report"]
