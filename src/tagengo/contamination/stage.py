"""`tagengo contamination` as a step and a library call.

:class:`ContaminationFilter` is a ``GlobalStep`` (all rows at once: the embedder is built
once and every row is embedded in batches). With ``drop`` each matched row goes to
``rejected/`` with a reason naming the check, benchmark, question, turn and similarity;
without it every row is kept. Either way a matched row's ``meta`` gains ``contamination``:
one entry per check that fired and benchmark it fired for (check, bench, question_id,
turn, row_turn, similarity). The step writes ``report/contamination.json``, ``.md`` and the
histogram PNG into its ``report_dir``; the step can sit at the end of any stage's step list.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tagengo.contamination.config import PRESETS, ContaminationConfig
from tagengo.contamination.match import (
    Matcher,
    bench_fingerprint,
    load_targets,
    resolve_margin,
    resolve_same_language_threshold,
    resolve_threshold,
)
from tagengo.contamination.report import build_report, write_report
from tagengo.io.source import open_source
from tagengo.records import Record, Rejection
from tagengo.run.options import config_from_preset, describe_preset
from tagengo.run.runner import StageResult, run_stage
from tagengo.run.steps import GlobalStep

REPORT_DIR = "report"


def _ngram_rule(cfg: ContaminationConfig) -> str:
    g = cfg.ngram
    if g.unit == "chars":
        what = f"character {g.n}-gram(s)"
    else:
        what = f"word {g.n}-gram(s) (character {g.n_unspaced}-grams for questions in scripts without spaces)"
    rule = f"at least {g.min_shared} shared distinct {what} after normalisation"
    if g.min_share is not None:
        rule += f", or shared n-grams covering at least {g.min_share:.0%} of the question"
    return rule


def _rules(
    cfg: ContaminationConfig,
    threshold: float | None,
    margin: float | None = None,
    same_language: float | None = None,
) -> dict[str, str]:
    embedding = f"cosine strictly above {threshold}"
    if same_language is not None and same_language != threshold:
        embedding += f" ({same_language} for a turn in the bench's own language)"
    if margin:
        embedding += f" and at least {margin} above the row's best cosine to any other question"
    rules = {
        "exact": "same user turn as a question turn, leading/trailing whitespace aside",
        "normalised": "equal after NFKC, case folding and punctuation/whitespace runs collapsed to one space",
        "ngram": _ngram_rule(cfg),
        "embedding": embedding,
    }
    return {c: rules[c] for c in cfg.checks}


class ContaminationFilter(GlobalStep):
    """Rows vs benchmark questions (module doc); config: :class:`ContaminationConfig`."""

    name = "contamination"

    def __init__(
        self,
        config: ContaminationConfig,
        *,
        report_dir: str | os.PathLike[str] | None = None,
        progress: bool | None = None,
        embedder: Any = None,
    ) -> None:
        self.config = config
        self.report_dir = Path(report_dir) if report_dir else None
        self.progress = sys.stderr.isatty() if progress is None else progress
        self._embedder = embedder
        self._matcher: Matcher | None = None
        self._summary: dict[str, Any] = {}
        self.report: dict[str, Any] | None = None
        self.threshold: float | None = None
        self.threshold_source = ""
        self.margin: float | None = None
        self.same_language_threshold: float | None = None

    def setup(self) -> None:
        if self._matcher is not None:
            return
        cfg = self.config
        self.benches, targets = load_targets(cfg.benches)
        embed = None
        if "embedding" in cfg.checks:
            if self._embedder is None:
                self._embedder = cfg.embedder.build()
            self.threshold, self.threshold_source = resolve_threshold(cfg, self._embedder)
            self.margin, _ = resolve_margin(cfg, self._embedder)
            self.same_language_threshold = resolve_same_language_threshold(
                cfg, self._embedder, self.threshold
            )
            embed = self._embed
        self._cache = None
        if embed is not None and cfg.cache:
            from tagengo.llm.embedding_cache import EmbeddingCache, default_cache_path

            self._cache = EmbeddingCache(default_cache_path(cfg.cache_dir))
        self._embed_counts = {"cached": 0, "embedded": 0}
        self._matcher = Matcher(
            targets,
            cfg,
            embed=embed,
            threshold=self.threshold,
            margin=self.margin or 0.0,
            same_language_threshold=self.same_language_threshold,
        )

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        from tagengo.llm.embedding_cache import embed_texts

        bar = None
        if self.progress and len(texts) > 1000:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), desc="contamination: embedding", unit="text")
        try:
            vectors, counts = embed_texts(
                self._embedder,
                list(texts),
                self._cache,
                self.config.embedder.batch_size,
                progress=bar.update if bar is not None else None,
            )
        finally:
            if bar is not None:
                bar.close()
        for k, v in counts.items():
            self._embed_counts[k] += v
        return vectors

    def close(self) -> None:
        if getattr(self, "_cache", None) is not None:
            self._cache.close()
            self._cache = None
        if self._embedder is not None:
            self._embedder.close()

    def process(self, batch: list[Record]) -> tuple[list[Record], list[Rejection]]:
        self.setup()
        assert self._matcher is not None
        cfg = self.config
        segments = [self._matcher.segments(r.messages) for r in batch]
        results = self._matcher.match(segments)
        kept: list[Record] = []
        rejected: list[Rejection] = []
        for rec, res in zip(batch, results, strict=True):
            first = res.first
            if first is None:
                kept.append(rec)
                continue
            rec.meta["contamination"] = [m.to_json() for per in res.matches.values() for m in per.values()]
            if cfg.drop:
                rejected.append(Rejection(rec, self.name, first.reason()))
            else:
                kept.append(rec)
        extra: dict[str, Any] = {
            "rules": _rules(cfg, self.threshold, self.margin, self.same_language_threshold),
            "dropped": len(rejected) if cfg.drop else None,
            "threshold": self.threshold,
            "threshold_source": self.threshold_source or None,
            "same_language_threshold": self.same_language_threshold,
            "margin": self.margin,
            "embedder": getattr(self._embedder, "id", None) if "embedding" in cfg.checks else None,
            "embeddings": dict(self._embed_counts),
        }
        self.report = build_report(
            batch, segments, results, self.benches, cfg.checks, examples=cfg.examples, extra=extra
        )
        if self.report_dir is not None:
            write_report(self.report, self.report_dir)
        self._summary = {
            k: self.report[k] for k in ("rows_matched", "dropped", "threshold", "embedder", "embeddings")
        }
        self._summary["benches"] = {
            name: {"language": b["language"], "matched_rows": b["matched_rows"]}
            for name, b in self.report["benches"].items()
        }
        return kept, rejected

    def summary(self) -> dict:
        out, self._summary = self._summary, {}
        return out


def preset_config(name: str = "default", **overrides: Any) -> ContaminationConfig:
    """The config of preset ``name`` with ``overrides`` merged in; ``ConfigError`` for an unknown name."""
    return config_from_preset(ContaminationConfig, PRESETS, name, **overrides)


def contamination(
    input_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: ContaminationConfig,
    *,
    input_format: str | None = None,
    preset: str | None = None,
    workers: int | None = None,
    force: bool = False,
    progress: bool | None = None,
    embedder: Any = None,
    **run_kw: Any,
) -> StageResult:
    """Compare ``input_path``'s rows with the questions of ``config.benches``; write ``out``
    (a dataset folder: every row, or with ``drop`` the unmatched ones, matches in rejected/)
    and ``out/report/contamination.{json,md}`` plus the similarity histogram PNG."""
    benches, _ = load_targets(config.benches)  # a bad bench fails before any row is read
    cfg = config.model_copy(update={"bench_fingerprint": bench_fingerprint(benches)})
    source = open_source(input_path, input_format)
    step = ContaminationFilter(cfg, report_dir=Path(out) / REPORT_DIR, progress=progress, embedder=embedder)
    try:
        return run_stage(
            stage="contamination",
            config=cfg,
            source=source,
            steps=[step],
            out=out,
            workers=workers,
            force=force,
            progress=progress,
            extra_manifest=describe_preset(cfg, PRESETS, preset),
            **run_kw,
        )
    finally:
        step.close()
