"""``tagengo report``: one static HTML page over the outputs of any stages.

The page is a single file: charts are PNGs in ``data:`` URIs, the table sorting is a few
lines of inline script, and a Content-Security-Policy forbids every fetch, so it opens from
a mail attachment or an air-gapped machine exactly as it was written. Each table and chart
names the file (and the field in it) its numbers come from.

The page finds folders, asks each folder's stage for its sections (its package's
``report_hook``, through :mod:`tagengo.report.hooks`) and lays them out. What each gives:

* any stage folder: the funnel (chart and table), rows per language, LID removal per
  language, rejection reasons with examples;
* a stage with a ``dedup`` step: removal rate per language, the similarity histogram with
  the threshold, example pairs;
* ``generate``: tokens, cost, finish reasons, answer lengths;
* ``reverse``: the λ sweep (pairs kept at each judge threshold, per language), task types,
  the back-translation check, tokens and cost per model, phase and language, finish reasons;
* ``translate``: rows per target language, the checks' numbers (language ID, length ratio,
  protected spans), rejected translations with their reason, tokens, cost, finish reasons;
* ``mix``: rows per language and source;
* ``train``: loss and learning-rate curves, steps, tokens/s, data counts and the config
  (:mod:`tagengo.train.report_hook`);
* an export folder: files and rows per language;
* a bench folder (FastChat layout): models × languages, intervals, heatmap, a radar chart per
  language, judge parse failures and position consistency.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tagengo.errors import InputError
from tagengo.run.blocks import Section

#: Why a folder adds nothing to the page (listed at its end and warned about by the CLI).
NOTHING_KNOWN = "no manifest.json, export.json, bench question.jsonl or bench show provenance.json found"


def collect_sections(
    folder: str | os.PathLike[str], skipped: list[tuple[str, str]] | None = None
) -> list[Section]:
    """Every section ``folder`` has data for. A folder that is none of the known kinds but
    holds such folders (``out/demo``) is expanded one level, in name order; its sub-folders
    with nothing known are appended to ``skipped`` as (path, why)."""
    from tagengo.report.hooks import folder_sections
    from tagengo.run.blocks import NotShown

    folder = Path(folder)
    failed: list[tuple[str, str]] = []

    def sections_of(p: Path) -> list[Section]:
        # A folder whose files this report cannot read (a manifest of a kind it does not know,
        # a damaged file) is listed as not shown, never a traceback that loses the whole page.
        try:
            return folder_sections(p) or []
        except NotShown as exc:
            failed.append((str(p), str(exc)))
            return []
        except (KeyError, TypeError, ValueError, AttributeError, InputError) as exc:
            failed.append(
                (str(p), f"its files are not in a shape this report reads ({type(exc).__name__}: {exc})")
            )
            return []

    found = sections_of(folder)
    if found or failed:
        if skipped is not None:
            skipped += failed
        return found
    out: list[Section] = []
    if folder.is_dir():
        subs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        unknown = []
        for sub in subs:
            n_failed = len(failed)
            got = sections_of(sub)
            if not got and len(failed) == n_failed:
                unknown.append(sub)
            out += got
        # Only a folder that held stage folders lists its other sub-folders (out/demo/cache);
        # one that held none is itself the folder with nothing known.
        if (out or failed) and skipped is not None:
            skipped += failed + [(str(p), NOTHING_KNOWN) for p in unknown]
    return out


@dataclass
class ReportContents:
    """What a report over some folders shows: its sections, and the folders that add nothing
    (path, why), which the page lists at its end."""

    folders: list[str]
    sections: list[Section] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def gather(dirs: Sequence[str | os.PathLike[str]]) -> ReportContents:
    """The sections of every folder in ``dirs`` (see ``write_report``). Raises
    :class:`tagengo.errors.InputError` when a folder does not exist."""
    # The same folder named twice (``report X X``, ``X`` and ``X/``) is shown once.
    seen: set[Path] = set()
    dirs = [d for d in dirs if not (Path(d).resolve() in seen or seen.add(Path(d).resolve()))]
    got = ReportContents([str(d) for d in dirs])
    for d in dirs:
        p = Path(d)
        if not p.exists():
            raise InputError(f"{p}: no such folder; give stage output folders (e.g. out/curated)")
        if not p.is_dir():
            raise InputError(f"{p}: not a folder; give stage output folders (e.g. out/curated)")
        n_skipped = len(got.skipped)
        found = collect_sections(p, got.skipped)
        if not found and len(got.skipped) == n_skipped:
            got.skipped.append((str(p), NOTHING_KNOWN))
        got.sections += found
    from tagengo.report.across import lambda_across

    if (across := lambda_across(got.sections)) is not None:
        last = max(i for i, s in enumerate(got.sections) if s.kind == "instructions")
        got.sections.insert(last + 1, across)
    return got


def render_report(sections: list[Section], folders: Sequence[str], skipped: list[tuple[str, str]]) -> str:
    """The page as a string (see the module doc)."""
    import jinja2

    from tagengo import __version__

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("tagengo.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Two sections of the same kind and folder name (two runs compared) need distinct anchors.
    seen: dict[str, int] = {}
    for s in sections:
        n = seen.get(s.anchor, 0)
        seen[s.anchor] = n + 1
        if n:
            s.anchor = f"{s.anchor}-{n + 1}"
    kinds = sorted({s.kind for s in sections})
    return env.get_template("report.html.j2").render(
        title="tagengo report",
        subtitle=f"{len(sections)} section(s): {', '.join(kinds) or 'nothing to show'}",
        sections=sections,
        folders=list(folders),
        skipped=skipped,
        version=__version__,
        written_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_report(dirs: Sequence[str | os.PathLike[str]], out_html: str | os.PathLike[str]) -> Path:
    """Write one self-contained HTML page about the stage outputs in ``dirs`` to ``out_html``.

    ``dirs``: dataset folders (``manifest.json``), export folders (``export.json``), bench
    folders or their parents (``question.jsonl`` below), or a folder holding any of these
    (``out/demo``). Folders with nothing to show are listed at the end of the page.
    Raises :class:`tagengo.errors.InputError` when a folder does not exist. Returns the path."""
    return write_contents(gather(dirs), out_html)


def write_contents(contents: ReportContents, out_html: str | os.PathLike[str]) -> Path:
    """Write the page of ``contents`` (from ``gather``) to ``out_html``; return the path."""
    from tagengo.run.dataset import atomic_write_text

    out = Path(out_html)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, render_report(contents.sections, contents.folders, contents.skipped))
    return out
