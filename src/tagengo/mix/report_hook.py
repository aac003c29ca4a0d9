"""The blocks of mix and export folders for ``tagengo report``: a mixture's recipe and shares
per language (``manifest.json``), an export's files and counts (``export.json``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from tagengo.records import NO_LANGUAGE
from tagengo.run.blocks import Figure, Note, Section, Table, plt, png_of
from tagengo.run.funnel import language_name
from tagengo.run.stage_blocks import anchor, read_parts, stage_section


def mix_blocks(folder: Path, m: dict[str, Any]) -> list[Table | Figure | Note]:
    t = read_parts(folder, "data", ["language", "source"])
    src = f"{folder}/data/*.parquet (language, source)"
    if t is None or t.num_rows == 0:
        return [Note("The mixture has no rows.", src)]
    counts = Counter(
        zip(
            [x or NO_LANGUAGE for x in t.column("language").to_pylist()],
            t.column("source").to_pylist(),
            strict=True,
        )
    )
    langs = sorted(
        {k[0] for k in counts}, key=lambda lang: -sum(v for k, v in counts.items() if k[0] == lang)
    )
    sources = sorted({k[1] for k in counts})
    rows = [
        [
            lang,
            language_name(lang),
            *[counts.get((lang, s), 0) for s in sources],
            sum(counts.get((lang, s), 0) for s in sources),
        ]
        for lang in langs
    ]
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(max(5.5, 0.3 * len(langs) + 2.5), 3.6))
    bottom = [0] * len(langs)
    for s in sources:
        vals = [counts.get((lang, s), 0) for lang in langs]
        ax.bar(range(len(langs)), vals, bottom=bottom, label=s)
        bottom = [a + b for a, b in zip(bottom, vals, strict=True)]
    ax.set_xticks(range(len(langs)))
    ax.set_xticklabels(langs, rotation=90 if len(langs) > 8 else 0, fontsize=8)
    ax.set_ylabel("rows")
    ax.legend(fontsize=7, title="source", title_fontsize=7)
    ax.set_title(
        f"mixture '{m.get('recipe') or (m.get('config') or {}).get('recipe')}': rows per language and source",
        fontsize=10,
    )
    return [
        Figure("Rows per language and source", png_of(fig), src),
        Table("Rows per language and source", ["language", "name", *sources, "total"], rows, src),
    ]


def export_blocks(folder: Path, m: dict[str, Any]) -> list[Table | Figure | Note]:
    src = f"{folder}/export.json (languages, files, counts)"
    out: list[Table | Figure | Note] = [
        Table(
            "Exported files",
            ["file", "split", "rows", "bytes", "sha256"],
            [[n, f["split"], f["rows"], f["bytes"], f["sha256"][:16]] for n, f in m["files"].items()],
            src,
        ),
        Table(
            "Rows per language",
            ["language", "name", "train", "validation", "skipped"],
            [
                [lang, language_name(lang), v["train"], v["validation"], v["skipped"]]
                for lang, v in m["languages"].items()
            ],
            src,
        ),
    ]
    return out


def report_blocks(folder: Path, m: dict[str, Any]) -> list[Section]:
    """A mix folder (``manifest.json``), or an export folder (``export.json``, stage ``export``)."""
    if m.get("stage") == "export":
        return [
            Section(
                anchor(folder, "export"),
                f"export · {folder.name}",
                str(folder),
                "export",
                export_blocks(folder, m),
                summary=f"{m['counts']['exported']:,} conversations exported as {m['config'].get('output_format', m['config'].get('format'))}",
            )
        ]
    return [
        stage_section(folder, m),
        Section(
            anchor(folder, "mixture"),
            f"mixture · {folder.name}",
            str(folder),
            "mixture",
            mix_blocks(folder, m),
            summary=f"recipe {m.get('recipe')}, {m['counts']['kept']:,} rows",
        ),
    ]
