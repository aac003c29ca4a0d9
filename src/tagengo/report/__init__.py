"""Reports: stage funnels and language tables (funnel), dataset cards (card), and the HTML page
over any stage outputs (html: ``write_report(dirs, out_html)``)."""

from tagengo.report.html import write_report

__all__ = ["write_report"]
