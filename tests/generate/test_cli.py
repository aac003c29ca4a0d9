"""`tagengo generate`'s command line: every flag it accepts does something."""

from __future__ import annotations

from click.testing import CliRunner

from tagengo.generate.cli import command


def test_workers_is_not_accepted_since_generation_runs_in_one_process(tmp_path) -> None:
    # --workers used to be accepted and ignored; --concurrency is the knob.
    help_text = CliRunner().invoke(command, ["--help"]).output
    assert "--workers" not in help_text and "--concurrency" in help_text
    r = CliRunner().invoke(command, ["--input", "x.jsonl", "--out", str(tmp_path / "o"), "--workers", "4"])
    assert r.exit_code == 2 and "No such option '--workers'" in r.output


def test_actors_are_refused_without_ray(tmp_path):
    r = CliRunner().invoke(
        command, ["--input", "x.jsonl", "--out", str(tmp_path / "o"), "--actors", "4"], standalone_mode=False
    )
    assert r.exit_code != 0 and "--actors needs --executor ray" in str(r.exception)
