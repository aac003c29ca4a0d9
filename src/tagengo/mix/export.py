"""`tagengo export` as a library call: a dataset folder -> training files, a card and snippets.

    out/
      train.jsonl | train.parquet          the training rows
      validation.jsonl | .parquet          with --validation > 0
      skipped.jsonl                        rows that are no training example: id, language, source, reason
                                           (chat rules broken: io/writers.py row_problems)
      README.md                            the dataset card (mix/card.py)
      axolotl.yaml, trl_sft.py             how to point Axolotl and TRL at the files
      export.json                          counts, files with sha256, config: written last

A `tagengo prefer` folder is exported as preference pairs instead (export_pairs.py: TRL's
conversational pairs, Axolotl's argilla shape, configs for DPO and ORPO).

Two passes over the input's Parquet parts, batch by batch, so memory stays flat at any
size: the first decides each row (trainable? which split?), the second converts and writes.

The split is seeded and exact: units (a row, or all rows sharing ``meta.<group_key>`` so
that a prompt and its translations never straddle train and validation) are ordered by a
hash of (seed, unit id), and the first units up to the requested share of rows go to
validation.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tagengo.errors import ConfigError, InputError
from tagengo.io.writers import convert, file_name, merge_consecutive_turns, open_writer, row_problems
from tagengo.mix.config import ExportConfig
from tagengo.mix.export_common import (
    EXPORT_MANIFEST,
    ExportResult,
    clear_stale,
    export_manifest,
    validation_mask,
)
from tagengo.mix.recipes import meta_value
from tagengo.records import NO_LANGUAGE
from tagengo.run.dataset import MANIFEST, atomic_write_json, atomic_write_text, read_manifest

BATCH_ROWS = 20_000


def _parts(folder: Path) -> list[Path]:
    return sorted((folder / "data").glob("part-*.parquet"))


def _batches(files: list[Path], columns: list[str]) -> Any:
    for f in files:
        yield from pq.ParquetFile(f).iter_batches(batch_size=BATCH_ROWS, columns=columns)


def _unit(row_id: str, meta: str, group_key: str | None) -> str:
    if group_key:
        g = meta_value(meta, group_key)
        if g is not None:
            return "group\x00" + g
    return "row\x00" + row_id


def _repaired(batch: pa.RecordBatch, cfg: ExportConfig) -> tuple[pa.Table, int]:
    """The batch as a table, with the repair the user asked for applied (rows changed)."""
    table = pa.Table.from_batches([batch])
    if cfg.repair == "merge-consecutive":
        return merge_consecutive_turns(table)
    return table, 0


def _decide(files: list[Path], cfg: ExportConfig) -> tuple[list[str | None], np.ndarray, int]:
    """Pass 1: each row's problem (None: trainable), whether it goes to validation, and how
    many rows the repair changed."""
    problems: list[str | None] = []
    units: list[str] = []
    repaired = 0
    cols = ["id", "messages"] + (["meta"] if cfg.group_key else [])
    for raw in _batches(files, cols):
        batch, k = _repaired(raw, cfg)
        repaired += k
        problems.extend(row_problems(batch, cfg.output_format))
        ids = batch.column("id").to_pylist()
        metas = batch.column("meta").to_pylist() if cfg.group_key else [""] * len(ids)
        units.extend(_unit(i, m, cfg.group_key) for i, m in zip(ids, metas, strict=True))
    return problems, validation_mask(units, problems, cfg.validation, cfg.seed), repaired


def export(
    input_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: ExportConfig | None = None,
    *,
    progress: bool | None = None,
    force: bool = False,
) -> ExportResult:
    """Write the training files of the dataset folder ``input_path`` into the folder ``out``
    (preference pairs when it is the output of `tagengo prefer`: ``export_pairs``). An export
    always writes its files again; ``force`` lets it replace another stage's folder at ``out``."""
    cfg = config or ExportConfig()
    src, out = Path(input_path), Path(out)
    upstream = _check_folders(src, out, force)
    if upstream.get("stage") == "prefer":
        from tagengo.mix.export_pairs import export_pairs

        return export_pairs(src, out, upstream, cfg, progress=progress)
    files = _parts(src)
    if progress is None:
        progress = sys.stderr.isatty()
    started = datetime.now(UTC)
    t0 = time.perf_counter()

    problems, to_val, repaired = _decide(files, cfg)
    n = len(problems)
    if n != upstream["counts"]["kept"]:
        raise InputError(
            f"{src}: data/ holds {n:,} rows but {MANIFEST} says {upstream['counts']['kept']:,} were kept; "
            "the folder was changed after its stage wrote it. Run that stage again."
        )
    splits = ["train"] + (["validation"] if to_val.any() else [])
    names = {split: file_name(split, cfg.output_format) for split in splits}

    out.mkdir(parents=True, exist_ok=True)
    (out / EXPORT_MANIFEST).unlink(missing_ok=True)  # a crash mid-export leaves no stale mark of completeness
    written = _write(files, out, names, problems, to_val, cfg, progress)
    clear_stale(out, {*names.values(), "axolotl.yaml", "trl_sft.py"})

    skipped = sum(written.skipped_by_reason.values())
    counts = {
        "input": n,
        "exported": n - skipped,
        "train": written.file_info[names["train"]]["rows"],
        "validation": written.file_info[names["validation"]]["rows"] if "validation" in names else 0,
        "skipped": skipped,
        "repaired": repaired,  # rows --repair changed (they are in train/validation or skipped)
    }
    if counts["train"] + counts["validation"] + counts["skipped"] != counts["input"]:
        raise RuntimeError(f"export counts do not reconcile: {counts}")
    return _write_manifest(src, out, upstream, cfg, counts, written, started, t0)


#: What a stage's dataset folder holds (run/dataset.py): removed when --force makes it an export folder.
STAGE_FILES = ("manifest.json", "funnel.md", "funnel.json", "languages.md", "languages.png")
STAGE_FOLDERS = ("data", "rejected", "quarantine", ".work")


def _check_folders(src: Path, out: Path, force: bool = False) -> dict[str, Any]:
    """The input folder's manifest, once the input is a finished stage folder and ``out`` a
    folder of its own: not another stage's folder, unless ``force``, which removes that stage's
    files first (the folder would otherwise read as that stage's, with training files in it)."""
    upstream = read_manifest(src)
    if upstream is None:
        raise InputError(
            f"{src}: not a complete tagengo dataset folder (no {MANIFEST}); export reads the output of a stage "
            "(tagengo generate or mix)."
        )
    if out.resolve() == src.resolve():
        raise ConfigError(f"{out}: --out is the input folder; export into a folder of its own.")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a folder; --out names a folder for the files.")
    previous = read_manifest(out) if (out / MANIFEST).exists() else None
    if previous is not None and not force:
        raise ConfigError(
            f"--out {out} holds a finished `{previous.get('stage')}` folder (finished at "
            f"{previous.get('finished_at')}); exporting there would replace it. Give --out a new folder, "
            "or pass --force to replace it."
        )
    if previous is not None:
        for name in STAGE_FILES:
            (out / name).unlink(missing_ok=True)
        for name in STAGE_FOLDERS:
            shutil.rmtree(out / name, ignore_errors=True)
    return upstream


@dataclass
class _Written:
    """What pass 2 wrote: each file's info (rows, sha256), skipped.jsonl's, and the counts the
    manifest and card report."""

    file_info: dict[str, dict[str, Any]]
    skipped_info: dict[str, Any]
    langs: dict[str, Counter]
    sources: Counter
    skipped_by_reason: Counter


def _write(
    files: list[Path],
    out: Path,
    names: dict[str, str],
    problems: list[str | None],
    to_val: np.ndarray,
    cfg: ExportConfig,
    progress: bool,
) -> _Written:
    """Pass 2: convert the rows batch by batch into the split files and skipped.jsonl, all or
    none (a failure aborts every file begun)."""
    splits = list(names)
    writers = {split: open_writer(out / names[split], cfg.output_format) for split in splits}
    skipped_w = open_writer(out / "skipped.jsonl", "messages")
    langs: dict[str, Counter] = {}
    sources: Counter = Counter()
    skipped_by_reason: Counter = Counter()
    bar = _bar(progress, len(problems))
    try:
        start = 0
        wanted = ["id", "source", "language", "messages"] + (["meta"] if "meta" in cfg.columns else [])
        for batch in _batches(files, wanted):
            table, _ = _repaired(batch, cfg)
            k = table.num_rows
            probs = problems[start : start + k]
            ok = np.array([p is None for p in probs], dtype=bool)
            val = to_val[start : start + k]
            kind = np.where(ok, np.where(val, "validation", "train"), "skipped")
            languages = [lang or NO_LANGUAGE for lang in table.column("language").to_pylist()]
            for (lang, where), count in Counter(zip(languages, kind.tolist(), strict=True)).items():
                langs.setdefault(lang, Counter())[where] += count
            if (~ok).any():
                bad = table.filter(pa.array(~ok)).select(["id", "language", "source"])
                reasons = [p for p in probs if p is not None]
                skipped_by_reason.update(reasons)
                skipped_w.write(bad.append_column("reason", pa.array(reasons, pa.string())))
            good_rows = table.filter(pa.array(ok))
            sources.update(good_rows.column("source").to_pylist())
            good_val = val[ok]
            for split in splits:
                mask = good_val if split == "validation" else ~good_val
                part = good_rows.filter(pa.array(mask)) if len(splits) > 1 else good_rows
                if part.num_rows:
                    writers[split].write(convert(part, cfg.output_format, cfg.columns))
            start += k
            bar.advance(k)
        empty = convert(_empty_records(), cfg.output_format, cfg.columns).schema
        file_info = {}
        for split in splits:
            w = writers[split]
            file_info[names[split]] = {"split": split, **w.commit(empty)}
        skipped_info = skipped_w.commit()
    except BaseException:
        for w in (*writers.values(), skipped_w):
            w.abort()
        raise
    finally:
        bar.close()
    return _Written(file_info, skipped_info, langs, sources, skipped_by_reason)


def _write_manifest(
    src: Path,
    out: Path,
    upstream: dict[str, Any],
    cfg: ExportConfig,
    counts: dict[str, int],
    written: _Written,
    started: datetime,
    t0: float,
) -> ExportResult:
    """The snippets, the card and export.json, written last: export.json marks the folder complete."""
    from tagengo.mix.card import axolotl_snippet, lineage, render_card, trl_snippet

    manifest = export_manifest(
        cfg,
        out,
        src,
        upstream,
        counts,
        written.skipped_by_reason,
        written.langs,
        written.sources,
        written.file_info,
        written.skipped_info,
        started,
        t0,
    )
    manifest["snippets"] = {
        "axolotl.yaml": axolotl_snippet(written.file_info, cfg.output_format),
        "trl_sft.py": trl_snippet(written.file_info, cfg.output_format),
    }
    for name, text in manifest["snippets"].items():
        atomic_write_text(out / name, text)
    atomic_write_text(out / "README.md", render_card(manifest, lineage(src)))
    atomic_write_json(out / EXPORT_MANIFEST, manifest)
    return ExportResult(out, manifest)


def _empty_records() -> pa.Table:
    from tagengo.records import RECORD_SCHEMA

    return RECORD_SCHEMA.empty_table()


class _bar:
    """A rich progress bar over rows on a terminal; nothing otherwise."""

    def __init__(self, enabled: bool, total: int) -> None:
        self._p = None
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._p = Progress(
                TextColumn("[bold]export"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
            )
            self._task = self._p.add_task("export", total=total)
            self._p.start()

    def advance(self, rows: int) -> None:
        if self._p is not None:
            self._p.update(self._task, advance=rows)

    def close(self) -> None:
        if self._p is not None:
            self._p.stop()
