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
@click.option(
    "--heldout-mtbench-x",
    type=click.Path(file_okay=False),
    default=None,
    help="With --calibrate: an MT-Bench-X checkout (or its data folder). Its machine translations vs "
    "human post-edits, and near misses and surface perturbations built from its questions, replace the "
    "bundled pairs; even-numbered German and French questions are tuned on, the rest is held out.",
)
@click.option(
    "--heldout-translations",
    type=(str, click.Path(dir_okay=False), click.Path(dir_okay=False)),
    multiple=True,
    help="With --calibrate: LANG FILE FILE, two independent FastChat-layout question.jsonl translations "
    "of the same questions (e.g. de mt_bench_DE/question.jsonl de_mt_bench/question.jsonl). Repeatable.",
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
    heldout_mtbench_x: str | None,
    heldout_translations: tuple[tuple[str, str, str], ...],
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
        _calibrate(cfg, Path(out), calibration_pairs, heldout_mtbench_x, heldout_translations)
        return
    if not input_path:
        raise InputError("tagengo dedup needs --input (a dataset folder or a .jsonl/.parquet file).")
    _warn_ignored(cfg)
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


def _warn_ignored(cfg: DedupConfig) -> None:
    """Say on stderr which options the chosen --method never reads (they were set for a reason)."""
    ignored = cfg.ignored_options()
    if not ignored:
        return
    if cfg.method == "minhash":
        why = "uses no embeddings"
        hint = f"; the MinHash pass's threshold is --minhash-threshold ({cfg.minhash.threshold})"
    else:
        why = "runs no MinHash pass"
        hint = "; --method both runs the MinHash pass, then the embeddings"
    click.secho(
        f"warning: --method {cfg.method} {why}, so {', '.join(ignored)} "
        f"{'is' if len(ignored) == 1 else 'are'} ignored{hint}.",
        fg="yellow",
        err=True,
    )


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
        if "judge" in s:
            j = s["judge"]
            extra += f" · judge: {j['judged']} asked, {j['merged']} merged, {j['failed']} failed"
        click.echo(
            f"  {lang:>8}: {s['in']:>9,} in · {s['removed']:>9,} removed ({s['removal_rate']:.1%}){extra}"
        )


def _calibrate(
    cfg: DedupConfig,
    out: Path,
    pairs_path: str | None,
    mtbench_x: str | None = None,
    translations: tuple[tuple[str, str, str], ...] = (),
) -> None:
    from tagengo.dedup.calibration import calibrate, load_pairs, plot_calibration
    from tagengo.dedup.heldout import mtbench_sets, written_near_misses
    from tagengo.llm.embedding_cache import EmbeddingCache, default_cache_path, embed_texts

    embedder = cfg.embedder.build()
    cache = EmbeddingCache(default_cache_path(cfg.cache_dir)) if cfg.cache else None
    judge = None
    if cfg.judge_band:
        from tagengo.dedup.judge import BandJudge

        judge = BandJudge(cfg.judge, max_tokens=cfg.judge_max_tokens, constrain=cfg.constrain_verdict)

    def embed(texts: list[str]):
        return embed_texts(embedder, texts, cache, batch_size=cfg.embedder.batch_size)[0]

    try:
        if mtbench_x or translations:
            pairs = mtbench_sets(mtbench_x, translations)
            if not pairs:
                raise ValueError(f"no pairs found in {mtbench_x or translations}")
            pairs += written_near_misses()  # tuning only: near misses that differ in two places
        else:
            pairs = load_pairs(pairs_path) if pairs_path else None
        cal = calibrate(embedder, pairs, band=cfg.threshold, embed=embed, judge=judge)
    except OSError as exc:
        raise InputError(
            f"{exc.filename or pairs_path}: cannot read the calibration data ({exc.strerror})."
        ) from exc
    except ValueError as exc:
        raise InputError(f"calibration pairs: {exc}.") from exc
    finally:
        embedder.close()
        if cache is not None:
            cache.close()
        if judge is not None:
            judge.close()
    out.mkdir(parents=True, exist_ok=True)
    (out / "calibration.json").write_text(json.dumps(cal.to_json(), indent=1, ensure_ascii=False))
    plot_calibration(cal, out / "calibration.png")
    _print_calibration(cal, embedder.id, out)


def _print_calibration(cal: Any, embedder_id: str, out: Path) -> None:
    """The suggested values, the rates merged by each rule, and per split and language the
    must-merge kinds and near misses merged (with the judge's counts under --judge-band)."""
    from tagengo.dedup.calibration import MUST_MERGE

    click.echo(f"{embedder_id}: suggested threshold {cal.threshold} (embeddings alone)")
    rules = [("embeddings alone", cal.rates())]
    if cal.content_threshold is not None:
        click.echo(
            f"  with the request check (the default): band edge {cal.content_threshold}, "
            f"substitution ratio {cal.ratio} (swap) / {cal.ratio_spread} (spread, or cosine > {cal.spread_edge})"
        )
        with_judge = f" and judge {cal.judge}" if cal.judge else ""
        rules.append((f"with the request check{with_judge}", cal.rates(content_check=True)))
    for name, rates in rules:
        shown = " · ".join(f"{k} {v:.0%}" for k, v in rates.items() if v == v)
        click.echo(f"  merged {name}: {shown}")
    if cal.content_threshold is None:
        click.echo(f"  wrote {out / 'calibration.json'} and {out / 'calibration.png'}")
        return
    click.echo(
        "  with the request check"
        + (f" and judge {cal.judge}" if cal.judge else "")
        + ", per split and language: same request merged | near misses merged"
        + (" | judge: asked, said SAME, failed" if cal.judge else "")
    )
    for split in cal.splits():
        for lang in [None, *cal.languages()]:
            parts = []
            for kind in MUST_MERGE:
                k, n = cal.counts(kind, lang, split)
                if n:
                    parts.append(f"{kind} {k}/{n}")
            k, n = cal.counts("near_miss", lang, split)
            if parts or n:
                near = f"{k}/{n} = {k / n:.1%}" if n else "-"
                judged = ""
                if cal.judge:
                    t = cal.judged(None, lang, split)
                    judged = f" | judge {t.judged}, {t.same}, {t.failed}"
                click.echo(
                    f"    {split:>8} {lang or 'all':>4}: {' · '.join(parts) or '-'} | near misses {near}{judged}"
                )
    click.echo(f"  wrote {out / 'calibration.json'} and {out / 'calibration.png'}")
