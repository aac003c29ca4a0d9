"""export's --force (another stage's folder at --out), an export of 0 rows, and the help of
options nested in another stage's config (newcomer 32, item 15)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tagengo.cli import main
from tagengo.errors import ConfigError
from tagengo.mix.export import export
from tagengo.records import Record
from tagengo.run.steps import Filter

from .conftest import stage


class DropAll(Filter):
    name = "drop_all"

    def keep(self, row: Record) -> tuple[bool, str]:
        return False, "dropped by the test"


def test_export_into_another_stages_folder_needs_force(generated: Path, tmp_path: Path, capsys) -> None:
    taken = stage("split", generated, tmp_path / "taken", [DropAll()])
    with pytest.raises(ConfigError, match=r"holds a finished `split` folder.*pass --force"):
        export(generated, taken)
    assert (taken / "manifest.json").exists() and not (taken / "export.json").exists()
    assert main(["export", "--input", str(generated), "--out", str(taken)]) == 2
    assert "--force" in capsys.readouterr().err
    # --force replaces it: an export folder only, which the report shows as an export.
    assert main(["export", "--input", str(generated), "--out", str(taken), "--force"]) == 0
    assert (taken / "export.json").exists() and (taken / "train.jsonl").exists()
    assert not (taken / "manifest.json").exists() and not (taken / "data").exists()
    # An earlier export is no other stage's folder: exporting again needs no --force.
    assert main(["export", "--input", str(generated), "--out", str(taken)]) == 0


def test_an_export_of_0_rows_warns_on_stderr_and_in_its_manifest(
    curated: Path, generated: Path, tmp_path: Path
) -> None:
    empty = stage("split", generated, tmp_path / "empty", [DropAll()])
    res = CliRunner().invoke(main_command(), ["--input", str(empty), "--out", str(tmp_path / "e")])
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "e" / "export.json").read_text(encoding="utf-8"))
    (warning,) = m["warnings"]
    assert warning.startswith("0 rows written: the training files are empty; the input kept no rows")
    assert f"warning: {warning[:40]}" in res.stderr
    assert (tmp_path / "e" / "train.jsonl").read_text(encoding="utf-8") == ""
    # Rows there, every one skipped (curated rows hold no answer yet): the warning names skipped.jsonl.
    (warning,) = export(curated, tmp_path / "unanswered").manifest["warnings"]
    assert warning.endswith("were skipped (skipped.jsonl gives each one's reason).")
    full = export(generated, tmp_path / "ok").manifest
    assert "warnings" not in full and full["counts"]["train"] > 0


def main_command():
    from tagengo.mix.export_cli import command

    return command


def test_help_of_a_nested_stage_config_names_the_flags_of_this_command() -> None:
    """curate's --dedup-judge-band is dedup's --judge-band: its help names --dedup-judge-model,
    which curate accepts, not dedup's --judge-model, which it does not."""
    from tagengo.curate.cli import command as curate

    text = " ".join(CliRunner().invoke(curate, ["--help"], terminal_width=200).output.split())
    band = text[text.index("--dedup-judge-band") :][:300]
    assert "--dedup-judge-model, --dedup-judge-base-url" in band and "(--judge-model" not in band
    assert "--judge-model" not in text.replace("--dedup-judge-model", "")
