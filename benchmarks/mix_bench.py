"""Throughput of `tagengo mix --recipe sampled` and `tagengo export` on synthetic records.

    .venv/bin/python benchmarks/mix_bench.py                 # 1,000,000 records
    .venv/bin/python benchmarks/mix_bench.py --rows 100000   # a quicker look

Writes a synthetic dataset folder (20 languages with skewed sizes, a user turn and an
answer per row, 5% of rows left unanswered), then times, each in a fresh process:

* mix: the sampled recipe (every language cut to the smallest one's size) through the
  stage runner, reading and writing Parquet dataset folders;
* export: the whole input to `messages` JSONL with a 5% validation split and the card;
* rules: export's check of every conversation against the chat rules alone, in memory;
* steps: the sampled recipe's steps alone (their Arrow fast path on the table in memory), to
  tell the mix's own work from the stage runner's reading, chunking and writing;
* bound: reading every data part and writing it back as one Parquet file (the I/O floor of
  any stage that touches every row), to which both are compared.

Prints rows/s, peak resident memory (the process and its workers) and the ratio to the bound.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

LANGS = [
    "en",
    "zh",
    "ru",
    "es",
    "de",
    "fr",
    "pt",
    "it",
    "ja",
    "ko",
    "ar",
    "pl",
    "tr",
    "nl",
    "vi",
    "id",
    "fa",
    "uk",
    "sv",
    "hi",
]


#: Made-up words (consonant-vowel syllables), fixed by the seed: a vocabulary for synthetic answers.
VOCAB = np.array(
    [
        "".join(np.random.default_rng(7 + i).choice(list("bdfgklmnprstvz"), 3))
        + "".join(np.random.default_rng(900 + i).choice(list("aeiou"), 2))
        for i in range(2_000)
    ]
)


def make_input(folder: Path, rows: int, seed: int = 0) -> None:
    """A dataset folder of ``rows`` synthetic records, written part by part."""
    from tagengo.records import RECORD_SCHEMA
    from tagengo.run.dataset import PartWriter, atomic_write_json

    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, len(LANGS) + 1) ** 1.1  # Zipf-like: English largest, Hindi smallest
    weights /= weights.sum()
    writer = PartWriter(folder / "data", RECORD_SCHEMA, rows_per_part=100_000)
    per_lang: dict[str, int] = {}
    step = 100_000
    for start in range(0, rows, step):
        n = min(step, rows - start)
        langs = rng.choice(len(LANGS), size=n, p=weights)
        answered = rng.random(n) >= 0.05
        # Answers of 40 words drawn from a 2,000-word vocabulary: text that compresses like prose,
        # not like one repeated sentence.
        words = VOCAB[rng.integers(0, len(VOCAB), size=(n, 40))]
        ids, languages, messages = [], [], []
        for k in range(n):
            i = start + k
            lang = LANGS[langs[k]]
            per_lang[lang] = per_lang.get(lang, 0) + 1
            ids.append(f"syn-{i:08d}")
            languages.append(lang)
            turns = [
                {
                    "role": "user",
                    "content": f"Prompt {i} in {lang}: explain item {i % 977} in a few sentences.",
                }
            ]
            if answered[k]:
                turns.append({"role": "assistant", "content": " ".join(words[k])})
            messages.append(turns)
        meta = ['{"generation":{"model":"bench-teacher","finish_reason":"stop"}}'] * n
        writer.write(
            pa.table(
                {
                    "id": ids,
                    "source": ["synthetic"] * n,
                    "language": languages,
                    "messages": messages,
                    "meta": meta,
                },
                schema=RECORD_SCHEMA,
            )
        )
    writer.close()
    atomic_write_json(
        folder / "manifest.json",
        {
            "stage": "synthetic",
            "input": {"path": "(synthetic)", "format": "synthetic"},
            "counts": {"read": rows, "quarantined": 0, "kept": rows, "rejected": 0, "lines": rows},
            "steps": [],
            "languages": {k: {"in": v, "kept": v} for k, v in per_lang.items()},
        },
    )


def _peak_mib() -> float:
    """Peak RSS of this process and of its (waited-for) children, MiB (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def phase(name: str, src: Path, work: Path, workers: int, rows: int) -> dict:
    t0 = time.perf_counter()
    if name == "make":
        make_input(src, rows)
        out_rows = rows
    elif name == "mix":
        from tagengo.mix.config import MixConfig
        from tagengo.mix.stage import mix

        res = mix(
            src, work / "mixed", MixConfig(recipe="sampled"), workers=workers, progress=False, force=True
        )
        out_rows = res.manifest["counts"]["kept"]
    elif name == "steps":  # the recipe's own work: its steps' Arrow fast path on the table in memory
        from tagengo.mix.config import MixConfig
        from tagengo.mix.recipes import build_steps
        from tagengo.run.dataset import read_table

        table = read_table(src)
        t0 = time.perf_counter()  # reading is the bound's business
        for step in build_steps(MixConfig(recipe="sampled")):
            reasons = step.select(table)
            table = table.filter(pa.array([r is None for r in reasons]))
        out_rows = table.num_rows
    elif name == "rules":  # export's chat-rule check alone (io/writers.row_problems), in memory
        from tagengo.io.writers import row_problems
        from tagengo.run.dataset import read_table

        table = read_table(src, columns=["messages"])
        t0 = time.perf_counter()
        problems = []
        for batch in table.to_batches(max_chunksize=20_000):  # export's batch size
            problems += row_problems(batch, "messages")
        out_rows = sum(p is None for p in problems)
    elif name == "export":
        from tagengo.mix.config import ExportConfig
        from tagengo.mix.export import export

        res = export(
            src, work / "export", ExportConfig(output_format="messages", validation=0.05), progress=False
        )
        out_rows = res.manifest["counts"]["exported"]
    else:  # bound: read every part, write one Parquet file
        table = pa.concat_tables(pq.read_table(f) for f in sorted((src / "data").glob("*.parquet")))
        pq.write_table(table, work / "bound.parquet", compression="zstd")
        out_rows = table.num_rows
    return {"seconds": time.perf_counter() - t0, "out_rows": out_rows, "peak_mib": _peak_mib()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--src", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:  # child process: one phase, result as JSON on stdout
        print(json.dumps(phase(args.phase, Path(args.src), Path(args.work), args.workers, args.rows)))
        return

    tmp = Path(tempfile.mkdtemp(prefix="mix_bench_"))
    try:
        src = tmp / "input"
        results = {}
        # Every phase runs in a fresh process: Linux keeps a process's peak RSS across exec, so
        # this driver stays small and each child's figure is its own (workers included).
        for name in ("make", "bound", "mix", "steps", "rules", "export"):
            cmd = [sys.executable, __file__, "--phase", name, "--src", str(src), "--work", str(tmp)]
            cmd += ["--workers", str(args.workers), "--rows", str(args.rows)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                sys.exit(f"phase {name} failed:\n{proc.stderr}")
            results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
            if name == "make":
                size = sum(f.stat().st_size for f in (src / "data").glob("*.parquet"))
                print(
                    f"input: {args.rows:,} synthetic records in {len(LANGS)} languages, {size / 2**20:,.0f} MiB "
                    f"Parquet, built in {results.pop(name)['seconds']:.1f} s"
                )
        bound = results["bound"]["seconds"]
        print(f"{'phase':<8} {'seconds':>8} {'rows/s':>12} {'out rows':>10} {'peak MiB':>9} {'x bound':>8}")
        for name, r in results.items():
            rate = args.rows / r["seconds"]
            print(
                f"{name:<8} {r['seconds']:>8.2f} {rate:>12,.0f} {r['out_rows']:>10,} {r['peak_mib']:>9,.0f} "
                f"{r['seconds'] / bound:>8.2f}"
            )
        print(
            f"bound = read all parts + write one Parquet file; steps = the sampled recipe's steps alone on the "
            f"table in memory (the rest of mix is the stage runner); workers = {args.workers}"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
