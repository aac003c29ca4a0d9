"""The dataset card of an export (src/tagengo/mix/card.py): every number in it equals the one
in the export's manifest or in the upstream stages' manifests; the snippets point at the files."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from tagengo.mix.card import lineage
from tagengo.mix.config import ExportConfig, MixConfig
from tagengo.mix.export import export
from tagengo.mix.stage import mix
from tagengo.run.dataset import read_manifest

from .conftest import TEACHER


def number(cell: str) -> int | None:
    return int(cell.replace(",", "")) if cell.strip() else None


def tables(text: str) -> dict[str, list[list[str]]]:
    """Markdown tables by the heading above them: {heading: [row cells, ...]} (header row dropped)."""
    out: dict[str, list[list[str]]] = {}
    heading = ""
    for line in text.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif line.startswith("| ") and not line.startswith("| ---"):
            out.setdefault(heading, []).append([c.strip() for c in line.strip("|").split(" | ")])
    return {h: rows[1:] for h, rows in out.items()}


@pytest.fixture(scope="module")
def exported(generated, tmp_path_factory):
    base = tmp_path_factory.mktemp("card")
    mixed = mix(
        generated, base / "mixed", MixConfig(recipe="sampled", per_language=6), workers=1, progress=False
    )
    result = export(mixed.out, base / "export", ExportConfig(validation=0.25, name="tagengo-test-mix"))
    return result, (base / "export" / "README.md").read_text()


def test_header_is_hub_metadata_matching_the_files(exported) -> None:
    result, card = exported
    m = result.manifest
    assert card.startswith("---\n")
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["language"] == [k for k, v in m["languages"].items() if v["train"] + v["validation"]]
    assert header["license"] == "other"
    files = header["configs"][0]["data_files"]
    assert {f["split"]: f["path"] for f in files} == {f["split"]: name for name, f in m["files"].items()}
    assert "# tagengo-test-mix" in card


def test_language_and_file_tables_equal_the_manifest(exported) -> None:
    result, card = exported
    m = result.manifest
    t = tables(card)
    langs = {row[0]: row for row in t["Languages"]}
    assert set(langs) == {k for k, v in m["languages"].items() if sum(v.values())}
    for code, row in langs.items():
        v = m["languages"][code]
        train, val, total, skipped = (number(row[i]) for i in (2, 3, 4, 6))
        assert (train, val, total, skipped) == (
            v["train"],
            v["validation"],
            v["train"] + v["validation"],
            v["skipped"],
        )
    assert sum(number(r[4]) for r in langs.values()) == m["counts"]["exported"]
    files = {row[0]: row for row in t["Files"]}
    assert {name: (r[1], number(r[2]), number(r[3])) for name, r in files.items()} == {
        name: (f["split"], f["rows"], f["bytes"]) for name, f in m["files"].items()
    }
    for name, f in m["files"].items():  # and the files are what the manifest says
        path = result.out / name
        assert path.stat().st_size == f["bytes"]
        assert len(path.read_text().splitlines()) == f["rows"]
    assert {r[0]: number(r[1]) for r in t["Sources"]} == m["sources"]


def test_funnel_sections_equal_the_upstream_manifests(exported, curated, generated) -> None:
    result, card = exported
    t = tables(card)
    mixed = read_manifest(result.manifest["input"]["path"])
    for folder, stage in (
        (curated, "curate"),
        (generated, "generate"),
        (Path(result.manifest["input"]["path"]), "mix"),
    ):
        m = read_manifest(folder)
        heading = next(h for h in t if h.startswith(f"`{stage}` → `{folder}`"))
        rows = t[heading]
        assert rows[0] == ["read", "", f"{m['counts']['read']:,}"]
        assert [(r[0], number(r[1]), number(r[2])) for r in rows[1:]] == [
            (s["name"], s["removed"], s["out"]) for s in m["steps"]
        ]
    c = result.manifest["counts"]
    assert c["input"] == mixed["counts"]["kept"]
    export_rows = t["`export` → this folder"]
    assert [number(x) for x in export_rows[1][1:]] == [c["skipped"], c["exported"]]
    assert "raw input: `" in card and "lmsys_sample.jsonl` (lmsys)" in card


def test_generation_model_and_skips_come_from_the_manifests(exported, generated) -> None:
    result, card = exported
    t = tables(card)
    gen = t["Generation"]
    g = read_manifest(generated)
    assert gen == [
        [TEACHER, "", f"`{generated}`", "", "", f"{g['counts']['kept']:,}", f"{g['counts']['rejected']:,}"]
    ]
    assert {r[0]: number(r[1]) for r in t["Skipped rows"]} == result.manifest["skipped_by_reason"]
    assert "LMSYS-Chat-1M Dataset License Agreement" in card


def test_snippets_point_at_the_exported_files(exported) -> None:
    result, card = exported
    out = result.out
    ax = yaml.safe_load((out / "axolotl.yaml").read_text())
    assert [d["path"] for d in ax["datasets"]] == ["train.jsonl"]
    assert [d["path"] for d in ax["test_datasets"]] == ["validation.jsonl"]
    assert ax["datasets"][0]["type"] == "chat_template" and ax["datasets"][0]["field_messages"] == "messages"
    trl = (out / "trl_sft.py").read_text()
    compile(trl, "trl_sft.py", "exec")
    assert 'HERE / "train.jsonl"' in trl and 'HERE / "validation.jsonl"' in trl
    assert (out / "axolotl.yaml").read_text().strip() in card and trl.strip() in card
    # the card and export.json agree on the snippets
    assert json.loads((out / "export.json").read_text())["snippets"]["trl_sft.py"] == trl


def test_sharegpt_snippet_maps_the_fields(generated, tmp_path) -> None:
    out = export(generated, tmp_path / "sg", ExportConfig(output_format="sharegpt")).out
    ax = yaml.safe_load((out / "axolotl.yaml").read_text())
    d = ax["datasets"][0]
    assert d["field_messages"] == "conversations"
    assert d["message_property_mappings"] == {"role": "from", "content": "value"}
    assert "test_datasets" not in ax and ax["val_set_size"] == 0.0
    trl = (out / "trl_sft.py").read_text()
    compile(trl, "trl_sft.py", "exec")
    assert re.search(r'"human": "user", "gpt": "assistant"', trl)


def test_unreachable_upstream_is_named_not_guessed(generated, tmp_path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(generated, copy)
    mixed = mix(copy, tmp_path / "mixed", MixConfig(), workers=1, progress=False)
    shutil.rmtree(copy)
    nodes = lineage(mixed.out)
    assert [n["kind"] for n in nodes] == ["missing", "stage"]
    card = export(mixed.out, tmp_path / "e", ExportConfig()).out.joinpath("README.md").read_text()
    assert f"`{copy}`: not reachable now" in card
    assert "No `generate` stage was found upstream" in card
