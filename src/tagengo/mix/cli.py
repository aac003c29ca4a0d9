"""`tagengo mix`: parse options, build the config, call tagengo.mix.stage.mix.

Its own input options (not ``stage_io_options``): ``--input`` may be given several times.
"""

from __future__ import annotations

from typing import Any

import click

from tagengo.io.source import FORMATS
from tagengo.mix.config import MixConfig
from tagengo.run.options import build_config, config_options
from tagengo.run.wording import plural


@click.command(context_settings={"max_content_width": 110})
@click.option(
    "--input",
    "inputs",
    type=click.Path(),
    multiple=True,
    required=True,
    help="A tagengo dataset folder (or file); give it several times to concatenate inputs, in order.",
)
@click.option(
    "--format",
    "input_format",
    type=click.Choice(FORMATS),
    default=None,
    help="Input format (detected when not given).",
)
@click.option("--out", "out", type=click.Path(), required=True, help="Output dataset folder.")
@click.option("--config", "config_file", type=click.Path(), default=None, help="YAML file of options.")
@click.option("--workers", type=int, default=None, help="Worker processes (default: one per core).")
@click.option(
    "--force",
    is_flag=True,
    help="Run again even if the output is up to date; replace another stage's folder at --out.",
)
@click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: on a terminal).")
@config_options(MixConfig)
def command(
    inputs: tuple[str, ...],
    input_format: str | None,
    out: str,
    config_file: str | None,
    workers: int | None,
    force: bool,
    progress: bool | None,
    **kwargs: Any,
) -> None:
    """Compose a language mixture from one or more dataset folders.

    Recipes: monolingual (--languages ja), multilingual (every language, or --languages
    en,ja,de), parallel (rows sharing meta.parallel_group, whole groups only), sampled
    (every language cut to the smallest one's size, or --per-language N) and parallel-sampled
    (every parallel item once, in one language drawn evenly). --no-english leaves English out;
    --take SOURCE=N combines sources with counts or shares; --size N down-samples to N items
    keeping whole parallel groups. On a parallel set every recipe keeps only complete groups
    (--group-languages, --no-complete-groups), so its variants share one item set, which the
    manifest's item_set summary hashes. Dropped rows go to OUT/rejected with the reason; see
    docs/mix.md (with a table of the papers' mixtures as commands).
    """
    from rich.console import Console

    from tagengo.mix.stage import mix
    from tagengo.run.summary import print_stage_summary, stop_when_nothing_was_readable

    cfg = build_config(MixConfig, kwargs, config_file=config_file)
    result = mix(
        list(inputs), out, cfg, input_format=input_format, workers=workers, force=force, progress=progress
    )
    print_stage_summary(result)
    stop_when_nothing_was_readable(result)
    console = Console(stderr=True)
    # Rows of incomplete groups are gone before the languages step looks for each language.
    incomplete = any(st["name"] == "complete_groups" and st["removed"] for st in result.manifest["steps"])
    for step in result.manifest["steps"]:
        s = step.get("summary", {})
        if step["name"] == "complete_groups":
            _complete_groups_note(console, s)
        if step["name"] == "per_language_sample" and s.get("limiting_language") and s.get("rows_cut"):
            _smallest_language_warning(console, s)
        if step["name"] == "item_set" and s.get("parallel_groups"):
            console.print(
                f"item set: {plural(s['items'], 'item')} ({plural(s['parallel_groups'], 'parallel group')}), "
                f"sha256 {s['items_sha256'][:16]}…; mixes with the same hash hold the same items",
                markup=False,
            )
        if s.get("missing_languages"):
            where = "left after complete_groups" if incomplete else "in the input"
            console.print(f"[yellow]warning:[/] no rows {where} for {', '.join(s['missing_languages'])}")
        if s.get("duplicate_ids"):
            console.print(
                f"[yellow]warning:[/] {plural(s['duplicate_ids'], 'row repeats', 'rows repeat')} an id seen earlier "
                "(the same input twice?); they were kept"
            )
        if s.get("missing_sources"):
            console.print(
                f"[yellow]warning:[/] --take names sources with no rows: {', '.join(s['missing_sources'])}"
            )
        if s.get("short_sources"):
            short = ", ".join(f"{k} ({v:,} items)" for k, v in s["short_sources"].items())
            console.print(f"[yellow]note:[/] fewer items than --take asks, all kept: {short}")
        if s.get("short_languages"):
            short = ", ".join(f"{k} ({v:,})" for k, v in s["short_languages"].items())
            console.print(f"[yellow]note:[/] fewer than {s['per_language']:,} rows, all kept: {short}")


def _complete_groups_note(console: Any, s: dict[str, Any]) -> None:
    """Say how many parallel groups were left out for a missing language, and the options."""
    if not s.get("incomplete_groups"):
        return
    lacking = ", ".join(f"{lang} {n:,}" for lang, n in s["groups_lacking"].items())
    needed = ",".join(s["group_languages"])
    if not s["complete_groups"]:
        console.print(
            f"[yellow]warning:[/] none of the {s['groups']:,} parallel groups has a row in every group language "
            f"({needed}); name the languages a group needs with --group-languages, or keep incomplete groups "
            "with --no-complete-groups"
        )
        return
    console.print(
        f"[yellow]note:[/] {s['incomplete_groups']:,} of {s['groups']:,} parallel groups lack a language "
        f"(groups lacking it: {lacking}) and were left out, so every recipe draws from the same "
        f"{plural(s['complete_groups'], 'group')} (group languages: {needed}); --group-languages names the "
        "languages a group needs, --no-complete-groups keeps incomplete groups"
    )


def _smallest_language_warning(console: Any, s: dict[str, Any]) -> None:
    """sampled without --per-language: the smallest language sets every language's size."""
    from tagengo.run.funnel import language_name

    lang = s["limiting_language"]
    name = language_name(lang)
    shown = f"{lang} ({name})" if name != lang else lang
    kept = s["rows_in"] - s["rows_cut"]
    n = plural(s["per_language"], "row")
    # The smallest language's own count and the mix's totals are different figures: each is named
    # (one sentence read "es: 61 rows -> 10" where es had 1 row and 61 -> 10 was the whole mix).
    langs = f" in {plural(s['languages'], 'language')}" if "languages" in s else ""
    console.print(
        f"[yellow]warning:[/] sampled cut every language to {n}, because its smallest language, {shown}, "
        f"has only {n}; {kept:,} of the {s['rows_in']:,} rows sampled{langs} are kept. Leave rare "
        "languages out with --min-rows N, or set the size with --per-language N (a language with fewer "
        "rows keeps all of them)"
    )
