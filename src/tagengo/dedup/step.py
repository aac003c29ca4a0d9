"""``NearDuplicateFilter``: the dedup step, used alone (``tagengo dedup``) and as curate's step 8.

For each language (rows with different ``language`` are never compared), in input order:

1. **exact copies**: rows whose first user turn is identical to an earlier row's are
   settled without a model (their vector would be the same, so the outcome is the same
   under both semantics: see ``_settle_copies``); only distinct prompts go further;
2. **MinHash** (``method`` minhash or both): lexical near-duplicates on character n-grams;
3. **embeddings** (``method`` embedding or both): embed the first user turn (cached; under
   ``--executor ray`` the prompts missing from the cache are embedded in Ray Data actors, one
   embedder each, through ``batch_map``, and only the vectors come back), then exact blocked
   search, or approximate k-means-cell search for languages above ``approx_above`` rows
   (``search auto``), with its agreement measured on a sample, in this process.

Every dropped row becomes a Rejection whose reason names the row it duplicates and the
similarity; ``meta`` gets ``dup_of`` (that row's id), ``similarity`` and ``dedup_by``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tagengo.dedup.approx import (
    approx_decide,
    approx_nearest_neighbour_similarity,
    assign_cells,
    cell_pairs,
    check_decisions,
    default_cells,
    train_cells,
)
from tagengo.dedup.config import DedupConfig
from tagengo.dedup.decide import Decisions, decide_from_pairs
from tagengo.dedup.minhash import minhash_check
from tagengo.dedup.search import candidate_pairs, exact_decide, nearest_neighbour_similarity, top_per_row
from tagengo.dedup.thresholds import default_threshold
from tagengo.llm.embedders import Embedder, EmbedWorker
from tagengo.llm.embedding_cache import EmbeddingCache, default_cache_path, embed_texts
from tagengo.records import NO_LANGUAGE, Record, Rejection
from tagengo.run.steps import GlobalStep


class _Bar:
    """A rich progress bar on a terminal; elsewhere plain lines (one every interval and one
    when each task ends, tagengo.io.progress_lines); nothing when disabled."""

    def __init__(self, enabled: bool) -> None:
        from tagengo.io.progress_lines import live_terminal

        self._p = None
        self._lines = None  # the task being reported as lines, off a terminal
        self._as_lines = enabled and not live_terminal()
        if enabled and not self._as_lines:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._p = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                transient=True,
            )
            self._p.start()

    def task(self, description: str, total: int):  # -> callable(advance)
        if self._as_lines:
            from tagengo.io.progress_lines import LineProgress

            if self._lines is not None:
                self._lines.close()  # tasks run one after the other: a new one ends the last
            self._lines = LineProgress(description, total)
            return self._lines.advance
        if self._p is None:
            return lambda n: None
        tid = self._p.add_task(description, total=total)
        return lambda n: self._p.update(tid, advance=n)

    def close(self) -> None:
        if self._p is not None:
            self._p.stop()
        if self._lines is not None:
            self._lines.close()
            self._lines = None


def _first_occurrences(texts: list[str]) -> tuple[list[int], np.ndarray]:
    """(positions of the first occurrence of each distinct text, in order; for every row the
    index of its distinct text)."""
    seen: dict[str, int] = {}
    firsts: list[int] = []
    which = np.empty(len(texts), dtype=np.int64)
    for i, t in enumerate(texts):
        u = seen.get(t)
        if u is None:
            u = seen[t] = len(firsts)
            firsts.append(i)
        which[i] = u
    return firsts, which


@dataclass
class _Language:
    """One language's distinct prompts, their outcomes so far and the ones still alive."""

    texts: list[str]
    firsts: list[int]
    which: np.ndarray
    uniq: list[str]
    u_kept: np.ndarray  # per distinct prompt: kept so far
    u_dup: np.ndarray  # ... else the distinct prompt it duplicates,
    u_sim: np.ndarray  # ... how similar,
    u_by: np.ndarray  # ... and which pass found it
    stats: dict[str, Any]
    alive: np.ndarray  # distinct prompts left for the embedding pass


#: Kept prompts per language recorded just below the threshold (``--report``).
CLOSEST_KEPT = 4


def closest_kept_pairs(
    vecs: np.ndarray,
    nn: np.ndarray,
    threshold: float,
    kept: np.ndarray,
    ids: list[str],
    n: int = CLOSEST_KEPT,
) -> list[dict[str, Any]]:
    """The ``n`` kept prompts whose nearest-neighbour similarity is highest without exceeding
    ``threshold``, each with the id and the exact cosine of its nearest neighbour: the closest
    calls the threshold let through (two prompts that are each other's nearest neighbour make
    one pair). ``vecs``: unit vectors, one per distinct prompt; ``nn``
    their nearest-neighbour similarity (NaN: none); ``kept``: which survived."""
    ok = np.flatnonzero(kept & np.isfinite(nn) & (nn <= threshold))
    out: list[dict[str, Any]] = []
    seen: set[tuple[int, int]] = set()
    for j in ok[np.argsort(-nn[ok], kind="stable")].tolist():
        if len(out) == n:
            break
        sims = vecs @ vecs[j]
        sims[j] = -np.inf
        k = int(np.argmax(sims))
        if (k, j) in seen:  # two prompts that are each other's nearest neighbour: one pair
            continue
        seen.add((j, k))
        out.append(
            {
                "id": ids[j],
                "neighbour": ids[k],
                "similarity": round(float(sims[k]), 6),
                "neighbour_kept": bool(kept[k]),
            }
        )
    return out


class NearDuplicateFilter(GlobalStep):
    """Per-language near-duplicate removal. See the module doc; config: :class:`DedupConfig`."""

    name = "dedup"

    def __init__(
        self,
        config: DedupConfig | None = None,
        *,
        progress: bool | None = None,
        report_dir: str | Path | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.config = config or DedupConfig()
        self.progress = True if progress is None else progress  # a bar on a terminal, else lines
        self.report_dir = Path(report_dir) if report_dir else None
        self._embedder = embedder
        self._embedder_given = embedder is not None  # then never rebuilt elsewhere from the config
        #: --judge-band: the model asked about the pairs the request check keeps apart on its
        #: ratio alone (tagengo.dedup.judge); built in process(), closed at its end.
        self._judge = None
        self._embed_pids: set[int] = set()
        self._threshold: float | None = None
        self._threshold_source = ""
        self._summary: dict[str, Any] = {}
        #: (language, distinct prompt) -> why the request check found it the same request
        self._why: dict[tuple[str, int], str] = {}
        self.nn_similarity: dict[str, np.ndarray] = {}
        #: --report: per language, the kept prompts closest to the threshold from below, each
        #: with its nearest neighbour (the "kept" side of the report's example pairs).
        self.closest_kept: dict[str, list[dict[str, Any]]] = {}

    # -- setup ------------------------------------------------------------------------

    @property
    def uses_embeddings(self) -> bool:
        return self.config.method in ("embedding", "both")

    def setup(self) -> None:
        """Build the embedder once and resolve the threshold (a calibrated default or the config's)."""
        if not self.uses_embeddings or self._threshold is not None:
            return
        if self._embedder is None:
            self._embedder = self.config.embedder.build()
        if self.config.threshold is not None:
            self._threshold, self._threshold_source = self.config.threshold, "config"
        else:
            self._threshold, self._threshold_source = default_threshold(
                self._embedder, self.config.content_check
            )

    @property
    def threshold(self) -> float | None:
        return self._threshold

    @property
    def embedder(self) -> Embedder | None:
        return self._embedder

    # -- embedding elsewhere ------------------------------------------------------------

    @property
    def _remote_embed_on(self) -> bool:
        """Embed through the executor's workers (set by the runner under --executor ray); an
        embedder handed in by the caller is used as it is, in this process."""
        return self.batch_map is not None and not self._embedder_given

    def _remote_embed(self, texts: list[str], batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Embed ``texts`` in the executor's workers, one embedder built per worker from the
        config; yield (positions, vectors) per batch as they come back. Only the vectors
        travel: the search and the decisions stay here, over all of a language's prompts."""
        table = pa.table(
            {"i": pa.array(np.arange(len(texts), dtype=np.int64)), "text": pa.array(texts, pa.string())}
        )
        embedder_cfg = self.config.embedder
        if embedder_cfg.kind == "e5-torch" and self._embedder is not None:
            # The precision this process chose for "auto", not each worker's own choice: on
            # machines of mixed CPUs the vectors (and the cache ids) must stay one kind.
            embedder_cfg = embedder_cfg.model_copy(update={"dtype": self._embedder.dtype})
        for out in self.batch_map.map_batches(EmbedWorker, (embedder_cfg,), table, batch_size):
            self._embed_pids.update(int(p) for p in out["pid"])
            yield out["i"], out["vector"]

    # -- the step ---------------------------------------------------------------------

    def process(self, batch: list[Record]) -> tuple[list[Record], list[Rejection]]:
        self.setup()
        cfg = self.config
        groups: dict[str, list[int]] = {}
        no_prompt: dict[str, int] = {}
        for i, r in enumerate(batch):
            lang = r.language or NO_LANGUAGE
            if r.first_user().strip():
                groups.setdefault(lang, []).append(i)
            else:
                # Nothing to compare: such a row is never a duplicate nor an original. It passes.
                no_prompt[lang] = no_prompt.get(lang, 0) + 1
        dropped: dict[int, Rejection] = {}
        langs: dict[str, Any] = {}
        timing = {"embed_s": 0.0, "search_s": 0.0, "minhash_s": 0.0}
        emb_counts = {"cached": 0, "embedded": 0}
        self._embed_pids = set()
        self._why = {}
        bar = _Bar(self.progress)
        cache = None
        if self.uses_embeddings and cfg.cache:
            cache = EmbeddingCache(default_cache_path(cfg.cache_dir))
        self._open_judge()
        try:
            order = sorted(groups.items(), key=lambda kv: -len(kv[1]))
            prepared = {
                lang: self._prepare_language(lang, [batch[i] for i in idx], timing) for lang, idx in order
            }
            # Locally each language is embedded in turn (only one language's vectors in memory);
            # through the executor all at once, so that its actors start once.
            vectors: dict[str, np.ndarray] = {}
            if self.uses_embeddings and self._remote_embed_on:
                vectors = self._embed_all(prepared, cache, bar, timing, emb_counts)
            for lang, idx in order:
                rows = [batch[i] for i in idx]
                langs[lang] = self._dedup_language(
                    lang,
                    prepared.pop(lang),
                    rows,
                    dropped,
                    idx,
                    cache,
                    bar,
                    timing,
                    emb_counts,
                    vectors.pop(lang, None),
                )
            for lang, k in no_prompt.items():
                stats = langs.setdefault(lang, {"in": 0, "removed": 0, "kept": 0})
                stats["in"] += k
                stats["kept"] += k
                stats["no_prompt"] = k
                stats["removal_rate"] = round(stats["removed"] / stats["in"], 4)
        finally:
            bar.close()
            if cache is not None:
                cache.close()
            if self._judge is not None:
                self._judge.close()
        kept = [r for i, r in enumerate(batch) if i not in dropped]
        rejected = [dropped[i] for i in sorted(dropped)]
        self._summarise(langs, timing, emb_counts)
        if cfg.report and self.report_dir is not None:
            self.write_report(self.report_dir)
        return kept, rejected

    def _open_judge(self) -> None:
        """--judge-band: the band judge (its client is built on its first question)."""
        cfg = self.config
        if self.uses_embeddings and cfg.content_check and cfg.judge_band and self._judge is None:
            from tagengo.dedup.judge import BandJudge

            self._judge = BandJudge(
                cfg.judge, max_tokens=cfg.judge_max_tokens, constrain=cfg.constrain_verdict
            )

    def _summarise(self, langs: dict[str, Any], timing: dict[str, float], emb_counts: dict[str, int]) -> None:
        """The step's summary of the last run (the manifest's ``dedup`` entry)."""
        cfg = self.config
        self._summary = {
            "method": cfg.method,
            "semantics": cfg.semantics,
            **(
                {
                    "embedder": self._embedder.id if self._embedder else None,
                    "threshold": self._threshold,
                    "threshold_source": self._threshold_source,
                    "content_check": cfg.content_check,
                    **({"judge": self._judge.name} if self._judge is not None else {}),
                    "embeddings": {
                        **emb_counts,
                        **(
                            {"embedded_by": repr(self.batch_map), "processes": len(self._embed_pids)}
                            if self._remote_embed_on
                            else {}
                        ),
                    },
                }
                if self.uses_embeddings
                else {}
            ),
            **({"minhash_threshold": cfg.minhash.threshold} if cfg.method != "embedding" else {}),
            **({"ignored_options": cfg.ignored_options()} if cfg.ignored_options() else {}),
            "seconds": {k: round(v, 3) for k, v in timing.items()},
            "languages": dict(sorted(langs.items(), key=lambda kv: -kv[1]["in"])),
        }

    def _prepare_language(self, lang: str, rows: list[Record], timing: dict[str, float]) -> _Language:
        """A language's distinct prompts and what MinHash decided: the prompts still alive are
        the ones to embed. With the request check, a MinHash pair counts only when it is one
        request without a model (tagengo.dedup.minhash.same_request); the summary counts the
        pairs above the threshold kept apart (``minhash_stopped``, by reason)."""
        cfg = self.config
        texts = [r.first_user() for r in rows]
        firsts, which = _first_occurrences(texts)
        uniq = [texts[i] for i in firsts]
        n_u = len(uniq)
        # Outcome per distinct prompt: kept, or (dup_of distinct index, similarity, by).
        u_kept = np.ones(n_u, dtype=bool)
        u_dup = np.full(n_u, -1, dtype=np.int64)
        u_sim = np.full(n_u, np.nan, dtype=np.float32)
        u_by = np.full(n_u, "", dtype=object)
        stats: dict[str, Any] = {"in": len(rows), "exact_copies": len(rows) - n_u}

        alive = np.arange(n_u)
        if cfg.method in ("minhash", "both") and n_u > 1:
            t0 = time.perf_counter()
            res = minhash_check(
                uniq,
                cfg.minhash.threshold,
                cfg.semantics,
                ngram=cfg.minhash.ngram,
                num_perm=cfg.minhash.num_perm,
                seed=cfg.minhash.seed,
                check=cfg.content_check,
                lang=None if lang == NO_LANGUAGE else lang,
            )
            d = res.decisions
            timing["minhash_s"] += time.perf_counter() - t0
            self._apply(d, alive, u_kept, u_dup, u_sim, u_by, "minhash")
            for i in np.flatnonzero(~d.kept).tolist():  # alive is every prompt here
                if (i, int(d.dup_of[i])) in res.why:  # only with the request check
                    self._why[(lang, i)] = res.why[(i, int(d.dup_of[i]))]
            stats["minhash_removed"] = d.n_removed
            if cfg.content_check:
                stats["minhash_stopped"] = sum(res.stopped.values())
                stats["minhash_stopped_by"] = dict(res.stopped.most_common())
            alive = alive[d.kept]
        return _Language(texts, firsts, which, uniq, u_kept, u_dup, u_sim, u_by, stats, alive)

    def _embed_all(
        self,
        prepared: dict[str, _Language],
        cache: EmbeddingCache | None,
        bar: _Bar,
        timing: dict[str, float],
        emb_counts: dict[str, int],
    ) -> dict[str, np.ndarray]:
        """Every language's alive prompts in one pass through the executor's workers: one pool
        of actors, each building its embedder once, rather than one pool per language."""
        texts = [p.uniq[i] for p in prepared.values() for i in p.alive]
        t0 = time.perf_counter()
        vecs, counts = embed_texts(
            self._embedder,
            texts,
            cache,
            batch_size=self.config.embedder.batch_size,
            progress=bar.task("dedup: embedding", len(texts)),
            remote=self._remote_embed,
        )
        timing["embed_s"] += time.perf_counter() - t0
        for k in emb_counts:
            emb_counts[k] += counts[k]
        out, start = {}, 0
        for lang, p in prepared.items():
            out[lang] = vecs[start : start + len(p.alive)]
            start += len(p.alive)
        return out

    def _dedup_language(
        self,
        lang: str,
        prep: _Language,
        rows: list[Record],
        dropped: dict[int, Rejection],
        positions: list[int],
        cache: EmbeddingCache | None,
        bar: _Bar,
        timing: dict[str, float],
        emb_counts: dict[str, int],
        vecs: np.ndarray | None = None,
    ) -> dict[str, Any]:
        """Embed (unless ``vecs`` were made already), search, decide, and settle exact copies."""
        cfg = self.config
        firsts, which, uniq, alive, stats = prep.firsts, prep.which, prep.uniq, prep.alive, prep.stats
        u_kept, u_dup, u_sim, u_by = prep.u_kept, prep.u_dup, prep.u_sim, prep.u_by
        if self.uses_embeddings and len(alive) > 0:
            assert self._embedder is not None and self._threshold is not None
            if vecs is None:
                t0 = time.perf_counter()
                vecs, counts = embed_texts(
                    self._embedder,
                    [uniq[i] for i in alive],
                    cache,
                    batch_size=cfg.embedder.batch_size,
                    progress=bar.task(f"dedup {lang}: embedding", len(alive)),
                )
                timing["embed_s"] += time.perf_counter() - t0
                for k in emb_counts:
                    emb_counts[k] += counts[k]
            t0 = time.perf_counter()
            tick = bar.task(f"dedup {lang}: search", len(alive))
            modes: set[str] = set()

            def search(v: np.ndarray, progress=tick) -> Decisions:
                mode = cfg.search
                if mode == "auto":
                    mode = "approx" if len(v) > cfg.approx_above else "exact"
                modes.add(mode)
                if mode == "approx":
                    d, info = approx_decide(
                        v,
                        self._threshold,
                        cfg.semantics,
                        cells=cfg.cells,
                        probes=cfg.probes,
                        seed=cfg.seed,
                        block=cfg.block_size,
                        progress=progress,
                    )
                    if cfg.check_sample:
                        info["check"] = check_decisions(
                            v, d, self._threshold, cfg.semantics, sample=cfg.check_sample, seed=cfg.seed
                        )
                    stats["approx"] = info
                    return d
                return exact_decide(
                    v,
                    self._threshold,
                    cfg.semantics,
                    block=cfg.block_size,
                    backend=cfg.exact_backend,
                    progress=progress,
                )

            if cfg.content_check:
                # Candidates above the band edge, then the request check on each (request.py).
                d = self._request_decide(lang, uniq, alive, vecs, cache, stats, tick, modes, timing)
            else:
                d = search(vecs)
            timing["search_s"] += time.perf_counter() - t0
            stats["search"] = "approx" if "approx" in modes else "exact"
            mode = cfg.search
            if mode == "auto":
                mode = "approx" if len(alive) > cfg.approx_above else "exact"
            stats["embedding_removed"] = d.n_removed
            self._apply(d, alive, u_kept, u_dup, u_sim, u_by, "embedding")
            if cfg.report:
                self.nn_similarity[lang] = (
                    approx_nearest_neighbour_similarity(
                        vecs, cells=cfg.cells, probes=cfg.probes, seed=cfg.seed
                    )
                    if mode == "approx"
                    else nearest_neighbour_similarity(vecs)
                )
                self.closest_kept[lang] = closest_kept_pairs(
                    vecs,
                    self.nn_similarity[lang],
                    self._threshold,
                    u_kept[alive],
                    [rows[firsts[u]].id for u in alive],
                )

        removed = self._settle_copies(
            rows, positions, which, firsts, u_kept, u_dup, u_sim, u_by, dropped, lang
        )
        stats["removed"] = removed
        stats["kept"] = len(rows) - removed
        stats["removal_rate"] = round(removed / len(rows), 4) if rows else 0.0
        return stats

    def _request_decide(
        self,
        lang: str,
        uniq: list[str],
        alive: np.ndarray,
        vecs: np.ndarray,
        cache: EmbeddingCache | None,
        stats: dict[str, Any],
        tick,
        modes: set[str],
        timing: dict[str, float],
    ) -> Decisions:
        """Pairs above the band edge (each row's few most similar earlier rows), each decided by
        the request check; then the walk of decide.py over the pairs that are one request."""
        from tagengo.dedup import request

        cfg = self.config
        n = len(alive)
        mode = cfg.search
        if mode == "auto":
            mode = "approx" if n > cfg.approx_above else "exact"
        modes.add(mode)
        if mode == "approx" and n > 1:
            k = min(cfg.cells or default_cells(n), n)
            centroids = train_cells(vecs, k, 64_000, seed=cfg.seed)
            r, c, s, _ = cell_pairs(
                vecs, assign_cells(vecs, centroids, cfg.probes), self._threshold, cfg.block_size, tick
            )
            r, c, s = top_per_row(r, c, s)
        else:
            r, c, s = candidate_pairs(vecs, self._threshold, block=cfg.block_size, progress=tick)
        t0 = time.perf_counter()
        code = None if lang == NO_LANGUAGE else lang
        texts = [(uniq[alive[i]], uniq[alive[j]]) for i, j in zip(r.tolist(), c.tolist())]

        def embed(more: list[str]) -> np.ndarray:
            v, counts = embed_texts(self._embedder, more, cache, batch_size=cfg.embedder.batch_size)
            stats["check_embedded"] = stats.get("check_embedded", 0) + counts["embedded"]
            return v

        verdicts = request.check_pairs(texts, code, s, vecs[r], vecs[c], embed)
        judge_s = timing.get("judge_s", 0.0)
        if self._judge is not None:
            self._ask_judge(lang, texts, verdicts, stats, timing)
        judge_s = timing.get("judge_s", 0.0) - judge_s  # counted apart from the check's own time
        same = np.array([v.same for v in verdicts], dtype=bool)
        d = decide_from_pairs(n, r[same], c[same], s[same], self._threshold, cfg.semantics)
        why = {(i, j): v.why for i, j, v in zip(r.tolist(), c.tolist(), verdicts)}
        for i in np.flatnonzero(~d.kept).tolist():
            self._why[(lang, int(alive[i]))] = why[(i, int(d.dup_of[i]))]
        stats["candidate_pairs"] = len(r)
        stats["check_model_free"] = sum(v.ratio is None for v in verdicts)
        stats["check_same_request"] = int(same.sum())
        timing["check_s"] = timing.get("check_s", 0.0) + time.perf_counter() - t0 - judge_s
        return d

    def _ask_judge(
        self,
        lang: str,
        texts: list[tuple[str, str]],
        verdicts: list,
        stats: dict[str, Any],
        timing: dict[str, float],
    ) -> None:
        """--judge-band: ask the judge about every pair kept apart for a soft reason (the
        substitution test's ratio: ``ratio`` set, ``same`` false); a SAME turns its verdict
        into one request, naming the judge. Hard stops (decided without a model, no ratio) are
        never asked. Per language the summary counts judged / merged / kept apart / failed."""
        from tagengo.dedup.judge import SAME, Tally
        from tagengo.dedup.request import Verdict

        assert self._judge is not None
        soft = [k for k, v in enumerate(verdicts) if v.ratio is not None and not v.same]
        t0 = time.perf_counter()
        answers = self._judge.ask([texts[k] for k in soft], desc=f"dedup {lang}: judge")
        timing["judge_s"] = timing.get("judge_s", 0.0) + time.perf_counter() - t0
        tally = Tally()
        tally.add(answers)
        for k, a in zip(soft, answers):
            if a.verdict == SAME:
                v = verdicts[k]
                why = f"judge {self._judge.name} said SAME ({v.why})"
                verdicts[k] = Verdict(True, why, v.ratio, v.shape)
        stats["judge"] = tally.to_json()

    @staticmethod
    def _apply(
        d: Decisions,
        alive: np.ndarray,
        u_kept: np.ndarray,
        u_dup: np.ndarray,
        u_sim: np.ndarray,
        u_by: np.ndarray,
        by: str,
    ) -> None:
        """Copy a pass's decisions (over ``alive`` distinct prompts) into the per-prompt outcome."""
        gone = np.flatnonzero(~d.kept)
        u = alive[gone]
        u_kept[u] = False
        u_dup[u] = alive[d.dup_of[gone]]
        u_sim[u] = d.similarity[gone]
        u_by[u] = by

    def _settle_copies(
        self,
        rows: list[Record],
        positions: list[int],
        which: np.ndarray,
        firsts: list[int],
        u_kept: np.ndarray,
        u_dup: np.ndarray,
        u_sim: np.ndarray,
        u_by: np.ndarray,
        dropped: dict[int, Rejection],
        lang: str = "",
    ) -> int:
        """Turn per-prompt outcomes into per-row rejections.

        The first row with a given prompt takes that prompt's outcome. A later copy is a
        duplicate of the first row (similarity 1.0) when that row was kept, or, when it was
        dropped, of whatever that row duplicated (its vector is the same, so it is exactly
        as similar): under ``kept`` semantics a dropped row always points at a kept one.
        Under ``chain`` semantics the first row is the most similar earlier row either way.
        """
        chain = self.config.semantics == "chain"
        removed = 0
        for i, r in enumerate(rows):
            u = int(which[i])
            first = firsts[u]
            why = None
            if first == i:
                if u_kept[u]:
                    continue
                target, sim, by = firsts[int(u_dup[u])], float(u_sim[u]), str(u_by[u])
                why = self._why.get((lang, u))
            elif u_kept[u] or chain:
                target, sim, by = first, 1.0, "exact-text"
            else:
                target, sim, by = firsts[int(u_dup[u])], float(u_sim[u]), str(u_by[u])
                why = self._why.get((lang, u))
            removed += 1
            dropped[positions[i]] = self._reject(r, rows[target], sim, by, why)
        return removed

    def _reject(
        self, row: Record, original: Record, sim: float, by: str, why: str | None = None
    ) -> Rejection:
        if by == "exact-text":
            reason = f"exact duplicate of {original.id} (same first user turn)"
        elif by == "minhash":
            reason = f"lexical near-duplicate of {original.id} (MinHash Jaccard {sim:.3f} > {self.config.minhash.threshold}"
            reason += f", same request: {why})" if why else ")"
        else:
            reason = f"near-duplicate of {original.id} (cosine {sim:.4f} > {self._threshold}"
            reason += f", same request: {why})" if why else ")"
        meta = dict(row.meta, dup_of=original.id, similarity=round(sim, 6), dedup_by=by)
        if why:
            meta["request_check"] = why
            if self._judge is not None and why.startswith(f"judge {self._judge.name} said"):
                meta["dedup_judge"] = self._judge.name  # merged on the judge's word (--judge-band)
        return Rejection(replace(row, meta=meta), self.name, reason)

    # -- reporting --------------------------------------------------------------------

    def summary(self) -> dict:
        return self._summary

    def write_report(self, directory: str | Path) -> list[Path]:
        """Write the nearest-neighbour similarity histograms (PNG) and their numbers (JSON)."""
        from tagengo.dedup.report import write_nn_report

        if not self.nn_similarity or self._threshold is None:
            return []
        rates = {lang: s.get("removal_rate", 0.0) for lang, s in self._summary.get("languages", {}).items()}
        return write_nn_report(
            self.nn_similarity,
            self._threshold,
            Path(directory),
            removal_rates=rates,
            embedder=self._embedder.id if self._embedder else "",
            closest_kept=self.closest_kept,
        )
