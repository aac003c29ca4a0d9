"""`tagengo dedup`: parse options, build the config, call tagengo.dedup.stage.dedup.

``--calibrate`` instead embeds the bundled calibration pairs with the configured embedder
and writes the similarity distributions and a suggested threshold to OUT.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from tagengo.dedup.config import PRESETS, DedupConfig
from tagengo.errors import InputError
from tagengo.run.cli_common import executor_options, run_stage, stage_io_options, step_summary
from tagengo.run.options import build_config, config_options


@click.command(context_settings={"max_content_width": 110})
@stage_io_options(presets=tuple(PRESETS), progress_lines=True)
@click.option(
    "--calibrate",
    is_flag=True,
    help="Do not dedup: embed the bundled calibration pairs (rewording, paraphrase, near-miss, related, unrelated) with the configured embedder, "
    "write OUT/calibration.json and OUT/calibration.png, and print the suggested threshold.",
)
@click.option(
    "--calibration-pairs",
    type=click.Path(dir_okay=False),
    default=None,
    help="With --calibrate: your own JSONL of pairs (fields lang, kind = rewording|paraphrase|near_miss|related|unrelated, a, b) "
    "instead of the bundled ones.",
)
@executor_options
@config_options(DedupConfig)
def command(
    input_path: str | None,
    input_format: str | None,
    out: str,
    config_file: str | None,
    workers: int | None,
    force: bool,
    progress: bool | None,
    preset: str,
    calibrate: bool,
    calibration_pairs: str | None,
    executor: str,
    ray_address: str | None,
    **kwargs: Any,
) -> None:
    """Remove near-duplicate prompts within each language (Tagengo section 3.1).

    Embeds the first user turn of every row, and within each language drops a row whose
    cosine similarity to an earlier kept row is above the threshold (--semantics chain: to
    any earlier row). Rows are walked in input order. Exact search below --approx-above
    rows per language, k-means cells above. Dropped rows go to OUT/rejected with the id of the
    row they duplicate and the similarity. See docs/dedup.md.
    """
    cfg = build_config(DedupConfig, kwargs, preset=PRESETS[preset], config_file=config_file)
    if calibrate:
        _calibrate(cfg, Path(out), calibration_pairs)
        return
    if not input_path:
        raise InputError("tagengo dedup needs --input (a dataset folder or a .jsonl/.parquet file).")
    from tagengo.dedup.stage import dedup

    result = run_stage(
        dedup,
        input_path,
        out,
        cfg,
        input_format=input_format,
        preset=preset,
        workers=workers,
        force=force,
        progress=progress,
        executor=executor,
        ray_address=ray_address,
    )
    _print_language_rates(step_summary(result, "dedup"))


def _print_language_rates(summary: dict[str, Any]) -> None:
    """dedup's step summary: method, threshold, and per language rows in and removed."""
    langs = summary.get("languages", {})
    if not langs:
        return
    click.echo(
        f"dedup: {summary.get('method')} · semantics {summary.get('semantics')}"
        + (
            f" · threshold {summary['threshold']} ({summary.get('embedder')})"
            if summary.get("threshold") is not None
            else ""
        )
    )
    for lang, s in langs.items():
        extra = ""
        if "approx" in s and "check" in s["approx"]:
            extra = f" · approx agreement {s['approx']['check']['decision_agreement']:.2%} on {s['approx']['check']['sampled']} rows"
        click.echo(
            f"  {lang:>8}: {s['in']:>9,} in · {s['removed']:>9,} removed ({s['removal_rate']:.1%}){extra}"
        )


def _calibrate(cfg: DedupConfig, out: Path, pairs_path: str | None) -> None:
    from tagengo.dedup.calibration import calibrate, load_pairs, plot_calibration

    embedder = cfg.embedder.build()
    try:
        pairs = load_pairs(pairs_path) if pairs_path else None
        cal = calibrate(embedder, pairs)
    except OSError as exc:
        raise InputError(f"{pairs_path}: cannot read the calibration pairs ({exc.strerror}).") from exc
    except ValueError as exc:
        raise InputError(f"calibration pairs: {exc}.") from exc
    finally:
        embedder.close()
    out.mkdir(parents=True, exist_ok=True)
    (out / "calibration.json").write_text(json.dumps(cal.to_json(), indent=1, ensure_ascii=False))
    plot_calibration(cal, out / "calibration.png")
    click.echo(f"{embedder.id}: suggested threshold {cal.threshold} (embeddings alone)")
    rules = [("embeddings alone", cal.rates())]
    if cal.content_threshold is not None:
        click.echo(f"  with --content-check (the default): suggested threshold {cal.content_threshold}")
        rules.append(("with the content check", cal.rates(content_check=True)))
    for name, rates in rules:
        shown = " · ".join(f"{k} {v:.0%}" for k, v in rates.items() if v == v)
        click.echo(f"  merged {name}: {shown}")
    if cal.content_threshold is not None:
        click.echo("  per language, with the content check (rewordings merged / near misses merged):")
        for lang in cal.languages():
            r = cal.rates(content_check=True, lang=lang)
            if r["rewording"] == r["rewording"] or r["near_miss"] == r["near_miss"]:
                click.echo(f"    {lang}: {r['rewording']:.0%} / {r['near_miss']:.0%}")
    click.echo(f"  wrote {out / 'calibration.json'} and {out / 'calibration.png'}")
