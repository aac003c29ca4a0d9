"""The dataset card (README.md) of an exported training set, and its loading snippets.

Every number in the card comes from the export's own manifest (``export.json``) or from the
manifests of the stages upstream of it, found by following each folder's ``input.path``
(``inputs`` for a mix of several folders) back to the raw files. A manifest that cannot be
reached is named as such, never guessed at.

The card starts with the YAML header the Hugging Face Hub reads (languages, license, splits),
so the folder can be pushed as a dataset repository as it is.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tagengo.run.dataset import read_manifest
from tagengo.run.funnel import language_name
from tagengo.run.wording import plural, rows_in_languages

#: How far back the lineage is followed (a guard against manifests that point in a circle).
MAX_DEPTH = 32

#: What we know of the terms of common sources; anything else gets the generic note.
SOURCE_TERMS = {
    "lmsys-chat-1m": "LMSYS-Chat-1M is released under the LMSYS-Chat-1M Dataset License Agreement "
    "(gated on the Hugging Face Hub, lmsys/lmsys-chat-1m); its terms apply to data derived from it",
    "wildchat": "WildChat is released by AI2 (allenai/WildChat-1M); check its dataset card for the "
    "license that applies to the version you used",
}


# --- lineage ---------------------------------------------------------------------------


def _parents(manifest: dict[str, Any]) -> list[str]:
    if manifest.get("inputs"):
        return [str(p) for p in manifest["inputs"]]
    path = (manifest.get("input") or {}).get("path")
    return [str(path)] if path else []


def lineage(folder: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The stages that made ``folder``, oldest first (a parent always before its child).

    Each entry: ``path``, ``depth`` (0: ``folder`` itself), ``kind`` ("stage": a dataset
    folder with its ``manifest``; "file": a raw input file or folder; "missing": a path a
    manifest names that is not there now) and, for files, the ``format`` the stage read."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()

    def walk(path: str, depth: int, fmt: str | None) -> None:
        p = Path(path)
        key = str(p.resolve()) if p.exists() else path
        if key in seen or depth > MAX_DEPTH:
            return
        seen.add(key)
        manifest = read_manifest(p) if p.is_dir() else None
        if manifest is None:
            out.append(
                {"path": path, "depth": depth, "kind": "file" if p.exists() else "missing", "format": fmt}
            )
            return
        fmt_in = (manifest.get("input") or {}).get("format")
        for parent in _parents(manifest):
            walk(parent, depth + 1, fmt_in)
        out.append({"path": path, "depth": depth, "kind": "stage", "manifest": manifest})

    walk(str(folder), 0, None)
    return out


def generation_models(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The teacher models of every ``generate`` stage upstream: model id, sampling, answers kept."""
    out = []
    for node in nodes:
        m = node.get("manifest")
        if not m or m.get("stage") != "generate":
            continue
        cfg = m.get("config", {})
        out.append(
            {
                "path": node["path"],
                "model": (m.get("llm") or {}).get("model_id") or cfg.get("model") or "(not recorded)",
                "backend": cfg.get("backend"),
                "temperature": cfg.get("temperature"),
                "max_tokens": cfg.get("max_tokens"),
                "answered": m["counts"]["kept"],
                "rejected": m["counts"]["rejected"],
            }
        )
    return out


# --- snippets --------------------------------------------------------------------------


def _axolotl_dataset(path: str, fmt: str, *, eval_split: bool) -> list[str]:
    """One ``datasets:`` entry as YAML lines: the entry ``tagengo train --print-axolotl`` writes
    too (``tagengo.io.axolotl.dataset_entry``), with a comment on a split's line."""
    from tagengo.io.axolotl import dataset_entry

    entry = dataset_entry(path, fmt)
    lines: list[str] = []
    for key, value in entry.items():
        if key == "type" and eval_split:
            lines.append("    split: train  # a single file loads as the 'train' split of its own dataset")
        if isinstance(value, dict):
            lines.append(f"    {key}:")
            lines += [f"      {k}: {v}" for k, v in value.items()]
        elif isinstance(value, list):
            lines.append(f"    {key}: [{', '.join(map(str, value))}]")
        else:
            lines.append(f"    {key}: {value}")
    lines[0] = "  - " + lines[0].lstrip()
    return lines


def axolotl_snippet(files: dict[str, dict[str, Any]], fmt: str) -> str:
    """The dataset part of an Axolotl config pointing at the exported files."""
    train = [name for name, f in files.items() if f["split"] == "train"]
    val = [name for name, f in files.items() if f["split"] == "validation"]
    lines = [
        "# Axolotl: the dataset part of a config. Paths are relative to this folder: run axolotl",
        "# from here, or make them absolute. chat_template: tokenizer_default uses the model's own.",
    ]
    if fmt != "alpaca":
        lines.append("chat_template: tokenizer_default")
    lines.append("datasets:")
    for name in train:
        lines += _axolotl_dataset(name, fmt, eval_split=False)
    if val:
        lines.append("test_datasets:")
        for name in val:
            lines += _axolotl_dataset(name, fmt, eval_split=True)
    else:
        lines.append("val_set_size: 0.0")
    return "\n".join(lines) + "\n"


#: Axolotl's dataset ``type`` per preference method, and the layout it reads (export_pairs.py):
#: DPO's ``chat_template.default`` takes TRL's conversational pairs (field_messages: prompt);
#: ORPO's only chat loader, ``chat_template.argilla``, takes whole conversations with the system
#: turn apart. Both apply the model's own chat template (not ChatML's markup, as chatml.intel does).
AXOLOTL_PREFERENCE = {
    "dpo": (
        "trl",
        "chat_template.default",
        {"field_messages": "prompt", "field_chosen": "chosen", "field_rejected": "rejected"},
    ),
    "orpo": ("argilla", "chat_template.argilla", {}),
}


def axolotl_preference_snippet(files: dict[str, dict[str, Any]], rl: str) -> str:
    """The RL dataset part of an Axolotl config (``rl: dpo`` or ``rl: orpo``) pointing at the
    exported pair files of the layout that method's loader reads (``AXOLOTL_PREFERENCE``)."""
    layout, ds_type, fields = AXOLOTL_PREFERENCE[rl]
    mine = {name: f for name, f in files.items() if f.get("layout") == layout}
    lines = [
        f"# Axolotl: the preference part of a config for {rl.upper()}. Paths are relative to this folder:",
        "# run axolotl from here, or make them absolute. chat_template: tokenizer_default uses the",
        "# model's own template; add base_model and the training settings.",
        f"rl: {rl}",
    ]
    if rl == "orpo":
        lines.append("remove_unused_columns: false  # as Axolotl's ORPO example sets it")
    lines.append("chat_template: tokenizer_default")

    def entry(name: str, eval_split: bool) -> list[str]:
        out = [f"  - path: {name}"]
        if eval_split:
            out.append("    split: train  # a single file loads as the 'train' split of its own dataset")
        out.append(f"    type: {ds_type}")
        out += [f"    {k}: {v}" for k, v in fields.items()]
        return out

    lines.append("datasets:")
    for name, f in mine.items():
        if f["split"] == "train":
            lines += entry(name, eval_split=False)
    val = [name for name, f in mine.items() if f["split"] == "validation"]
    if val:
        lines.append("test_datasets:")
        for name in val:
            lines += entry(name, eval_split=True)
    else:
        lines.append("val_set_size: 0.0")
    return "\n".join(lines) + "\n"


def trl_preference_snippet(files: dict[str, dict[str, Any]]) -> str:
    """Python that loads the exported pairs (TRL's conversational preference format) as TRL
    DPOTrainer / ORPOTrainer datasets (no training code)."""
    splits = {f["split"]: name for name, f in files.items() if f.get("layout") == "trl"}
    data_files = ", ".join(f'"{split}": str(HERE / "{name}")' for split, name in splits.items())
    lines = [
        '"""Load the exported pairs for TRL\'s DPOTrainer or ORPOTrainer (conversational preference format).',
        "No training code: pass the datasets to DPOTrainer(model=..., train_dataset=..., eval_dataset=...,",
        'args=DPOConfig(...)) or ORPOTrainer(..., args=ORPOConfig(...))."""',
        "",
        "from pathlib import Path",
        "",
        "from datasets import load_dataset",
        "",
        "HERE = Path(__file__).resolve().parent",
        f'data = load_dataset("json", data_files={{{data_files}}})',
        "",
        "# Only the pair: the trainer applies the model's chat template to prompt, chosen and rejected.",
        'data = data.select_columns(["prompt", "chosen", "rejected"])',
        'train_dataset = data["train"]',
        'eval_dataset = data["validation"] if "validation" in data else None',
    ]
    return "\n".join(lines) + "\n"


def trl_snippet(files: dict[str, dict[str, Any]], fmt: str) -> str:
    """Python that loads the exported files as TRL SFTTrainer datasets (no training code)."""
    loader = "parquet" if fmt == "parquet" else "json"
    splits = {f["split"]: name for name, f in files.items()}
    data_files = ", ".join(f'"{split}": str(HERE / "{name}")' for split, name in splits.items())
    lines = [
        '"""Load the exported files for TRL\'s SFTTrainer (conversational format). No training code:',
        'pass the datasets to SFTTrainer(model=..., train_dataset=..., eval_dataset=..., args=SFTConfig(...))."""',
        "",
        "from pathlib import Path",
        "",
        "from datasets import load_dataset",
        "",
        "HERE = Path(__file__).resolve().parent",
        f'data = load_dataset("{loader}", data_files={{{data_files}}})',
    ]
    if fmt == "sharegpt":
        lines += [
            "",
            "# ShareGPT turns -> the role/content messages TRL expects.",
            'ROLE = {"human": "user", "gpt": "assistant", "system": "system"}',
            "data = data.map(",
            '    lambda row: {"messages": [{"role": ROLE[t["from"]], "content": t["value"]} for t in row["conversations"]]}',
            ")",
        ]
    elif fmt == "alpaca":
        lines += [
            "",
            "# Alpaca rows -> TRL's conversational prompt-completion format (loss on the answer only).",
            "data = data.map(",
            "    lambda row: {",
            '        "prompt": [{"role": "user", "content": row["instruction"] + ("\\n\\n" + row["input"] if row["input"] else "")}],',
            '        "completion": [{"role": "assistant", "content": row["output"]}],',
            "    }",
            ")",
        ]
    keep = '["prompt", "completion"]' if fmt == "alpaca" else '["messages"]'
    lines += [
        "",
        "# Only the conversation: SFTTrainer applies the model's chat template to it.",
        f"data = data.select_columns({keep})",
        'train_dataset = data["train"]',
        'eval_dataset = data["validation"] if "validation" in data else None',
    ]
    return "\n".join(lines) + "\n"


# --- the card --------------------------------------------------------------------------


def _size_category(n: int) -> str:
    for limit, label in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
    ):
        if n < limit:
            return label
    return "1M<n<10M" if n < 10_000_000 else "n>10M"


def _yaml_header(m: dict[str, Any]) -> list[str]:
    langs = [
        lang for lang, c in m["languages"].items() if c["train"] + c["validation"] > 0 and lang != "(none)"
    ]
    # Quoted: YAML 1.1 reads a bare `no` (Norwegian) as false.
    lines = ["---", "language:"] + [f"- {json.dumps(lang)}" for lang in langs]
    lines += [
        f"license: {json.dumps(m['config']['license'])}",
        "task_categories:",
        "- text-generation",
        "tags:",
        "- tagengo",
        "- multilingual",
        "- instruction-tuning",
        "size_categories:",
        f"- {_size_category(m['counts']['exported'])}",
        "configs:",
    ]
    # One config per layout: SFT files and TRL's pairs are the default, Axolotl's argilla shape its own.
    layouts: dict[str, list[tuple[str, str]]] = {}
    for name, f in m["files"].items():
        layouts.setdefault(f.get("layout") or "default", []).append((name, f["split"]))
    for layout, files in layouts.items():
        lines += [f"- config_name: {'default' if layout in ('default', 'trl') else layout}", "  data_files:"]
        for name, split in files:
            lines += [f"  - split: {split}", f"    path: {name}"]
    return [*lines, "---", ""]


def _table(header: list[str], rows: list[list[Any]], right_from: int = 1) -> list[str]:
    def cell(v: Any) -> str:
        if isinstance(v, bool) or v is None:
            return "" if v is None else str(v)
        if isinstance(v, int):
            return f"{v:,}"
        return str(v).replace("|", "\\|").replace("\n", " ")

    align = ["---"] * right_from + ["---:"] * (len(header) - right_from)
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return [*out, ""]


def _funnel_section(nodes: list[dict[str, Any]], m: dict[str, Any]) -> list[str]:
    lines = ["## How it was made", ""]
    lines.append(
        "Every stage upstream of this export, oldest first, with the rows each step removed. "
        "Rows removed by a stage are kept in its folder's `rejected/` with the reason."
    )
    lines.append("")
    for node in nodes:
        if node["kind"] == "file":
            fmt = f" ({node['format']})" if node.get("format") else ""
            lines += [f"- raw input: `{node['path']}`{fmt}", ""]
            continue
        if node["kind"] == "missing":
            lines += [f"- `{node['path']}`: not reachable now; its numbers are not shown", ""]
            continue
        sm = node["manifest"]
        c = sm["counts"]
        extra = f", preset `{sm['preset']}`" if sm.get("preset") else ""
        extra += f", recipe `{sm['recipe']}`" if sm.get("recipe") else ""
        lines.append(f"### `{sm['stage']}` → `{node['path']}`{extra}")
        lines.append("")
        rows: list[list[Any]] = [["read", None, c["read"]]]
        rows += [[s["name"], s["removed"], s["out"]] for s in sm["steps"]]
        lines += _table(["step", "removed", "remaining"], rows)
        if c.get("quarantined"):
            lines += [
                f"{c['quarantined']:,} unreadable input lines were quarantined before the first step.",
                "",
            ]
    e = m["counts"]
    lines.append("### `export` → this folder")
    lines.append("")
    rows = [["read", None, e["input"]]]
    if "pairs" in e:
        rows.append(["preference pairs of the rows", None, e["pairs"]])
    rows.append(["skipped (breaks the chat rules)", e["skipped"], e["exported"]])
    lines += _table(["step", "removed", "remaining"], rows)
    return lines


def render_card(manifest: dict[str, Any], nodes: list[dict[str, Any]]) -> str:
    """The README.md of an export folder, from its manifest and the lineage of its input."""
    m = manifest
    cfg = m["config"]
    c = m["counts"]
    langs = {k: v for k, v in m["languages"].items() if v["train"] + v["validation"] + v["skipped"] > 0}
    written = {k: v["train"] + v["validation"] for k, v in langs.items()}
    pairs = m.get("kind") == "preference"
    noun = "pair" if pairs else "row"
    lines = _yaml_header(m)
    what = (
        f"{rows_in_languages(written, 'preference pair')} (prompt, chosen, rejected) for DPO or ORPO, "
        f"from {plural(c['input'], 'prompt')} ranked by `tagengo prefer`, in TRL's conversational "
        "preference format (and, in `*_argilla.jsonl`, as whole conversations for Axolotl's ORPO loader)"
        if pairs
        else f"{rows_in_languages(written, 'conversation')} for supervised fine-tuning, in the `{cfg.get('output_format', cfg.get('format'))}` layout"
    )
    lines += [
        f"# {m['name']}",
        "",
        f"{what}, made with tagengo {m['tagengo_version']} on {m['finished_at'][:10]} from `{m['input']['path']}`.",
        "",
        "## Files",
        "",
    ]
    lines += _files_section(m, noun)
    lines += _languages_section(m, langs)
    lines += ["## Sources", ""]
    lines += _table(["source", f"{noun}s"], [[s, n] for s, n in m["sources"].items()])
    if pairs:
        lines += _preference_section(m)
    lines += _generation_section(nodes, pairs)
    lines += _funnel_section(nodes, m)
    lines += _skipped_section(m, noun, pairs)
    lines += _license_section(m)
    lines += _loading_section(m)
    return "\n".join(lines)


def _files_section(m: dict[str, Any], noun: str) -> list[str]:
    """Each file with its split, rows, bytes and sha256, and how validation was split off."""
    cfg, c = m["config"], m["counts"]
    lines: list[str] = []
    lines += _table(
        ["file", "split", "rows", "bytes", "sha256"],
        [[name, f["split"], f["rows"], f["bytes"], f["sha256"][:16]] for name, f in m["files"].items()],
        right_from=2,
    )
    if c["validation"]:
        by = f"rows sharing `meta.{cfg['group_key']}` stay together" if cfg.get("group_key") else "row by row"
        lines += [
            f"Validation: {plural(c['validation'], noun)} ({cfg['validation']:.1%} asked), a seeded split "
            f"(seed {cfg['seed']}; {by}).",
            "",
        ]
    return lines


def _languages_section(m: dict[str, Any], langs: dict[str, dict[str, int]]) -> list[str]:
    """Rows per language and split, with each language's share of what was exported."""
    c = m["counts"]
    lines: list[str] = []
    lines += ["## Languages", ""]
    total = c["exported"] or 1
    lines += _table(
        ["code", "language", "train", "validation", "total", "share %", "skipped"],
        [
            [
                lang,
                language_name(lang),
                v["train"],
                v["validation"],
                v["train"] + v["validation"],
                f"{100 * (v['train'] + v['validation']) / total:.1f}",
                v["skipped"],
            ]
            for lang, v in langs.items()
        ],
        right_from=2,
    )
    return lines


def _preference_section(m: dict[str, Any]) -> list[str]:
    """The answering models and the judge that ranked their answers into pairs."""
    lines: list[str] = []
    p = m.get("preference") or {}
    lines += ["## Preference", ""]
    models = p.get("answer_models") or {}
    lines += _table(["answering model", "served as"], [[name, ident] for name, ident in models.items()])
    lines += [
        f"Ranked by the judge `{p.get('judge_model') or '(not recorded)'}`; pairs: "
        f"`{p.get('pairs') or '(not recorded)'}` (see docs/prefer.md).",
        "",
    ]
    return lines


def _generation_section(nodes: list[dict[str, Any]], pairs: bool) -> list[str]:
    """The teacher models of the generate stages upstream, or why there are none."""
    lines: list[str] = []
    models = generation_models(nodes)
    lines += ["## Generation", ""]
    if models:
        lines += _table(
            [
                "teacher model",
                "backend",
                "stage folder",
                "temperature",
                "max tokens",
                "answers kept",
                "rejected",
            ],
            [
                [
                    g["model"],
                    g["backend"],
                    f"`{g['path']}`",
                    g["temperature"],
                    g["max_tokens"],
                    g["answered"],
                    g["rejected"],
                ]
                for g in models
            ],
            right_from=3,
        )
    elif pairs:
        lines += ["No `generate` stage upstream: the answers are the answering models' above.", ""]
    else:
        lines += [
            "No `generate` stage was found upstream: the answers came with the input "
            "(logged responses), or the lineage is not reachable.",
            "",
        ]
    return lines


def _skipped_section(m: dict[str, Any], noun: str, pairs: bool) -> list[str]:
    """What could not be written as a training example, by reason."""
    c = m["counts"]
    lines: list[str] = []
    lines += [f"## Skipped {noun}s", ""]
    if c["skipped"]:
        lines.append(
            f"{plural(c['skipped'], noun)} of the input could not be written as "
            "training examples; each is listed in "
            "`skipped.jsonl` (id, language, source, reason)."
        )
        lines.append("")
        lines += _table(["reason", f"{noun}s"], [[r, n] for r, n in m["skipped_by_reason"].items()])
    else:
        lines += [
            f"None: every {noun} keeps the chat rules."
            if pairs
            else "None: every input row ends with an assistant answer.",
            "",
        ]
    return lines


def _license_section(m: dict[str, Any]) -> list[str]:
    """The metadata license and the terms each source keeps."""
    cfg = m["config"]
    lines: list[str] = []
    lines += ["## License", ""]
    lines.append(
        f"Metadata license: `{cfg['license']}`. This card grants no rights of its own: the prompts keep "
        "the terms of their sources, and the answers those of the teacher model's provider."
    )
    lines.append("")
    for source in m["sources"]:
        if source in SOURCE_TERMS:
            lines.append(f"- {source}: {SOURCE_TERMS[source]}.")
    if any(s in SOURCE_TERMS for s in m["sources"]):
        lines.append("")
    if cfg.get("license_note"):
        lines += [cfg["license_note"], ""]
    return lines


def _loading_section(m: dict[str, Any]) -> list[str]:
    """The snippets that point Axolotl and TRL at the files."""
    lines: list[str] = []
    lines += ["## Loading it", ""]
    for name, text in m["snippets"].items():
        lines += [
            f"{SNIPPET_READERS.get(name, name)} (`{name}` in this folder):",
            "",
            "```yaml" if name.endswith(".yaml") else "```python",
            text.rstrip("\n"),
            "```",
            "",
        ]
    return lines


#: Who reads each snippet file an export writes, as the card names it.
SNIPPET_READERS = {
    "axolotl.yaml": "Axolotl",
    "trl_sft.py": "TRL",
    "axolotl_dpo.yaml": "Axolotl, DPO",
    "axolotl_orpo.yaml": "Axolotl, ORPO",
    "trl_preference.py": "TRL, DPO or ORPO",
}
