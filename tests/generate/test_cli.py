"""`tagengo generate`'s command line: every flag it accepts does something."""

from __future__ import annotations

from click.testing import CliRunner

from tagengo.generate.cli import command


def test_workers_is_the_ray_actors_and_concurrency_the_local_knob(tmp_path) -> None:
    # --workers was once accepted and ignored; now it is the Ray actors, as in every stage
    # (generate called them --actors), and refused without --executor ray (below).
    help_text = CliRunner().invoke(command, ["--help"]).output
    assert "--workers" in help_text and "--concurrency" in help_text and "--actors" not in help_text


def test_workers_are_refused_without_ray(tmp_path):
    r = CliRunner().invoke(
        command, ["--input", "x.jsonl", "--out", str(tmp_path / "o"), "--workers", "4"], standalone_mode=False
    )
    assert r.exit_code != 0 and "--workers needs --executor ray" in str(r.exception)
