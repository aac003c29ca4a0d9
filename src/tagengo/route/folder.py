"""route's output folder as every stage's: a ``manifest.json`` (stage, full config, input
fingerprint, package versions from tagengo.run.manifest, counts, times, calls and spend), the
"up to date" check of a re-run with the same input and config, and the refusal to replace
another stage's folder without ``--force`` (the runner's rules, tagengo.run.runner._plan)."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from tagengo.errors import ConfigError
from tagengo.io.source import Source
from tagengo.route.config import RouteConfig
from tagengo.run.dataset import MANIFEST, atomic_write_json, read_manifest
from tagengo.run.manifest import STAGE_PACKAGES, package_versions
from tagengo.run.routing_table import TABLE_FILE

STAGE = "route"


def fingerprint(config: RouteConfig, input_fp: str) -> str:
    """What makes two runs the same: the config less its run-only settings (concurrency,
    budget...), and the input's content."""
    from tagengo import __version__

    run_only = set(getattr(type(config.judge), "run_only_fields", ()))
    cfg = config.model_dump(mode="json")
    for llm in [cfg["judge"], *(m["llm"] for m in cfg["models"])]:
        for key in run_only:
            llm.pop(key, None)
    payload = json.dumps(
        {"stage": STAGE, "version": __version__, "config": cfg, "input": input_fp}, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def previous_run(
    out: Path, fp: str, force: bool, say: Callable[[str], None] | None = None
) -> dict[str, Any] | None:
    """The manifest of a finished identical run at ``out`` (nothing to do), else None, having
    removed a previous run's manifest so that a run stopped halfway leaves no complete-looking
    folder. ``ConfigError`` when ``out`` holds another stage's finished folder and not ``force``."""
    previous = read_manifest(out)
    if previous is None:
        return None
    if previous.get("stage") not in (None, STAGE) and not force:
        raise ConfigError(
            f"--out {out} holds a finished `{previous['stage']}` folder (finished at "
            f"{previous.get('finished_at')}); writing `route` there would replace it. Give --out a "
            "new folder, or pass --force to replace it."
        )
    if previous.get("fingerprint") == fp and (out / TABLE_FILE).exists() and not force:
        (say or (lambda msg: print(msg, file=sys.stderr)))(
            f"{out}: up to date (same input and config as the run of {previous.get('finished_at')}); nothing to do."
        )
        return previous
    (out / MANIFEST).unlink()
    return None


def write_manifest(
    out: Path,
    *,
    config: RouteConfig,
    source: Source,
    input_fp: str,
    fp: str,
    counts: dict[str, int],
    calls: dict[str, Any],
    warnings: list[str],
    started: datetime,
    duration_s: float,
) -> dict[str, Any]:
    """Write ``out/manifest.json`` (last: its presence says the folder is complete); returns it."""
    from tagengo import __version__

    manifest = {
        "stage": STAGE,
        "tagengo_version": __version__,
        "fingerprint": fp,
        "input_fingerprint": input_fp,
        "input": {"path": str(source.path), "format": source.format, "files": [str(f) for f in source.files]},
        **({"warnings": warnings} if warnings else {}),
        "config": config.model_dump(mode="json"),
        "counts": counts,
        "calls": calls,
        "files": [TABLE_FILE, "routing.md", "pilot.jsonl", "quarantine/"],
        "started_at": started.isoformat(),
        "finished_at": datetime.now(started.tzinfo).isoformat(),
        "duration_s": round(duration_s, 3),
        "versions": package_versions(*STAGE_PACKAGES),
    }
    atomic_write_json(out / MANIFEST, json.loads(json.dumps(manifest, default=str)))
    return manifest
