"""What an export of conversations (export.py) and one of preference pairs (export_pairs.py)
share: the manifest's name and shape, the seeded validation split, the files either may write.
Its own module so that the variant does not reach back into its parent (DESIGN.md, Floors)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tagengo import __version__
from tagengo.io.writers import file_name
from tagengo.mix.config import ExportConfig
from tagengo.mix.recipes import key_array

#: The manifest of an export folder.
EXPORT_MANIFEST = "export.json"


@dataclass
class ExportResult:
    out: Path
    manifest: dict[str, Any]


def validation_mask(units: list[str], problems: list[str | None], share: float, seed: int) -> np.ndarray:
    """Which items go to the validation split: ``share`` of the trainable ones (``problems[i]``
    None), rounded, taken whole unit by unit (``units[i]``: the item's row or group) in the
    order of a hash of (``seed``, unit), so the split is seeded, exact up to one unit and
    independent of item order. Returns a boolean array as long as ``units``."""
    to_val = np.zeros(len(problems), dtype=bool)
    eligible = [i for i, p in enumerate(problems) if p is None]
    target = round(share * len(eligible))
    if target:
        rows_of: dict[str, list[int]] = {}
        for i in eligible:
            rows_of.setdefault(units[i], []).append(i)
        names = list(rows_of)
        taken = 0
        for j in np.argsort(key_array(seed, names), kind="stable"):
            if taken >= target:
                break
            idx = rows_of[names[j]]
            to_val[idx] = True
            taken += len(idx)
    return to_val


#: Every file an export may write besides README.md, skipped.jsonl and export.json: training
#: files of either split and format, the preference layouts (export_pairs.py) and the snippets.
OUTPUTS = (
    *(file_name(split, fmt) for split in ("train", "validation") for fmt in ("messages", "parquet")),
    "train_argilla.jsonl",
    "validation_argilla.jsonl",
    "axolotl.yaml",
    "trl_sft.py",
    "axolotl_dpo.yaml",
    "axolotl_orpo.yaml",
    "trl_preference.py",
)


def clear_stale(out: Path, keep: set[str]) -> None:
    """Remove files an earlier export (another format, split or kind) left behind."""
    for name in OUTPUTS:
        if name not in keep:
            (out / name).unlink(missing_ok=True)


def export_manifest(
    cfg: ExportConfig,
    out: Path,
    src: Path,
    upstream: dict[str, Any],
    counts: dict[str, int],
    skipped_by_reason: Counter[str],
    langs: dict[str, dict[str, int]],
    sources: Counter[str],
    file_info: dict[str, dict[str, Any]],
    skipped_info: dict[str, Any],
    started: datetime,
    t0: float,
    **extra: Any,
) -> dict[str, Any]:
    """The export manifest (``export.json``) of conversations or of preference pairs: the input,
    config, counts, skip reasons, per-language splits (most rows first), sources, files and
    times; ``extra`` keys (``kind``, ``preference``) go after ``stage``."""
    languages = {
        lang: {"train": c["train"], "validation": c["validation"], "skipped": c["skipped"]}
        for lang, c in sorted(langs.items(), key=lambda kv: (-(kv[1]["train"] + kv[1]["validation"]), kv[0]))
    }
    warnings = empty_export_warnings(counts, upstream, src, extra.get("kind") == "preference")
    return {
        "stage": "export",
        **extra,
        **({"warnings": warnings} if warnings else {}),
        "tagengo_version": __version__,
        "name": cfg.name or out.resolve().name,
        "input": {
            "path": str(src),
            "stage": upstream.get("stage"),
            "fingerprint": upstream.get("fingerprint"),
            "kept": upstream["counts"]["kept"],
        },
        "config": cfg.model_dump(mode="json"),
        "counts": counts,
        "skipped_by_reason": dict(skipped_by_reason.most_common()),
        "languages": languages,
        "sources": dict(sources.most_common()),
        "files": file_info,
        "skipped_file": {"name": "skipped.jsonl", **skipped_info},
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "duration_s": round(time.perf_counter() - t0, 3),
    }


def empty_export_warnings(
    counts: dict[str, int], upstream: dict[str, Any], src: Path, pairs: bool
) -> list[str]:
    """A warning when the export wrote no training example: the files are valid but empty, and a
    trainer given them fails far from the cause. Not an error: the folder still records why (the
    input kept nothing, or skipped.jsonl says why each row was left out), and a pipeline over
    many inputs may rightly meet an empty one."""
    if counts["train"] + counts["validation"]:
        return []
    what = "preference pairs" if pairs else "rows"
    if not counts["input"]:
        why = (
            f"the input kept no {'prompts' if pairs else 'rows'} ({src}/manifest.json: kept 0 of "
            f"{upstream['counts'].get('read', 0):,} read; its rejected/ says why)"
        )
    else:
        why = f"all {counts['skipped']:,} were skipped (skipped.jsonl gives each one's reason)"
    return [f"0 {what} written: the training files are empty; {why}."]
