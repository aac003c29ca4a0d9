"""`tagengo report DIR…`: one self-contained HTML page about the given stage outputs."""

from __future__ import annotations

import click


@click.command(context_settings={"max_content_width": 110})
@click.argument("folders", nargs=-1, required=True, type=click.Path())
@click.option(
    "--out",
    "out_html",
    type=click.Path(dir_okay=False),
    default="report.html",
    show_default=True,
    help="The HTML file to write (images and data embedded; it loads nothing from the network).",
)
def command(folders: tuple[str, ...], out_html: str) -> None:
    """Write one HTML page (funnels, languages, dedup, generation, mixtures, training runs, bench
    scores) from stage output FOLDERS: dataset folders, export folders, train folders, bench
    folders, or a folder holding them (e.g. out/demo). Tables sort on a click; each names the file its numbers come from.
    Folders with nothing to show are listed on the page and warned about here; only a folder
    that does not exist is an error."""
    from pathlib import Path

    from tagengo.report.html import gather, write_contents

    target = Path(out_html)
    if target.exists() and target.suffix.lower() not in (".html", ".htm"):
        # A typo like --out out/mix/manifest.json would replace a stage's file with HTML.
        raise click.UsageError(
            f"--out {out_html} exists and is not an HTML page: the report would replace it. "
            "Give a new file or an .html one."
        )
    contents = gather(list(folders))
    for path, why in contents.skipped:
        click.secho(
            f"warning: {path}: nothing to show ({why}); listed under 'Not shown'", fg="yellow", err=True
        )
    if not contents.sections:
        click.secho(
            "warning: none of the folders given holds stage output this report knows: the page says only "
            "that. Give stage output folders (curate, dedup, generate, reverse, translate, mix, export, "
            "train, bench), or a folder holding them (e.g. out/demo).",
            fg="yellow",
            err=True,
        )
    path = write_contents(contents, out_html)
    click.echo(f"→ {path} ({len(contents.sections)} section(s))")
