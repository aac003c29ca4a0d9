"""The page asks each folder's stage for its sections (tagengo.report.hooks); a folder it cannot
show is listed with one sentence, never a traceback (DESIGN.md, Report)."""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path

import pytest

from tagengo.cli import main
from tagengo.report.hooks import HOOKS, STEP_HOOKS, folder_sections
from tagengo.report.html import gather, write_report

BENCH_FIXTURE = Path(__file__).resolve().parents[1] / "bench" / "fixtures" / "mt_bench"
STAGES_DIR = Path(__file__).resolve().parents[2] / "src" / "tagengo"


def _folder(root: Path, name: str, manifest: str) -> Path:
    (root / name).mkdir(parents=True)
    (root / name / "manifest.json").write_text(manifest, encoding="utf-8")
    return root / name


def test_every_stage_package_has_a_report_hook() -> None:
    """A stage package without a hook would be a folder the page cannot show."""
    for stage, package in HOOKS.items():
        module = importlib.import_module(f"tagengo.{package}.report_hook")
        assert callable(module.report_blocks), stage
    for step, package in STEP_HOOKS.items():
        assert callable(importlib.import_module(f"tagengo.{package}.report_hook").step_blocks), step
    assert callable(importlib.import_module("tagengo.bench.report_hook").folder_sections)
    # Every package with a stage CLI is in HOOKS (bench has no manifest: its hook finds its folders).
    clis = {p.parent.name for p in STAGES_DIR.glob("*/cli.py")} - {"report", "bench"}
    assert clis <= set(HOOKS.values()), clis - set(HOOKS.values())


def test_folders_the_page_cannot_show_are_listed_with_one_sentence(tmp_path: Path, capsys) -> None:
    broken = _folder(tmp_path, "broken", '{"stage": "curate", "counts": ')
    unknown = _folder(tmp_path, "unknown", json.dumps({"stage": "frobnicate", "counts": {}}))
    array = _folder(tmp_path, "array", "[1, 2]")
    # A known stage whose manifest lacks what its hook reads (counts): listed, not a traceback.
    damaged = _folder(tmp_path, "damaged", json.dumps({"stage": "curate", "steps": []}))
    got = gather([broken, unknown, array, damaged])
    assert got.sections == []
    why = dict(got.skipped)
    assert why.keys() == {str(broken), str(unknown), str(array), str(damaged)}
    assert "cannot be read as JSON" in why[str(broken)]
    assert "names stage 'frobnicate', which this report cannot show" in why[str(unknown)]
    assert "holds a JSON list, not an object" in why[str(array)]
    assert "not in a shape this report reads (KeyError" in why[str(damaged)]
    assert all("\n" not in w for w in why.values())
    html = tmp_path / "r.html"
    assert main(["report", str(broken), str(unknown), "--out", str(html)]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and str(unknown) in err
    assert "frobnicate" in html.read_text(encoding="utf-8")


def test_a_bench_show_folder_is_shown_from_the_benches_it_names(tmp_path: Path) -> None:
    bench = tmp_path / "data" / "mt_bench"
    shutil.copytree(BENCH_FIXTURE, bench)
    show = tmp_path / "show"
    assert main(["bench", "show", str(bench), "--out", str(show)]) == 0
    assert not (show / "manifest.json").exists()
    from_show = folder_sections(show)
    from_bench = folder_sections(bench)
    assert from_show and [s.kind for s in from_show] == [s.kind for s in from_bench]
    assert (
        from_show[0].tables()["Models × languages"].rows == from_bench[0].tables()["Models × languages"].rows
    )
    # Once the bench folder is gone the show folder is listed with why, not dropped.
    shutil.rmtree(bench)
    got = gather([show])
    assert got.sections == []
    ((path, why),) = got.skipped
    assert path == str(show) and "output of bench show" in why and str(bench) in why
    write_report([show], tmp_path / "r.html")


# route is no dataset folder: its own section (routing table) is tested in tests/route.
@pytest.mark.parametrize("stage", ["extend", "prefer"])
def test_a_stage_without_blocks_of_its_own_shows_the_runner_section(tmp_path: Path, stage: str) -> None:
    m = {
        "stage": stage,
        "counts": {"read": 3, "lines": 3, "kept": 2, "rejected": 1, "quarantined": 0},
        "steps": [],
        "languages": {"de": {"in": 3, "kept": 2}},
    }
    (section,) = folder_sections(_folder(tmp_path, stage, json.dumps(m)))
    assert section.kind == stage and section.summary.startswith("3 rows read → 2 kept")


def test_a_manifests_warnings_are_on_the_page(tmp_path: Path) -> None:
    """The warnings a run prints and writes to its manifest (here: a shard missing from the
    input) head the stage's section; a reader of the page alone sees them (newcomer 32, item 9)."""
    from tagengo.report.hooks import add_warnings
    from tagengo.run.blocks import Note, Section

    (tmp_path / "in").mkdir()
    row = {"messages": [{"role": "user", "content": "Wie spät ist es in Berlin?"}]}
    row["messages"].append({"role": "assistant", "content": "Schau bitte auf die Uhr, ich sehe sie nicht."})
    (tmp_path / "in" / "train-00000-of-00002.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    out = tmp_path / "cur"
    assert main(["curate", "--input", str(tmp_path / "in"), "--out", str(out)]) == 0
    (warning,) = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["warnings"]
    html = tmp_path / "r.html"
    assert main(["report", str(out), "--out", str(html)]) == 0
    first = folder_sections(out)[0].blocks[0]
    assert isinstance(first, Note) and first.text == f"warning: {warning}"
    assert first.source == "manifest.json (warnings)"
    page = html.read_text(encoding="utf-8")
    assert 'class="note warning"' in page and "train-*-of-00002.jsonl is missing" in page
    # A warning the stage's own hook already shows (route, train) is not shown twice.
    sections = [Section("a", "t", "f", "train", [Note("Warning: fell back to CPU", "x")])]
    add_warnings(sections, {"stage": "train", "warnings": ["fell back to CPU", "other"]}, tmp_path)
    assert [b.text for b in sections[0].blocks] == ["warning: other", "Warning: fell back to CPU"]
