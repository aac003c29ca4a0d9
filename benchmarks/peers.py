"""Shared plumbing for benchmarks that run *peers*: what a user would write instead of tagengo.

Issue 15 asks every benchmark to run, in the same run, the tools or scripts a user would reach
for instead (datatrove, a thread-pool script, the official ``openai`` client, faiss range
search...), each installed into its own virtualenv so that its dependencies never leak into
ours and its versions are the ones a user would get from PyPI today (pinned here so figures
can be compared run to run).

* :func:`peer_python` makes (once, cached) a virtualenv with the given requirements and
  returns its interpreter.
* :func:`timed_run` runs a command in its own process, as a user would, and returns its wall
  time, the CPU time of the process and its children, and the peak RSS (sampled).
* :func:`interleaved` runs several commands in turn, ``repeats`` rounds, so that load from
  other work on the machine falls on every contender alike; it reports min and median.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

PEER_VENVS = Path(os.environ.get("TAGENGO_PEER_VENVS", Path.home() / ".cache" / "tagengo" / "peer-venvs"))


def peer_python(name: str, requirements: Sequence[str]) -> Path:
    """Return the interpreter of a virtualenv holding ``requirements`` (pip specifiers).

    The venv lives in ``$TAGENGO_PEER_VENVS/<name>-<hash of requirements>`` (default
    ``~/.cache/tagengo/peer-venvs``) and is built once; a half-built one is rebuilt.
    Raises ``subprocess.CalledProcessError`` when pip cannot install a requirement.
    """
    digest = hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()[:10]
    root = PEER_VENVS / f"{name}-{digest}"
    python = root / "bin" / "python"
    ready = root / ".ready"
    if not ready.exists():
        print(f"[peers] building venv {root} ({', '.join(requirements)})", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(root)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements],
            check=True,
        )
        ready.write_text("\n".join(requirements) + "\n")
    return python


@dataclass
class RunFigures:
    """One run of a command: wall seconds, CPU seconds (process tree), peak RSS in MiB."""

    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    returncode: int
    stdout: str = ""
    stderr: str = ""


def timed_run(
    cmd: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    check: bool = True,
    poll_s: float = 0.05,
) -> RunFigures:
    """Run ``cmd`` in its own process; measure wall, CPU (with children) and peak RSS.

    CPU is what the kernel reports for the reaped process tree (``RUSAGE_CHILDREN`` delta), or,
    when larger, the sum of user+system time of the process and every descendant seen while
    polling (descendants nobody waited for are missing from the kernel's figure).
    Raises ``RuntimeError`` with the command's stderr tail when it fails and ``check`` is set.
    """
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        list(map(str, cmd)),
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0
    ps = psutil.Process(proc.pid)
    seen_cpu: dict[int, float] = {}  # last CPU seconds of each process of the tree, while polling
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss
            seen_cpu[ps.pid] = sum(ps.cpu_times()[:2])
            for child in ps.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    rss += child.memory_info().rss
                    seen_cpu[child.pid] = sum(child.cpu_times()[:2])
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(poll_s)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # Workers a pool kills without waiting for them (datatrove's) are never reaped by the
    # process, so RUSAGE_CHILDREN misses them; the polled sum sees them (less its last poll).
    cpu = max(cpu, sum(seen_cpu.values()))
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n{err[-3000:]}")
    return RunFigures(wall, cpu, peak / 2**20, proc.returncode, out, err)


@dataclass
class Contender:
    """A named way of doing the work; ``run()`` returns its figures for one round."""

    name: str
    run: Callable[[], RunFigures]
    results: list[RunFigures] = field(default_factory=list)

    @property
    def min_wall(self) -> float:
        return min(r.wall_s for r in self.results)

    @property
    def median_wall(self) -> float:
        return statistics.median(r.wall_s for r in self.results)


def interleaved(contenders: Sequence[Contender], repeats: int = 3) -> list[Contender]:
    """Run every contender once per round, ``repeats`` rounds; results kept on each."""
    for round_no in range(repeats):
        for c in contenders:
            figures = c.run()
            c.results.append(figures)
            print(
                f"[round {round_no + 1}/{repeats}] {c.name}: {figures.wall_s:.2f} s wall, "
                f"{figures.cpu_s:.2f} s CPU, {figures.peak_rss_mib:.0f} MiB",
                file=sys.stderr,
            )
    return list(contenders)


def load_average() -> str:
    """The 1/5/15-minute load average, to print next to figures taken on a shared machine."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def summarise(contenders: Sequence[Contender], bound_s: float) -> list[dict]:
    """One row per contender: wall min/median, CPU median, peak RSS, ratio to ``bound_s`` and
    the first contender's (ours) wall over this one's (< 1: ours is faster)."""
    ours = contenders[0]
    rows = []
    for c in contenders:
        rows.append(
            {
                "name": c.name,
                "wall_min_s": round(c.min_wall, 2),
                "wall_median_s": round(c.median_wall, 2),
                "cpu_median_s": round(statistics.median(r.cpu_s for r in c.results), 2),
                "peak_rss_mib": round(max(r.peak_rss_mib for r in c.results)),
                "ratio_to_bound_min": round(c.min_wall / bound_s, 3),
                "ratio_to_bound_median": round(c.median_wall / bound_s, 3),
                "ours_over_this_min": round(ours.min_wall / c.min_wall, 3),
                "ours_over_this_median": round(ours.median_wall / c.median_wall, 3),
            }
        )
    return rows


def print_summary(rows: Sequence[dict]) -> None:
    """The rows of :func:`summarise` as a table (wall min and median, x bound, ours / this)."""
    print(
        f"  {'contender':<22} {'wall min':>9} {'median':>8} {'CPU':>7} {'RSS MiB':>8} "
        f"{'x bound':>8} {'ours / this (min, median)':>26}"
    )
    for c in rows:
        print(
            f"  {c['name']:<22} {c['wall_min_s']:>8.2f}s {c['wall_median_s']:>7.2f}s {c['cpu_median_s']:>6.2f}s "
            f"{c['peak_rss_mib']:>8} {c['ratio_to_bound_min']:>8.3f} "
            f"{c['ours_over_this_min']:>15.3f} / {c['ours_over_this_median']:.3f}"
        )


def compile_package(path: str | Path) -> None:
    """Write the bytecode of the package at ``path`` as ``pip install`` does for a user.

    Run from a source checkout, tagengo's modules would otherwise be compiled from source on
    every start where ``PYTHONDONTWRITEBYTECODE`` is set (as on the development machine): ~0.05 s
    of CPU that an installed tagengo never pays, charged to tagengo only (peers come from wheels).
    """
    import compileall

    compileall.compile_dir(str(path), quiet=1)
