"""``tagengo bench show``: scores per model x language x category x turn, tables like the
Tagengo paper's Table 2 (models x languages, Markdown and CSV), a radar chart per language,
a heatmap, medians and bootstrap intervals over repeated judge runs, pairwise win rates and
agreement with human ratings.

Every average is FastChat's (see :mod:`tagengo.bench.scores`): -1 rows dropped, both turns
pooled into one mean. With several runs, a cell is the median of the per-run averages. A file
with two verdicts for one match is refused (``--duplicates fastchat`` averages them all, as
FastChat does). Every table comes with ``provenance.json``: the files read (with their
checksums and run manifests), the judge, the prompts and the judge policies behind the numbers.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from tagengo.bench.agreement import AgreementRow, agreement_report, pair_lookup, read_human, single_lookup
from tagengo.bench.arena import WinRate, bench_win_rates
from tagengo.bench.config import ShowConfig
from tagengo.bench.scores import (
    NO_POLICY,
    PairSummary,
    ScoredRow,
    SingleCounts,
    mean_by,
    pair_duplicates,
    pair_summary,
    row_policy,
    scored_rows,
)
from tagengo.bench.stats import Interval, score_interval
from tagengo.errors import ConfigError, InputError
from tagengo.io.bench_layout import Bench, parse_judgment_file_name
from tagengo.io.fastchat import (
    CATEGORIES,
    PairJudgment,
    SingleJudgment,
    read_pair_judgments,
    read_single_judgments,
)


@dataclass
class JudgmentFiles:
    bench: Bench
    column: str
    files: dict[int, Path]  # run -> file


def _columns(benches: list[Bench]) -> dict[str, str]:
    """bench name -> table column: its language code, or its name when two benches share one."""
    langs = [b.language or b.name for b in benches]
    return {
        b.name: (lang if langs.count(lang) == 1 else b.name) for b, lang in zip(benches, langs, strict=True)
    }


def find_judgment_files(benches: list[Bench], cfg: ShowConfig) -> tuple[str, list[JudgmentFiles]]:
    """The judge whose files to read, and per bench its run files."""
    kind = "single" if cfg.mode == "single" else "pair"
    found: dict[str, dict[str, dict[int, Path]]] = defaultdict(lambda: defaultdict(dict))
    for b in benches:
        if not b.judgment_dir.is_dir():
            continue
        for p in sorted(b.judgment_dir.glob("*.jsonl")):
            parsed = parse_judgment_file_name(p.name)
            if parsed and parsed[1] == kind:
                found[parsed[0]][b.name][parsed[2]] = p
    if not found:
        where = ", ".join(str(b.judgment_dir) for b in benches)
        raise InputError(f"no *_{kind}.jsonl judgment files in {where}; run `tagengo bench judge` first")
    judge = cfg.judge_model
    if judge is None:
        if len(found) > 1:
            raise ConfigError(
                f"judgments of several judges found ({', '.join(sorted(found))}); pick one with --judge-model"
            )
        judge = next(iter(found))
    if judge not in found:
        raise InputError(f"no {kind} judgments by '{judge}' (judges found: {', '.join(sorted(found))})")
    cols = _columns(benches)
    out = []
    for b in benches:
        runs = found[judge].get(b.name, {})
        if cfg.runs is not None:
            missing = [r for r in range(1, cfg.runs + 1) if r not in runs]
            if missing:
                raise InputError(
                    f"{b.judgment_dir}: --runs {cfg.runs} but run(s) {missing} of judge '{judge}' are missing"
                )
            runs = {r: runs[r] for r in range(1, cfg.runs + 1)}
        if runs:
            out.append(JudgmentFiles(b, cols[b.name], dict(sorted(runs.items()))))
    out.sort(key=lambda jf: (jf.column != "en", jf.column))  # English first, as papers print it
    return judge, out


# --------------------------------------------------------------------------------------------


@dataclass
class SingleResult:
    judge: str
    columns: list[str]
    models: list[str]
    overall: dict[str, dict[str, Interval]]  # model -> column -> median of run averages + CI
    by_turn: dict[int, dict[str, dict[str, float]]]  # turn -> model -> column -> score
    by_category: dict[str, dict[str, dict[str, float]]]  # column -> model -> category -> score
    long_rows: list[dict]  # model, language, category, turn, runs, n, score
    counts: dict[str, SingleCounts]  # column -> counts
    runs: int
    files: list[Path] = field(default_factory=list)
    #: column -> (run, judgment) as read: the agreement report compares the first run's verdicts.
    judgments: dict[str, list[tuple[int, SingleJudgment]]] = field(default_factory=dict)
    #: one record per file read (see :func:`file_record`), for provenance.json
    file_records: list[dict] = field(default_factory=list)

    @property
    def policies(self) -> Counter:
        total: Counter = Counter()
        for c in self.counts.values():
            total.update(c.policies)
        return total

    @property
    def prompts(self) -> Counter:
        total: Counter = Counter()
        for c in self.counts.values():
            total.update(c.prompts)
        return total

    @property
    def wordings(self) -> Counter:
        """Rows per language-sentence wording (see :func:`row_wording`)."""
        return Counter(row_wording(j) for items in self.judgments.values() for _, j in items)


def file_record(jf: JudgmentFiles, run: int, path: Path, kind: str, judge: str, rows: int) -> dict:
    """What provenance.json says about one judgment file: where, which run, its sha256, its
    row count and the manifest of the judge run that wrote it (None for files made elsewhere)."""
    suffix = "" if run == 1 else f".run{run}"
    manifest = jf.bench.report_dir / f"judge_{judge}_{kind}{suffix}.json"
    return {
        "bench": str(jf.bench.path),
        "language": jf.column,
        "run": run,
        "path": str(path),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "rows": rows,
        "manifest": str(manifest) if manifest.exists() else None,
    }


def _refuse_duplicates(path: Path, n: int, examples: list[str], cfg: ShowConfig) -> None:
    if n and cfg.duplicates == "refuse":
        raise InputError(
            f"{path}: {n} verdict(s) repeat a (question, model, turn, judge) already in the file "
            f"({'; '.join(examples[:3])}); averaging them would count those answers twice. Re-run "
            "`tagengo bench judge` on that bench (it keeps one verdict per match), or give --duplicates "
            "fastchat to average every row as FastChat's show_result does"
        )


def _median_of_runs(
    rows_by_run: dict[int, list[ScoredRow]], key: Callable[[ScoredRow], tuple]
) -> dict[tuple, tuple[float, int]]:
    per_run: dict[tuple, list[float]] = defaultdict(list)
    ns: dict[tuple, int] = defaultdict(int)
    for rows in rows_by_run.values():
        for k, (mean, n) in mean_by(rows, key).items():
            per_run[k].append(mean)
            ns[k] += n
    return {k: (statistics.median(v), ns[k]) for k, v in per_run.items()}


def single_scores(benches: list[Bench], cfg: ShowConfig) -> SingleResult:
    judge, jfiles = find_judgment_files(benches, cfg)
    rows_by_run: dict[int, list[ScoredRow]] = defaultdict(list)
    counts: dict[str, SingleCounts] = {}
    raw: dict[str, list[tuple[int, SingleJudgment]]] = defaultdict(list)
    files: list[Path] = []
    records: list[dict] = []
    for jf in jfiles:
        c = counts.setdefault(jf.column, SingleCounts())
        for run, path in jf.files.items():
            judgments = read_single_judgments(path)
            if cfg.models:
                judgments = [j for j in judgments if j.model in cfg.models]
            c.by_file[str(path)] = len(judgments)
            before, seen = c.duplicates, len(c.duplicate_examples)
            rows_by_run[run] += scored_rows(jf.bench, judgments, jf.column, run, c)
            _refuse_duplicates(path, c.duplicates - before, c.duplicate_examples[seen:], cfg)
            raw[jf.column] += [(run, j) for j in judgments]
            files.append(path)
            records.append(file_record(jf, run, path, "single", judge, len(judgments)))
    columns = [jf.column for jf in jfiles]
    # Every judged model gets a line, also one whose verdicts were all -1 (its cells show "-").
    models = sorted({j.model for items in raw.values() for _, j in items})
    overall = _overall(rows_by_run, columns, models, cfg)

    by_turn: dict[int, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for (model, col, turn), (v, _) in _median_of_runs(
        rows_by_run, lambda r: (r.model, r.column, r.turn)
    ).items():
        by_turn[turn][model][col] = v
    by_category: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for (model, col, cat), (v, _) in _median_of_runs(
        rows_by_run, lambda r: (r.model, r.column, r.category)
    ).items():
        by_category[col][model][cat] = v
    return SingleResult(
        judge,
        columns,
        models,
        overall,
        {t: dict(v) for t, v in by_turn.items()},
        {c: dict(v) for c, v in by_category.items()},
        _long_rows(rows_by_run),
        counts,
        len(rows_by_run),
        files,
        dict(raw),
        records,
    )


def _overall(
    rows_by_run: dict[int, list[ScoredRow]], columns: list[str], models: list[str], cfg: ShowConfig
) -> dict[str, dict[str, Interval]]:
    """{model: {column: the score with its bootstrap interval}}: per run, each question's mean
    over its turns; questions resampled (tagengo.bench.stats)."""
    all_rows = [r for rows in rows_by_run.values() for r in rows]
    overall: dict[str, dict[str, Interval]] = defaultdict(dict)
    runs = sorted(rows_by_run)
    for col in columns:
        for model in models:
            sel = [r for r in all_rows if r.column == col and r.model == model]
            if not sel:
                continue
            qkeys = sorted({r.qkey for r in sel})
            qi = {k: i for i, k in enumerate(qkeys)}
            ri = {r: i for i, r in enumerate(runs)}
            sums = np.zeros((len(runs), len(qkeys)))
            cnts = np.zeros((len(runs), len(qkeys)))
            for r in sel:
                sums[ri[r.run], qi[r.qkey]] += r.score
                cnts[ri[r.run], qi[r.qkey]] += 1
            keep = cnts.sum(axis=1) > 0  # a run may lack this model
            overall[model][col] = score_interval(
                sums[keep], cnts[keep], n_boot=cfg.bootstrap_iters, seed=cfg.seed
            )
    return dict(overall)


def _long_rows(rows_by_run: dict[int, list[ScoredRow]]) -> list[dict]:
    """scores_long.csv: the median over runs per model, language, category and turn, then per
    model, language and category with both turns ("all")."""
    runs = sorted(rows_by_run)
    long_rows = []
    for (model, col, cat, turn), (v, n) in sorted(
        _median_of_runs(rows_by_run, lambda r: (r.model, r.column, r.category, r.turn)).items()
    ):
        long_rows.append(
            {
                "model": model,
                "language": col,
                "category": cat,
                "turn": turn,
                "runs": len(runs),
                "n": n,
                "score": v,
            }
        )
    for (model, col, cat), (v, n) in sorted(
        _median_of_runs(rows_by_run, lambda r: (r.model, r.column, r.category)).items()
    ):
        long_rows.append(
            {
                "model": model,
                "language": col,
                "category": cat,
                "turn": "all",
                "runs": len(runs),
                "n": n,
                "score": v,
            }
        )
    return long_rows


# --------------------------------------------------------------------------------------------
# Rendering


def _fmt(v: float | None, digits: int = 2) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _order_models(res: SingleResult) -> list[str]:
    def mean_score(m: str) -> float:
        vals = [iv.estimate for iv in res.overall.get(m, {}).values() if not math.isnan(iv.estimate)]
        return sum(vals) / len(vals) if vals else float("-inf")

    return sorted(res.models, key=lambda m: -mean_score(m))


def single_markdown(res: SingleResult, ci: bool) -> str:
    models = _order_models(res)
    cols = res.columns
    parts = [f"# MT-Bench scores (judge: {res.judge}, runs: {res.runs})", ""]
    parts.append(
        "Average of each model per language, computed as FastChat's show_result: rows with score -1 "
        "dropped, both turns pooled into one mean."
        + (" Cells are the median over runs, with a 95% bootstrap interval over questions." if ci else "")
    )
    parts += ["", policy_line(res.policies), wording_line(res.wordings), ""]
    header = ["model", *cols, "mean"]
    rows = []
    for m in models:
        cells = [res.overall.get(m, {}).get(c) for c in cols]
        ests = [iv.estimate for iv in cells if iv is not None and not math.isnan(iv.estimate)]
        rows.append(
            [m]
            + [(iv.fmt() if ci else _fmt(iv.estimate)) if iv is not None else "-" for iv in cells]
            + [_fmt(sum(ests) / len(ests)) if ests else "-"]
        )
    parts += [_md_table(header, rows), ""]
    caveats = single_caveats(res)
    if caveats:
        parts += ["## Read with care", "", *[f"- {line}" for line in caveats], ""]
    if res.runs > 1:
        parts += ["## Run-to-run spread (max - min of the per-run averages)", ""]
        rows = [
            [m]
            + [
                _fmt(res.overall.get(m, {}).get(c).spread) if c in res.overall.get(m, {}) else "-"
                for c in cols
            ]
            for m in models
        ]  # type: ignore[union-attr]
        parts += [_md_table(["model", *cols], rows), ""]
    for turn in sorted(res.by_turn):
        parts += [f"## Turn {turn}", ""]
        rows = [[m] + [_fmt(res.by_turn[turn].get(m, {}).get(c)) for c in cols] for m in models]
        parts += [_md_table(["model", *cols], rows), ""]
    for col in cols:
        cats = [c for c in CATEGORIES if any(c in res.by_category.get(col, {}).get(m, {}) for m in models)]
        cats += sorted({k for m in models for k in res.by_category.get(col, {}).get(m, {})} - set(cats))
        parts += [f"## {col}: by category (both turns)", ""]
        rows = [[m] + [_fmt(res.by_category.get(col, {}).get(m, {}).get(c)) for c in cats] for m in models]
        parts += [_md_table(["model", *cats], rows), ""]
    return "\n".join(parts + _rows_read(res))


def single_caveats(res: SingleResult) -> list[str]:
    """What makes a table's means not comparable, one sentence each: grades outside the 1-10
    scale in a mean (the fastchat policy keeps them, as FastChat does), and a model scored on
    fewer (question, turn) pairs of a language than another (answers not written, or no verdict
    for them: its mean is over other questions, often the easier ones)."""
    out = []
    for col in res.columns:
        c = res.counts[col]
        if c.out_of_range:
            out.append(
                f"{col}: {c.out_of_range} of {c.used} grades are outside the judge's 1-10 scale and are in "
                "the means as given (fastchat policy; --judge-policy robust asks again)"
            )
        first = min((run for run, _ in res.judgments.get(col, [])), default=None)
        scored: dict[str, set] = {m: set() for m in res.models}
        for run, j in res.judgments.get(col, []):
            if run == first and j.valid:
                scored.setdefault(j.model, set()).add((j.key, j.turn))
        union = set().union(*scored.values()) if scored else set()
        short = {m: len(v) for m, v in scored.items() if union and len(v) < len(union)}
        if short:
            named = ", ".join(f"{m} {n}" for m, n in sorted(short.items()))
            out.append(
                f"{col}: not every model is scored on the same questions: {named} of the {len(union)} "
                "(question, turn) pairs some model has a verdict for (answers not written, or no "
                "verdict); those means are over fewer, other questions"
            )
    return out


def _rows_read(res: SingleResult) -> list[str]:
    """The end of scores.md: the rows read per language (they reconcile) and the files, with
    their manifests and prompts."""
    cols = res.columns
    parts = ["## Rows read", ""]
    rows = []
    for col in cols:
        c = res.counts[col]
        rows.append(
            [
                col,
                str(c.rows),
                str(c.used),
                str(c.no_verdict),
                str(c.api_errors),
                str(c.gated),
                str(c.out_of_range),
                str(c.duplicates),
                str(c.unknown_question),
            ]
        )
    parts.append(
        _md_table(
            [
                "language",
                "rows",
                "used",
                "score -1 (dropped)",
                "of which $ERROR$",
                "gated (score 1)",
                "outside 1-10",
                "duplicates",
                "unknown question id",
            ],
            rows,
        )
    )
    parts += ["", "## Provenance (also in provenance.json)", ""]
    for rec in res.file_records:
        manifest = f"run manifest {rec['manifest']}" if rec["manifest"] else "no tagengo run manifest"
        parts.append(
            f"- {rec['language']}, run {rec['run']}: `{rec['path']}` ({rec['rows']} rows, "
            f"sha256 {rec['sha256'][:12]}, {manifest})"
        )
    parts.append("- prompts: " + ", ".join(f"{name} ({n})" for name, n in sorted(res.prompts.items())))
    parts.append("")
    return parts


def row_wording(row: SingleJudgment | PairJudgment) -> str:
    """The wording of the language sentence a verdict was asked with (tagengo.bench.prompts:
    strict, consider; 'as written' for a prompt file's own text, 'off'); FastChat's rows and
    tagengo's older ones carry none."""
    wording = row.extra.get("language_wording")
    return wording if isinstance(wording, str) else NO_POLICY


def wording_line(wordings: Counter) -> str:
    """Which wording of the language sentence produced the verdicts behind a table: the wording
    moves the numbers (docs/bench.md, the language sentence)."""
    if not wordings:
        return "Language sentence: none (no rows)."
    named = ", ".join(f"{name} ({n} rows)" for name, n in wordings.most_common())
    if len(wordings) == 1:
        return f"Language sentence: {named}."
    return (
        f"Language sentences: **mixed**: {named}; these numbers mix verdicts asked in different words, "
        "which move the scores."
    )


def policy_line(policies: Counter) -> str:
    """Which judge policy produced the verdicts behind a table (docs/bench.md, judge policies)."""
    if not policies:
        return "Judge policy: none (no rows)."
    named = ", ".join(f"{name} ({n} rows)" for name, n in policies.most_common())
    if len(policies) == 1:
        return f"Judge policy: {named}."
    return f"Judge policies: **mixed**: {named}; these numbers mix two ways of reading verdicts."


def single_csv(res: SingleResult) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        ["model", "language", "score", "ci_low", "ci_high", "runs", "n", "run_spread", "turn_1", "turn_2"]
    )
    judged_in = {(j.model, col) for col, items in res.judgments.items() for _, j in items}
    for m in _order_models(res):
        for c in res.columns:
            iv = res.overall.get(m, {}).get(c)
            if iv is None:
                if (m, c) in judged_in:  # judged, but no usable verdict: listed, with no score
                    w.writerow([m, c, "", "", "", res.runs, 0, "", "", ""])
                continue
            w.writerow(
                [
                    m,
                    c,
                    _num(iv.estimate),
                    _num(iv.low),
                    _num(iv.high),
                    iv.runs,
                    iv.n,
                    _num(iv.spread),
                    _num(res.by_turn.get(1, {}).get(m, {}).get(c)),
                    _num(res.by_turn.get(2, {}).get(m, {}).get(c)),
                ]
            )
    return buf.getvalue()


def _num(v: float | None) -> str:
    return "" if v is None or math.isnan(v) else f"{v:.4f}"


def long_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["model", "language", "category", "turn", "runs", "n", "score"])
    w.writeheader()
    for r in rows:
        w.writerow({**r, "score": _num(r["score"])})
    return buf.getvalue()


def print_single(console: Console, res: SingleResult, ci: bool) -> None:
    t = Table(title=f"MT-Bench scores (judge {res.judge}, {res.runs} run{'s' if res.runs > 1 else ''})")
    t.add_column("model")
    for c in res.columns:
        t.add_column(c, justify="right")
    for m in _order_models(res):
        t.add_row(
            m,
            *[
                (iv.fmt() if ci else _fmt(iv.estimate))
                if (iv := res.overall.get(m, {}).get(c)) is not None
                else "-"
                for c in res.columns
            ],
        )
    console.print(t)


# --------------------------------------------------------------------------------------------
# Pairwise


def pair_scores(
    benches: list[Bench], cfg: ShowConfig
) -> tuple[str, dict[str, PairSummary], dict[str, list[PairJudgment]]]:
    judge, jfiles = find_judgment_files(benches, cfg)
    summaries: dict[str, PairSummary] = {}
    raw: dict[str, list[PairJudgment]] = {}
    for jf in jfiles:
        rows: list[PairJudgment] = []
        for path in jf.files.values():
            these = read_pair_judgments(path)
            dups = pair_duplicates(these)
            _refuse_duplicates(path, len(dups), dups, cfg)
            rows += these
        raw[jf.column] = rows
        summaries[jf.column] = pair_summary(rows, cfg.baseline_model, cfg.models or None)
    return judge, summaries, raw


def pair_markdown(
    judge: str,
    summaries: dict[str, PairSummary],
    policies: Counter | None = None,
    wordings: Counter | None = None,
) -> str:
    parts = [f"# Pairwise results (judge: {judge})", ""]
    parts.append(
        "Each pair judged in both orders: agreeing verdicts give a win, a tie or disagreement gives a tie "
        "(FastChat's rule). Adjusted win rate counts a tie as half a win. Rows with an error in either "
        "order are dropped. Position consistency counts only the pairs the judge decided."
    )
    parts.append("")
    if policies is not None:
        parts += [policy_line(policies), ""]
    if wordings is not None:
        parts += [wording_line(wordings), ""]
    for col, s in summaries.items():
        parts += [
            f"## {col}",
            "",
            f"{s.rows} games, {s.errors} dropped for errors, {s.gated} decided by the language gate; "
            f"position consistency {_fmt(100 * s.position_consistency, 1)}% ({s.consistent}/{s.judged} "
            "of the pairs the judge decided).",
            "",
        ]
        rows = [
            [
                m,
                str(t.win),
                str(t.loss),
                str(t.tie),
                _fmt(t.win_rate, 3),
                _fmt(t.loss_rate, 3),
                _fmt(t.adjusted_win_rate, 3),
            ]
            for m, t in sorted(s.tallies.items(), key=lambda kv: -kv[1].adjusted_win_rate)
        ]
        parts += [
            _md_table(["model", "win", "loss", "tie", "win rate", "loss rate", "adjusted win rate"], rows),
            "",
        ]
    return "\n".join(parts)


def pair_csv(summaries: dict[str, PairSummary]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "language",
            "model",
            "win",
            "loss",
            "tie",
            "win_rate",
            "loss_rate",
            "win_rate_adjusted",
            "position_consistency",
        ]
    )
    for col, s in summaries.items():
        for m, t in sorted(s.tallies.items()):
            w.writerow(
                [
                    col,
                    m,
                    t.win,
                    t.loss,
                    t.tie,
                    _num(t.win_rate),
                    _num(t.loss_rate),
                    _num(t.adjusted_win_rate),
                    _num(s.position_consistency),
                ]
            )
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# Against one baseline (Arena-Hard style)


def arena_scores(benches: list[Bench], cfg: ShowConfig) -> dict[str, tuple[str, list[WinRate]]]:
    """Per bench column: the baseline and every model's win rate against it (bench.arena), from
    the pair judgments of --mode pairwise-baseline (or pairwise-all with --baseline-model)."""
    _, jfiles = find_judgment_files(benches, cfg.model_copy(update={"mode": "pairwise"}))
    out: dict[str, tuple[str, list[WinRate]]] = {}
    for jf in jfiles:
        baseline, rates = bench_win_rates(
            jf.bench,
            jf.files,
            cfg.baseline_model,
            models=cfg.models or None,
            n_boot=cfg.bootstrap_iters,
            seed=cfg.seed,
        )
        if baseline is not None and rates:
            out[jf.column] = (baseline, rates)
    return out


def _pct(v: float) -> str:
    return "-" if v != v else f"{100 * v:.1f}"


def _pct_ci(lo: float, hi: float) -> str:
    return "-" if lo != lo or hi != hi else f"[{100 * lo:.1f}, {100 * hi:.1f}]"


ARENA_NOTE = (
    "Every game judged in both orders; a tie, or two orders that disagree, counts half a win; a judgment "
    "with an error in either order is dropped whole. 95% intervals: percentile bootstrap over questions "
    "({boot} resamples, seed {seed}). LC: length-controlled win rate, the chance of a win at the "
    "baseline's answer length from a logistic regression on model and normalised length difference "
    "(Arena-Hard-Auto's style control). n: games (question x turn x order)."
)


def arena_rows(baseline: str, rates: list[WinRate]) -> list[list[str]]:
    """Table rows (model, win rate %, 95% CI, LC win rate %, LC 95% CI, n, dropped), the
    baseline last as the 50% reference row, as Arena-Hard prints it."""
    rows = [
        [
            w.model,
            _pct(w.win_rate),
            _pct_ci(w.low, w.high),
            _pct(w.lc_win_rate),
            _pct_ci(w.lc_low, w.lc_high),
            str(w.games),
            str(w.dropped),
        ]
        for w in rates
    ]
    return [*rows, [f"{baseline} (baseline)", "50.0", "-", "50.0", "-", "-", "-"]]


ARENA_HEADER = ["model", "win rate %", "95% CI", "LC win rate %", "LC 95% CI", "n", "dropped"]


def arena_markdown(judge: str, arena: dict[str, tuple[str, list[WinRate]]], cfg: ShowConfig) -> str:
    parts = [f"# Win rates against the baseline (judge: {judge})", ""]
    parts += [ARENA_NOTE.format(boot=cfg.bootstrap_iters, seed=cfg.seed), ""]
    for col, (baseline, rates) in arena.items():
        parts += [
            f"## {col} (baseline {baseline})",
            "",
            _md_table(ARENA_HEADER, arena_rows(baseline, rates)),
            "",
        ]
    return "\n".join(parts)


def arena_csv(arena: dict[str, tuple[str, list[WinRate]]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "language",
            "model",
            "baseline",
            "win_rate",
            "win_rate_low",
            "win_rate_high",
            "lc_win_rate",
            "lc_win_rate_low",
            "lc_win_rate_high",
            "games",
            "questions",
            "dropped",
        ]
    )
    for col, (_, rates) in arena.items():
        for r in rates:
            w.writerow(
                [
                    col,
                    r.model,
                    r.baseline,
                    _num(r.win_rate),
                    _num(r.low),
                    _num(r.high),
                    _num(r.lc_win_rate),
                    _num(r.lc_low),
                    _num(r.lc_high),
                    r.games,
                    r.questions,
                    r.dropped,
                ]
            )
    return buf.getvalue()


# --------------------------------------------------------------------------------------------


def agreement_markdown(rows: list[AgreementRow], unmatched: dict[str, int]) -> str:
    parts = ["# Agreement with human ratings", ""]
    parts.append(
        "Agreement: share of (judge, human) comparisons that match, and of (human, human) ones: every two "
        "ratings of one match by different annotators, the ceiling a judge is measured against; without "
        "ties: leaving out every comparison where either side said tie. Scores agree when their whole "
        "grades (rounded half up: 6.5 is 7) are equal. Kappa: Cohen's, over all comparisons (human pairs "
        "counted in both orders). Spearman: over the scores (single) or the preferences coded A=1, tie=0, "
        "B=-1."
    )
    parts.append("")
    body = [
        [
            r.comparison,
            r.turn,
            str(r.n),
            _fmt(r.agreement, 3),
            str(r.n_no_ties),
            _fmt(r.agreement_no_ties, 3),
            _fmt(r.kappa, 3),
            _fmt(r.spearman, 3),
        ]
        for r in rows
    ]
    parts.append(
        _md_table(
            [
                "comparison",
                "turn",
                "n",
                "agreement",
                "n w/o ties",
                "agreement w/o ties",
                "Cohen's kappa",
                "Spearman",
            ],
            body,
        )
    )
    if unmatched:
        parts += [
            "",
            "Human rows without a matching judge verdict (left out): "
            + ", ".join(f"{k}: {v}" for k, v in unmatched.items()),
        ]
    parts.append("")
    return "\n".join(parts)


def agreement_csv(rows: list[AgreementRow]) -> str:
    buf = io.StringIO()
    fields = list(rows[0].to_dict()) if rows else ["comparison"]
    w = csv.DictWriter(buf, fieldnames=fields)
    w.writeheader()
    for r in rows:
        w.writerow({k: (_num(v) if isinstance(v, float) else v) for k, v in r.to_dict().items()})
    return buf.getvalue()


# --------------------------------------------------------------------------------------------


def provenance_json(
    judge: str,
    cfg: ShowConfig,
    benches: list[Bench],
    policies: Counter,
    prompts: Counter,
    records: list[dict],
    wordings: Counter | None = None,
) -> str:
    """provenance.json: where every number of the tables came from."""
    from datetime import UTC, datetime

    from tagengo.run.manifest import STAGE_PACKAGES, package_versions

    body = {
        "command": "bench show",
        "judge": judge,
        "mode": cfg.mode,
        "policies": dict(policies.most_common()),
        "language_wordings": dict((wordings or Counter()).most_common()),
        "prompts": dict(sorted(prompts.items())),
        "files": records,
        "benches": [
            {"path": str(b.path), "language": b.language, "language_source": b.language_source}
            for b in benches
        ],
        "config": cfg.model_dump(mode="json"),
        "versions": package_versions(*STAGE_PACKAGES),
        "written_at": datetime.now(UTC).isoformat(),
    }
    return json.dumps(body, ensure_ascii=False, indent=2) + "\n"


@dataclass
class ShowOutput:
    files: list[Path]
    single: SingleResult | None = None
    pairs: dict[str, PairSummary] | None = None
    arena: dict[str, tuple[str, list[WinRate]]] | None = None
    agreement: list[AgreementRow] | None = None


def _write(path: Path, text: str, files: list[Path]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    files.append(path)


def _show_arena(
    benches: list[Bench], cfg: ShowConfig, out: Path, result: ShowOutput, console: Console | None
) -> list[dict]:
    """arena.md/.csv beside the MT-Bench (or pairwise) tables where pair judgments against one
    baseline exist; in single mode their absence (or several judges) is no error. Returns the
    provenance records of the pair files it read in single mode (pairwise mode lists them)."""
    try:
        judge, jfiles = find_judgment_files(benches, cfg.model_copy(update={"mode": "pairwise"}))
        arena = arena_scores(benches, cfg)
    except (InputError, ConfigError):
        if cfg.mode != "single":
            raise
        return []
    if not arena:
        return []
    _write(out / "arena.md", arena_markdown(judge, arena, cfg), result.files)
    _write(out / "arena.csv", arena_csv(arena), result.files)
    if console is not None:
        console.print(arena_markdown(judge, arena, cfg))
    result.arena = arena
    if cfg.mode != "single":
        return []
    return [
        file_record(jf, run, path, "pair", judge, len(read_pair_judgments(path)))
        for jf in jfiles
        if jf.column in arena
        for run, path in jf.files.items()
    ]


@dataclass
class _Shown:
    """What a mode's tables leave for provenance.json and the human agreement."""

    judge: str
    policies: Counter
    prompts: Counter
    wordings: Counter
    records: list[dict]
    singles: dict = field(default_factory=dict)  # single_lookup of the verdicts (single mode)
    pairs: dict = field(default_factory=dict)  # pair_lookup of the verdicts (pairwise modes)


def show(benches: list[Bench], cfg: ShowConfig, out: Path, *, console: Console | None = None) -> ShowOutput:
    """Compute and write every table and picture for ``benches`` into ``out``."""
    out = Path(out)
    files: list[Path] = []
    result = ShowOutput(files)
    judge, jfiles = find_judgment_files(benches, cfg)
    without = [b.name for b in benches if b.name not in {jf.bench.name for jf in jfiles}]
    if without and console is not None:
        console.print(f"[yellow]no {cfg.mode} judgments by '{judge}' in: {', '.join(without)} (left out)[/]")
    if cfg.mode == "single":
        shown = _show_single(benches, cfg, out, result, console)
    else:
        shown = _show_pairs(benches, cfg, out, result, jfiles, console)
    records = shown.records + _show_arena(benches, cfg, out, result, console)
    _write(
        out / "provenance.json",
        provenance_json(shown.judge, cfg, benches, shown.policies, shown.prompts, records, shown.wordings),
        files,
    )
    if cfg.human is not None:
        _show_agreement(benches, cfg, out, result, shown, console)
    return result


def _show_single(
    benches: list[Bench], cfg: ShowConfig, out: Path, result: ShowOutput, console: Console | None
) -> _Shown:
    """scores.md/.csv, scores_long.csv and the charts."""
    files = result.files
    res = single_scores(benches, cfg)
    ci = cfg.bootstrap_iters > 0
    if len(res.policies) > 1 and console is not None:
        console.print(f"[yellow]{policy_line(res.policies)}[/]")
    if len(res.wordings) > 1 and console is not None:
        console.print(f"[yellow]{wording_line(res.wordings)}[/]")
    if console is not None:
        for line in single_caveats(res):
            console.print(f"[yellow]{line}[/]")
    _write(out / "scores.md", single_markdown(res, ci), files)
    _write(out / "scores.csv", single_csv(res), files)
    _write(out / "scores_long.csv", long_csv(res.long_rows), files)
    usable = any(c.used for c in res.counts.values())
    if cfg.plots and not usable and console is not None:
        console.print("[yellow]no usable verdicts (every score is -1): no charts drawn[/]")
    if cfg.plots and usable:
        from tagengo.bench.plots import heatmap, radar_chart

        for col in res.columns:
            data = res.by_category.get(col, {})
            if data:
                files.append(
                    radar_chart(
                        data, out / f"radar_{col}.png", f"MT-Bench categories: {col} (judge {res.judge})"
                    )
                )
        table = {m: {c: iv.estimate for c, iv in res.overall.get(m, {}).items()} for m in res.models}
        files.append(
            heatmap(
                table, out / "heatmap.png", f"MT-Bench average by language (judge {res.judge})", res.columns
            )
        )
    if console is not None:
        print_single(console, res, ci)
    result.single = res
    singles = single_lookup(
        (col, j)
        for col, items in res.judgments.items()
        for run, j in items
        if run == min(r for r, _ in items)
    )
    return _Shown(res.judge, res.policies, res.prompts, res.wordings, res.file_records, singles=singles)


def _show_pairs(
    benches: list[Bench],
    cfg: ShowConfig,
    out: Path,
    result: ShowOutput,
    jfiles: list,
    console: Console | None,
) -> _Shown:
    """pairwise.md/.csv: win rates per pair of models."""
    judge, summaries, raw_pairs = pair_scores(benches, cfg)
    all_pairs = [r for rows in raw_pairs.values() for r in rows]
    policies = Counter(row_policy(r) for r in all_pairs)
    wordings = Counter(row_wording(r) for r in all_pairs)
    prompts = Counter(r.judge[1] for r in all_pairs)
    records = [
        file_record(jf, run, path, "pair", judge, len(read_pair_judgments(path)))
        for jf in jfiles
        for run, path in jf.files.items()
    ]
    _write(out / "pairwise.md", pair_markdown(judge, summaries, policies, wordings), result.files)
    _write(out / "pairwise.csv", pair_csv(summaries), result.files)
    if console is not None:
        console.print(pair_markdown(judge, summaries, policies, wordings))
    result.pairs = summaries
    pairs = pair_lookup((col, r) for col, rows in raw_pairs.items() for r in rows)
    return _Shown(judge, policies, prompts, wordings, records, pairs=pairs)


def _show_agreement(
    benches: list[Bench],
    cfg: ShowConfig,
    out: Path,
    result: ShowOutput,
    shown: _Shown,
    console: Console | None,
) -> None:
    """agreement.md/.csv: the judge against human ratings (--human)."""
    judge_singles, judge_pairs = shown.singles, shown.pairs
    # Compare with both kinds of verdict when the judge left both.
    other = cfg.model_copy(update={"mode": "pairwise" if cfg.mode == "single" else "single", "runs": None})
    try:
        if cfg.mode == "single":
            _, _, raw_pairs = pair_scores(benches, other)
            judge_pairs = pair_lookup((col, r) for col, rows in raw_pairs.items() for r in rows)
        else:
            singles = single_scores(benches, other.model_copy(update={"bootstrap": 0}))
            judge_singles = single_lookup(
                (col, j) for col, items in singles.judgments.items() for run, j in items if run == 1
            )
    except (InputError, ConfigError):
        pass  # only one kind of judgment exists: compare with that one
    # With one bench the CSV needs no language column; with several, its values name the columns.
    default_lang = _columns(benches)[benches[0].name] if len(benches) == 1 else ""
    votes, scores = read_human(cfg.human, default_lang)
    rows, unmatched = agreement_report(votes, scores, judge_singles, judge_pairs)
    if not rows:
        raise InputError(
            f"{cfg.human}: none of its rows matches a judge verdict (check question ids, model names, turns "
            "and the language column)"
        )
    _write(out / "agreement.md", agreement_markdown(rows, unmatched), result.files)
    _write(out / "agreement.csv", agreement_csv(rows), result.files)
    if console is not None:
        console.print(agreement_markdown(rows, unmatched))
    result.agreement = rows
