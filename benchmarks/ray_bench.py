"""Overhead of `--executor ray` against the local executor, on `tagengo curate`.

    .venv/bin/python benchmarks/ray_bench.py                          # 100,000 rows, 3 rounds
    .venv/bin/python benchmarks/ray_bench.py --rows 20000 --repeats 1 # a quicker look

Builds N LMSYS-shaped rows (curate_bench's generator: wordfreq text in 30 languages), then runs
`tagengo curate` on them as a user would (the CLI in its own process, steps 1-7, 2 workers),
with `--executor local` and with `--executor ray` (2 Ray Data actors on a Ray instance the
command starts itself: its start-up is part of the figure, as it is for a user). The two are
interleaved, ``--repeats`` rounds (benchmarks/peers.py), so that load from other work on the
machine falls on both alike; min and median wall times, the ratio ray / local (goal <= 1.3 on
one machine) and the load average before and after are printed, and whether the two output
folders are byte-identical.

Then the same on the first ``--small`` rows (one chunk), which is mostly fixed cost
(interpreter, models, for Ray its start-up and actors), so that the per-row cost of each
executor shows apart from it: (T(N) - T(small)) / (N - small), on the medians.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from curate_bench import build_rows  # noqa: E402 - the sibling benchmark's row generator
from peers import Contender, interleaved, load_average, timed_run  # noqa: E402

EXECUTORS = ("local", "ray")


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for sub in ("data", "rejected", "quarantine")
        for p in sorted((folder / sub).glob("*.parquet"))
    }


def contender(path: Path, out: Path, executor: str, workers: int) -> Contender:
    cmd = [
        sys.executable,
        "-m",
        "tagengo.cli",
        "curate",
        "--input",
        str(path),
        "--out",
        str(out),
        "--no-dedup",
        "--workers",
        str(workers),
        "--no-progress",
        "--force",  # every round does the whole run, not "up to date"
        "--executor",
        executor,
    ]
    return Contender(executor, lambda: timed_run(cmd))


def compare(path: Path, rows: int, tmp: Path, workers: int, repeats: int, label: str) -> dict[str, Contender]:
    print(f"\n{label}: {rows:,} rows, {repeats} interleaved round(s); {load_average()}", flush=True)
    runs = {e: contender(path, tmp / f"{label}-{e}", e, workers) for e in EXECUTORS}
    interleaved(list(runs.values()), repeats)
    for e, c in runs.items():
        print(
            f"{e:>5}: min {c.min_wall:7.1f} s  median {c.median_wall:7.1f} s  "
            f"{rows / c.min_wall:9,.0f} rows/s (best)",
            flush=True,
        )
    same = digests(tmp / f"{label}-local") == digests(tmp / f"{label}-ray")
    print(
        f"ratio ray / local: min {runs['ray'].min_wall / runs['local'].min_wall:.2f}x, "
        f"median {runs['ray'].median_wall / runs['local'].median_wall:.2f}x (goal <= 1.3)  "
        f"outputs byte-identical: {same}; {load_average()}",
        flush=True,
    )
    return runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3, help="Interleaved rounds (min and median reported).")
    ap.add_argument("--keep", type=Path, default=None, help="Keep (or reuse) the generated JSONL here.")
    ap.add_argument("--small", type=int, default=1000, help="Rows of the fixed-cost run (0: skip it).")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ray_bench_"))
    try:
        path = args.keep or tmp / "rows.jsonl"
        if not path.exists():
            print(f"building {args.rows:,} rows ...", flush=True)
            build_rows(args.rows, path)
        full = compare(path, args.rows, tmp, args.workers, args.repeats, "full")
        if args.small and args.small < args.rows:
            small = tmp / "small.jsonl"
            with open(path, "rb") as src, open(small, "wb") as dst:
                for _, line in zip(range(args.small), src, strict=False):
                    dst.write(line)
            fixed = compare(small, args.small, tmp, args.workers, args.repeats, "small")
            per_row = {
                e: (full[e].median_wall - fixed[e].median_wall) / (args.rows - args.small) * 1e3
                for e in EXECUTORS
            }
            print()
            for e in EXECUTORS:
                print(
                    f"{e:>5}: fixed cost ({args.small:,} rows) {fixed[e].median_wall:6.1f} s; "
                    f"per row beyond it {per_row[e]:.3f} ms"
                )
            print(f"per-row ratio ray / local: {per_row['ray'] / per_row['local']:.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
