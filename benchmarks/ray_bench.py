"""Overhead of `--executor ray` against the local executor, on `tagengo curate`.

    .venv/bin/python benchmarks/ray_bench.py                  # 100,000 rows
    .venv/bin/python benchmarks/ray_bench.py --rows 20000     # a quicker look

Builds N LMSYS-shaped rows (curate_bench's generator: wordfreq text in 30 languages), then runs
`tagengo curate` on them as a user would (the CLI in its own process, steps 1-7, 2 workers),
once with `--executor local` and once with `--executor ray` (2 Ray Data actors on a Ray
instance the command starts itself: its start-up is part of the figure, as it is for a user).
Prints both wall times, the ratio ray / local (goal <= 1.3 on one machine) and whether the
two output folders are byte-identical. Then the same on the first ``--small`` rows (one
chunk), which is mostly fixed cost (interpreter, models, for Ray its start-up and actors), so
that the per-row cost of each executor shows apart from it: (T(N) - T(small)) / (N - small).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from curate_bench import build_rows  # noqa: E402 - the sibling benchmark's row generator


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for sub in ("data", "rejected", "quarantine")
        for p in sorted((folder / sub).glob("*.parquet"))
    }


def run(path: Path, out: Path, executor: str, workers: int) -> float:
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
        "--executor",
        executor,
    ]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", type=Path, default=None, help="Keep (or reuse) the generated JSONL here.")
    ap.add_argument("--small", type=int, default=1000, help="Rows of the fixed-cost run (0: skip it).")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ray_bench_"))
    try:
        path = args.keep or tmp / "rows.jsonl"
        if not path.exists():
            print(f"building {args.rows:,} rows ...", flush=True)
            build_rows(args.rows, path)
        times = {}
        for executor in ("local", "ray"):
            times[executor] = run(path, tmp / executor, executor, args.workers)
            print(
                f"{executor:>5}: {times[executor]:7.1f} s  {args.rows / times[executor]:9,.0f} rows/s",
                flush=True,
            )
        same = digests(tmp / "local") == digests(tmp / "ray")
        ratio = times["ray"] / times["local"]
        print(f"ratio ray / local: {ratio:.2f}x (goal <= 1.3)  outputs byte-identical: {same}")
        if args.small and args.small < args.rows:
            small = tmp / "small.jsonl"
            with open(path, "rb") as src, open(small, "wb") as dst:
                for _, line in zip(range(args.small), src, strict=False):
                    dst.write(line)
            fixed = {e: run(small, tmp / f"{e}-small", e, args.workers) for e in ("local", "ray")}
            per_row = {e: (times[e] - fixed[e]) / (args.rows - args.small) * 1e3 for e in fixed}
            for e in fixed:
                print(
                    f"{e:>5}: {args.small:,} rows (fixed cost) {fixed[e]:6.1f} s; per row beyond it {per_row[e]:.3f} ms"
                )
            print(f"per-row ratio ray / local: {per_row['ray'] / per_row['local']:.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
