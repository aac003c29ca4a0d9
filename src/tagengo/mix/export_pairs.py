"""`tagengo export` of a `tagengo prefer` folder: preference pairs for DPO and ORPO.

    out/
      train.jsonl, validation.jsonl     TRL's conversational preference format (docs/prefer.md):
                                        prompt (the conversation up to its last user turn, a
                                        system turn included), chosen and rejected (one assistant
                                        message each). TRL's DPOTrainer/ORPOTrainer, `tagengo
                                        train --method dpo|orpo` and Axolotl's DPO loader
                                        ``chat_template.default`` read it
      train_argilla.jsonl, ...          the same pairs as whole conversations, the shape of
                                        Axolotl's ``chat_template.argilla`` (what its ORPO loader
                                        reads): chosen and rejected = the prompt's user/assistant
                                        turns + the answer, a system turn apart in ``system``, and
                                        no ``prompt`` field (that loader would take it as the user
                                        turn of every exchange)
      axolotl_dpo.yaml, axolotl_orpo.yaml   the dataset part of an Axolotl config (rl: dpo / orpo)
      trl_preference.py                 loads train.jsonl for TRL (no training code)
      skipped.jsonl, README.md, export.json

A pair is written when both of its conversations (prompt + chosen, prompt + rejected) keep the
chat rules every template accepts (io/writers.py ``row_problems``) and its answers differ
(``tagengo.pairs_check``: a pair whose chosen and rejected answers are the same text after
normalisation, or near-identical, holds no preference); the others are skipped with the reason
(``same_answer: ...`` for the latter). Counts: pairs = train + validation + skipped. The split keeps the pairs of one prompt
(and of one ``--group-key`` group) on one side, as for SFT rows.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from tagengo.errors import ConfigError, InputError
from tagengo.io.writers import JsonlWriter, row_problems
from tagengo.mix.config import ExportConfig
from tagengo.pairs_check import same_answer
from tagengo.records import MESSAGE_TYPE, NO_LANGUAGE, Record
from tagengo.run.dataset import MANIFEST, atomic_write_json, atomic_write_text, iter_records
from tagengo.run.pairs import pair_rows

#: File name of each split, per layout: TRL's conversational pairs, and Axolotl's argilla shape.
TRL_FILES = {"train": "train.jsonl", "validation": "validation.jsonl"}
ARGILLA_FILES = {"train": "train_argilla.jsonl", "validation": "validation_argilla.jsonl"}
LAYOUTS = {"trl": TRL_FILES, "argilla": ARGILLA_FILES}


def pair_problems(pairs: list[dict[str, Any]]) -> list[str | None]:
    """Why each pair is no training example, or None: its chosen or its rejected conversation
    (prompt + that answer) breaks the chat rules (io/writers.py ``row_problems``, checked
    column-wise over every pair at once; a reason that holds for one side only names it), or
    its two answers are the same text (``same_answer: ...``, ``tagengo.pairs_check``)."""
    convs = [pair["prompt"] + pair[side] for pair in pairs for side in ("chosen", "rejected")]
    found = row_problems(pa.table({"messages": pa.array(convs, type=pa.list_(MESSAGE_TYPE))}), "messages")
    out: list[str | None] = []
    for chosen, rejected in zip(found[0::2], found[1::2], strict=True):
        if chosen is not None and chosen == rejected:
            out.append(chosen)  # the prompt itself breaks them
        elif chosen is not None:
            out.append(f"prompt + chosen answer: {chosen}")
        elif rejected is not None:
            out.append(f"prompt + rejected answer: {rejected}")
        else:
            out.append(None)
    for k, pair in enumerate(pairs):
        if out[k] is None:
            out[k] = same_answer(pair["chosen"][-1]["content"], pair["rejected"][-1]["content"])
    return out


def argilla_row(pair: dict[str, Any]) -> dict[str, Any]:
    """A conversational pair (``prompt``, ``chosen``, ``rejected``) as Axolotl's
    ``chat_template.argilla`` rows are: ``system`` (the prompt's leading system turn, or None),
    ``chosen`` and ``rejected`` the prompt's other turns followed by that answer."""
    prompt = pair["prompt"]
    system = prompt[0]["content"] if prompt and prompt[0]["role"] == "system" else None
    turns = prompt[1:] if system is not None else prompt
    return {"system": system, "chosen": turns + pair["chosen"], "rejected": turns + pair["rejected"]}


def _unit(row: Record, group_key: str | None) -> str:
    from tagengo.mix.recipes import meta_value

    group = meta_value(row.meta, group_key) if group_key else None
    return "group\x00" + group if group is not None else "row\x00" + row.id


def export_pairs(
    src: Path, out: Path, upstream: dict[str, Any], cfg: ExportConfig, *, progress: bool | None = None
) -> Any:
    """Write the preference pairs of the `tagengo prefer` folder ``src`` into ``out`` (see the
    module doc); returns an ``ExportResult``. ``progress`` is accepted for the caller's sake: a
    pair set (about a hundred prompts per language) is written in well under a second.

    Raises ``ConfigError`` for an option that has no meaning for pairs (``--output-format`` other than
    messages, ``--repair``), ``InputError`` when the folder's rows do not match its manifest."""
    from tagengo.mix.export_common import EXPORT_MANIFEST, validation_mask

    _check_options(src, cfg)
    started = datetime.now(UTC)
    t0 = time.perf_counter()

    pairs, units, n_rows = _read_pairs(src, upstream, cfg)
    problems = pair_problems(pairs)
    to_val = validation_mask(units, problems, cfg.validation, cfg.seed)
    splits = ["train"] + (["validation"] if to_val.any() else [])

    out.mkdir(parents=True, exist_ok=True)
    (out / EXPORT_MANIFEST).unlink(missing_ok=True)  # a crash mid-export leaves no stale mark of completeness
    sorted_ = _sort_pairs(pairs, problems, to_val.tolist(), splits, cfg)
    file_info, skipped_info = _write_files(out, splits, sorted_)

    n_skipped = sum(sorted_.skipped_by_reason.values())
    counts = {
        "input": n_rows,
        "pairs": len(pairs),
        "exported": len(pairs) - n_skipped,
        "train": file_info[TRL_FILES["train"]]["rows"],
        "validation": file_info[TRL_FILES["validation"]]["rows"] if "validation" in splits else 0,
        "skipped": n_skipped,
        "repaired": 0,
    }
    if counts["train"] + counts["validation"] + counts["skipped"] != counts["pairs"]:
        raise RuntimeError(f"export counts do not reconcile: {counts}")
    return _write_manifest(src, out, upstream, cfg, counts, sorted_, file_info, skipped_info, started, t0)


def _check_options(src: Path, cfg: ExportConfig) -> None:
    """Refuse the SFT export options that mean nothing for pairs, before anything is read."""
    if cfg.output_format != "messages":
        raise ConfigError(
            f"--output-format {cfg.output_format}: {src} is a `tagengo prefer` folder; its pairs are written in TRL's "
            "conversational preference format (JSONL), so leave --output-format out."
        )
    if cfg.repair != "none":
        raise ConfigError(
            f"--repair {cfg.repair}: pairs are written as `tagengo prefer` made them; leave --repair out."
        )


def _read_pairs(
    src: Path, upstream: dict[str, Any], cfg: ExportConfig
) -> tuple[list[dict[str, Any]], list[str], int]:
    """Every pair of the folder (with its row's source), the split unit of each, and the number
    of rows read, which must be the manifest's kept count."""
    pairs: list[dict[str, Any]] = []
    units: list[str] = []
    n_rows = 0
    for row in iter_records(src):
        n_rows += 1
        for pair in pair_rows(row):
            pairs.append({**pair, "source": row.source})
            units.append(_unit(row, cfg.group_key))
    if n_rows != upstream["counts"]["kept"]:
        raise InputError(
            f"{src}: data/ holds {n_rows:,} rows but {MANIFEST} says {upstream['counts']['kept']:,} were kept; "
            "the folder was changed after its stage wrote it. Run that stage again."
        )
    return pairs, units, n_rows


@dataclass
class _Sorted:
    """The pairs sorted into the rows of each file (``layout:split``) and the skipped ones,
    with the counts the manifest and card report."""

    rows: dict[str, list[dict[str, Any]]]
    skipped: list[dict[str, Any]] = field(default_factory=list)
    langs: dict[str, Counter] = field(default_factory=dict)
    sources: Counter = field(default_factory=Counter)
    skipped_by_reason: Counter = field(default_factory=Counter)


def _sort_pairs(
    pairs: list[dict[str, Any]],
    problems: list[str | None],
    to_val: list[bool],
    splits: list[str],
    cfg: ExportConfig,
) -> _Sorted:
    """Each pair to the skipped rows (with its reason) or to its split, in both layouts."""
    out = _Sorted(rows={f"{layout}:{split}": [] for split in splits for layout in LAYOUTS})
    extra = [c for c in cfg.columns if c != "meta"]
    for pair, problem, val in zip(pairs, problems, to_val, strict=True):
        lang = pair["language"] or NO_LANGUAGE
        if problem is not None:
            out.langs.setdefault(lang, Counter())["skipped"] += 1
            out.skipped_by_reason[problem] += 1
            out.skipped.append(
                {"id": pair["id"], "language": pair["language"], "source": pair["source"], "reason": problem}
            )
            continue
        split = "validation" if val else "train"
        out.langs.setdefault(lang, Counter())[split] += 1
        out.sources[pair["source"]] += 1
        columns = {k: pair[k] for k in extra}
        if "meta" in cfg.columns:
            columns["meta"] = orjson.dumps(pair["meta"]).decode()  # JsonlWriter writes it as an object
        trl = {"prompt": pair["prompt"], "chosen": pair["chosen"], "rejected": pair["rejected"]}
        out.rows[f"trl:{split}"].append({**trl, **columns})
        out.rows[f"argilla:{split}"].append({**argilla_row(pair), **columns})
    return out


def _write_files(
    out: Path, splits: list[str], sorted_: _Sorted
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Write every split file of both layouts and skipped.jsonl, all or none (a failure aborts
    the files already begun); the info of each and of skipped.jsonl."""
    from tagengo.mix.export_common import clear_stale

    writers: list[JsonlWriter] = []
    file_info: dict[str, dict[str, Any]] = {}
    try:
        for layout, files in LAYOUTS.items():
            for split in splits:
                w = JsonlWriter(out / files[split])
                writers.append(w)
                if sorted_.rows[f"{layout}:{split}"]:
                    w.write(pa.Table.from_pylist(sorted_.rows[f"{layout}:{split}"]))
                file_info[files[split]] = {"split": split, "layout": layout, **w.commit()}
        skipped_w = JsonlWriter(out / "skipped.jsonl")
        writers.append(skipped_w)
        if sorted_.skipped:
            skipped_w.write(pa.Table.from_pylist(sorted_.skipped))
        skipped_info = skipped_w.commit()
    except BaseException:
        for w in writers:
            w.abort()
        raise
    keep = set(file_info) | {"axolotl_dpo.yaml", "axolotl_orpo.yaml", "trl_preference.py"}
    clear_stale(out, keep)
    return file_info, skipped_info


def _write_manifest(
    src: Path,
    out: Path,
    upstream: dict[str, Any],
    cfg: ExportConfig,
    counts: dict[str, int],
    sorted_: _Sorted,
    file_info: dict[str, dict[str, Any]],
    skipped_info: dict[str, Any],
    started: datetime,
    t0: float,
) -> Any:
    """The snippets, the card and export.json, written last: export.json marks the folder complete."""
    from tagengo.mix.card import axolotl_preference_snippet, lineage, render_card, trl_preference_snippet
    from tagengo.mix.export_common import EXPORT_MANIFEST, ExportResult, export_manifest

    manifest = export_manifest(
        cfg,
        out,
        src,
        upstream,
        counts,
        sorted_.skipped_by_reason,
        sorted_.langs,
        sorted_.sources,
        file_info,
        skipped_info,
        started,
        t0,
        kind="preference",
        preference={
            "pairs": (upstream.get("config") or {}).get("pairs"),
            "answer_models": (upstream.get("llm") or {}).get("answer_models"),
            "judge_model": (upstream.get("llm") or {}).get("judge_model"),
        },
    )
    manifest["snippets"] = {
        "axolotl_dpo.yaml": axolotl_preference_snippet(file_info, "dpo"),
        "axolotl_orpo.yaml": axolotl_preference_snippet(file_info, "orpo"),
        "trl_preference.py": trl_preference_snippet(file_info),
    }
    for name, text in manifest["snippets"].items():
        atomic_write_text(out / name, text)
    atomic_write_text(out / "README.md", render_card(manifest, lineage(src)))
    atomic_write_json(out / EXPORT_MANIFEST, manifest)
    return ExportResult(out, manifest)
