"""The bench part of the report, from FastChat-layout bench folders.

A folder is a bench root when it (or its ``data/`` sub-folder, as ``tagengo demo`` writes it)
holds bench folders with a ``question.jsonl``. The scores are computed by the bench library
itself (:func:`tagengo.bench.show.single_scores`, FastChat's averaging), from the judgment
files under ``model_judgment/``, so the page and ``tagengo bench show`` never disagree; each
block names the judgment files it read.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from tagengo.run.blocks import Figure, Note, Section, Table, plt, png_of
from tagengo.run.wording import plural

QUESTION_FILE = "question.jsonl"


def bench_roots(folder: Path) -> list[Path]:
    """The bench folders under ``folder`` (itself, its sub-folders, or ``data/<bench>/``)."""
    folder = Path(folder)
    if (folder / QUESTION_FILE).exists():
        return [folder]
    for base in (folder, folder / "data"):
        found = sorted(p.parent for p in base.glob(f"*/{QUESTION_FILE}"))
        if found:
            return found
    return []


def _rel(paths: list[Path]) -> str:
    if not paths:
        return "(no files)"
    shown = ", ".join(str(p) for p in paths[:6])
    return shown + (f" and {len(paths) - 6} more" if len(paths) > 6 else "")


def bench_sections(folder: Path) -> list[Section]:
    """One section for the benches under ``folder``; empty when there are none or none is judged."""
    from tagengo.io.bench_layout import open_bench

    roots = bench_roots(folder)
    if not roots:
        return []
    benches = [open_bench(p, detect=False) for p in roots]
    blocks, summary = _single_blocks(benches)
    # The win rates against the baseline go right after the MT-Bench table, as bench show writes
    # arena.md beside scores.md.
    at = next((i + 1 for i, b in enumerate(blocks) if getattr(b, "title", "") == "Models × languages"), 0)
    blocks[at:at] = _arena_blocks(benches)
    blocks.append(_consistency_block(benches))
    return [
        Section(
            "bench-" + Path(folder).name.lower(),
            f"bench · {Path(folder).name}",
            str(folder),
            "bench",
            blocks,
            summary,
        )
    ]


def _single_blocks(benches: list) -> tuple[list[Table | Figure | Note], str]:
    """The single-grade blocks (scores, intervals, heatmap and radars, parse failures) and the
    section's summary line; a note saying why when there are no single-grade scores."""
    from tagengo.bench.config import ShowConfig
    from tagengo.bench.show import single_scores
    from tagengo.errors import ConfigError, InputError

    try:
        res = single_scores(benches, ShowConfig())
    except (InputError, ConfigError) as exc:
        return [Note(f"No single-grade scores: {exc}")], ""
    src = f"judgment files: {_rel(res.files)}"
    models = sorted(
        res.models,
        key=lambda m: -_mean([iv.estimate for iv in res.overall.get(m, {}).values()]),
    )
    iv_rows = _interval_rows(res, models)
    blocks: list[Table | Figure | Note] = [
        _score_table(res, models, src),
        _interval_figure(iv_rows, src),
        _interval_table(iv_rows, src),
        *_score_figures(res, src),
        _parse_failure_table(res, src),
    ]
    summary = f"{plural(len(models), 'model')} × {plural(len(res.columns), 'language')}, judge {res.judge}"
    return blocks, summary


def _score_table(res: Any, models: list[str], src: str) -> Table:
    rows = []
    for m in models:
        cells = [res.overall.get(m, {}).get(c) for c in res.columns]
        ests = [iv.estimate for iv in cells if iv is not None]
        rows.append([m, *[_round(iv.estimate) if iv else None for iv in cells], _round(_mean(ests))])
    return Table(
        "Models × languages",
        ["model", *res.columns, "mean"],
        rows,
        src,
        note=f"judge {res.judge}, {res.runs} run(s). FastChat's averaging: score -1 dropped, both "
        "turns pooled; with several runs, the median of the run averages.",
    )


def _interval_rows(res: Any, models: list[str]) -> list[list[Any]]:
    iv_rows = []
    for m in models:
        for c in res.columns:
            iv = res.overall.get(m, {}).get(c)
            if iv is not None:
                iv_rows.append(
                    [
                        m,
                        c,
                        _round(iv.estimate),
                        _round(iv.low),
                        _round(iv.high),
                        iv.runs,
                        iv.n,
                        _round(iv.spread),
                    ]
                )
    return iv_rows


def _interval_table(iv_rows: list[list[Any]], src: str) -> Table:
    return Table(
        "Intervals",
        ["model", "language", "score", "95% low", "95% high", "runs", "verdicts", "run spread"],
        iv_rows,
        src,
        note="Percentile bootstrap over questions (1000 resamples, seed 0); run spread: max - min "
        "of the per-run averages.",
    )


def _score_figures(res: Any, src: str) -> list[Figure]:
    """The heatmap of models × languages (when any score is a number) and a radar per language."""
    from tagengo.bench.plots import heatmap, radar_chart

    blocks: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        table = {m: {c: iv.estimate for c, iv in res.overall.get(m, {}).items()} for m in res.models}
        if any(not math.isnan(v) for row in table.values() for v in row.values()):
            p = heatmap(
                table, Path(tmp) / "heatmap.png", f"MT-Bench average (judge {res.judge})", res.columns
            )
            blocks.append(Figure("Heatmap", p.read_bytes(), src))
        for col in res.columns:
            data = res.by_category.get(col, {})
            if data:
                p = radar_chart(data, Path(tmp) / f"radar_{col}.png", f"{col}: score by category")
                blocks.append(Figure(f"Radar: {col}", p.read_bytes(), src))
    return blocks


def _parse_failure_table(res: Any, src: str) -> Table:
    crow = []
    for col in res.columns:
        c = res.counts[col]
        crow.append(
            [
                col,
                c.rows,
                c.used,
                c.no_verdict,
                round(100 * c.no_verdict / c.rows, 2) if c.rows else None,
                c.api_errors,
                c.gated,
                c.duplicates,
            ]
        )
    return Table(
        "Judge parse failures",
        [
            "language",
            "verdict rows",
            "used",
            "no verdict (-1)",
            "parse-failure %",
            "of which $ERROR$",
            "gated (score 1)",
            "duplicates",
        ],
        crow,
        src,
        note="A verdict the judge's reply did not contain in the [[n]] form scores -1 and is dropped.",
    )


def _consistency_block(benches: list) -> Table | Note:
    """Position consistency of the pairwise judgments, or a note that there are none."""
    from tagengo.bench.config import ShowConfig
    from tagengo.bench.show import pair_scores
    from tagengo.errors import ConfigError, InputError

    try:
        judge, summaries, _ = pair_scores(benches, ShowConfig(mode="pairwise"))
    except (InputError, ConfigError):
        summaries = {}
    if summaries:
        return Table(
            "Position consistency (pairwise)",
            ["language", "games", "errors", "judged", "consistent", "position consistency %", "gated"],
            [
                [
                    col,
                    s.rows,
                    s.errors,
                    s.judged,
                    s.consistent,
                    None if math.isnan(s.position_consistency) else round(100 * s.position_consistency, 2),
                    s.gated,
                ]
                for col, s in summaries.items()
            ],
            f"pairwise judgment files (*_pair.jsonl) of judge {judge} under model_judgment/",
            note="Each pair is judged in both orders; consistent: both orders name the same winner.",
        )
    return Note("No pairwise judgments: position consistency needs *_pair.jsonl files.")


def _arena_blocks(benches: list) -> list[Table]:
    """One table per bench with pair judgments against one baseline: win rate and LC win rate
    with their 95% intervals (tagengo.bench.arena, as ``bench show`` computes them)."""
    from tagengo.bench.config import ShowConfig
    from tagengo.bench.show import ARENA_NOTE, arena_scores
    from tagengo.errors import ConfigError, InputError

    cfg = ShowConfig(mode="pairwise")
    try:
        arena = arena_scores(benches, cfg)
    except (InputError, ConfigError):
        return []
    out = []
    for col, (baseline, rates) in arena.items():
        rows: list[list] = [
            [
                w.model,
                _pct(w.win_rate),
                _pct(w.low),
                _pct(w.high),
                _pct(w.lc_win_rate),
                _pct(w.lc_low),
                _pct(w.lc_high),
                w.games,
                w.dropped,
            ]
            for w in rates
        ]
        rows.append([f"{baseline} (baseline)", 50.0, None, None, 50.0, None, None, None, None])
        out.append(
            Table(
                f"Win rate against {baseline} · {col}",
                [
                    "model",
                    "win rate %",
                    "95% low",
                    "95% high",
                    "LC win rate %",
                    "LC 95% low",
                    "LC 95% high",
                    "n",
                    "dropped",
                ],
                rows,
                "pair judgment files (*_pair.jsonl) under model_judgment/ and the answers under model_answer/",
                note=ARENA_NOTE.format(boot=cfg.bootstrap_iters, seed=cfg.seed),
            )
        )
    return out


def _pct(v: float) -> float | None:
    return None if math.isnan(v) else round(100 * v, 1)


def _mean(values: list[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return sum(vals) / len(vals) if vals else float("nan")


def _round(v: float | None) -> float | None:
    return None if v is None or math.isnan(v) else round(v, 3)


def _interval_figure(rows: list[list], src: str) -> Figure:
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(7.5, max(2.4, 0.3 * len(rows) + 1.2)))
    for i, (_model, _lang, est, lo, hi, *_rest) in enumerate(rows):
        if est is None:
            continue
        if lo is not None and hi is not None:
            ax.plot([lo, hi], [i, i], color="#4c72b0", linewidth=2)
        ax.plot([est], [i], "o", color="#c44e52")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{r[0]} · {r[1]}" for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0.5, 10.5)
    ax.set_xlabel("score (1-10): median of runs, 95% bootstrap interval")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("score intervals per model and language", fontsize=10)
    return Figure("Score intervals", png_of(fig), src)
