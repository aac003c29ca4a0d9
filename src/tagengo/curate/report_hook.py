"""curate's blocks for ``tagengo report``: the funnel, languages and rejections every runner stage
shows (tagengo.run.stage_blocks); curate adds no section of its own."""

from tagengo.run.stage_blocks import stage_sections as report_blocks

__all__ = ["report_blocks"]
