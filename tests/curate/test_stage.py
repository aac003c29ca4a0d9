"""`tagengo curate` end to end on the bundled sample: every planted case lands where planted.json
says, in both presets, and the folder's counts and reports agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tagengo.cli import cli
from tagengo.curate.stage import bundled_sample, curate, preset_config
from tagengo.run.dataset import read_manifest, read_table

PLANTED = json.loads((bundled_sample().parent / "planted.json").read_text())
# planted.json names steps by what they test; the pipeline's step names:
STEP = {
    "moderation": "moderation",
    "language_label": "unknown_language",
    "anonymised": "anonymised",
    "model_mention": "model_mentions",
    "langid": "language_id",
    "length": "length",
}


@pytest.fixture(scope="module", params=["default", "tagengo-2024"])
def run(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param) / "curated"
    # cap off: the planted cases, not the sample's size, decide here (the cap has its own tests)
    result = curate(
        None, out, preset_config(request.param, cap={"enabled": False}), workers=2, progress=False
    )
    return request.param, result


def _outcomes(out: Path) -> dict[str, tuple[str, str]]:
    """id -> ("kept", "") or (step, reason)."""
    outcome = {i: ("kept", "") for i in read_table(out, "data").column("id").to_pylist()}
    rej = read_table(out, "rejected")
    for i, step, reason in zip(
        rej.column("id").to_pylist(), rej.column("step").to_pylist(), rej.column("reason").to_pylist()
    ):
        outcome[i] = (step, reason)
    return outcome


def test_counts_reconcile_and_reports_exist(run) -> None:
    _, result = run
    m = read_manifest(result.out)
    c = m["counts"]
    assert c["lines"] == PLANTED["rows"]
    assert c["read"] + c["quarantined"] == c["lines"]
    assert c["kept"] + c["rejected"] == c["read"]
    for prev, step in zip(m["steps"], m["steps"][1:]):
        assert prev["out"] == step["in"]
    assert m["steps"][-1]["out"] == c["kept"]
    assert sum(1 for v in m["languages"].values() if v["kept"]) >= 20
    for name in ("funnel.md", "funnel.json", "languages.md", "languages.csv", "languages.png"):
        assert (result.out / name).stat().st_size > 0
    funnel = (result.out / "funnel.md").read_text()
    assert f"| read |  | {c['read']:,} |" in funnel


def test_every_planted_case_lands_where_planted(run) -> None:
    preset, result = run
    outcome = _outcomes(result.out)
    checked = 0
    for name, case in PLANTED["cases"].items():
        expected = case[preset]
        step = STEP.get(case["step"])
        if step is None or expected is None:  # dedup cases, or "either way" cases
            continue
        for rid in case["ids"]:
            got_step, reason = outcome[rid]
            if expected == "keep":
                # kept by this step; a later step may still drop it for its own reason
                assert got_step != step, (name, rid, reason)
            else:
                assert got_step == step, (name, rid, got_step, reason)
            checked += 1
    assert checked >= 60


def test_presets_differ_on_the_traps(run) -> None:
    preset, result = run
    outcome = _outcomes(result.out)
    name_trap = PLANTED["cases"]["name_substring_trap"]["ids"]
    model_trap = PLANTED["cases"]["model_substring_trap"]["ids"]
    if preset == "tagengo-2024":
        assert all(outcome[i][0] == "anonymised" for i in name_trap)
        assert all(outcome[i][0] == "model_mentions" for i in model_trap)
    else:
        assert not any(outcome[i][0] in ("anonymised", "model_mentions") for i in name_trap + model_trap)


def test_cli_runs_on_the_bundled_sample_and_second_run_is_a_no_op(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    first = runner.invoke(
        cli, ["curate", "--out", str(out), "--cap-max-per-language", "50", "--workers", "1"]
    )
    assert first.exit_code == 0, first.output
    m = read_manifest(out)
    assert m["config"]["cap"]["max_per_language"] == 50
    assert max(v["kept"] for v in m["languages"].values()) == 50
    second = runner.invoke(
        cli, ["curate", "--out", str(out), "--cap-max-per-language", "50", "--workers", "1"]
    )
    assert second.exit_code == 0
    assert "up to date" in second.output
    assert read_manifest(out)["finished_at"] == m["finished_at"]


def test_yaml_config_and_flags_precedence(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("langid:\n  threshold: 0.5\ncap:\n  max_per_language: 7\n")
    out = tmp_path / "y"
    res = CliRunner().invoke(
        cli,
        ["curate", "--out", str(out), "--config", str(cfg), "--cap-max-per-language", "9", "--workers", "1"],
    )
    assert res.exit_code == 0, res.output
    m = read_manifest(out)
    assert m["config"]["langid"]["threshold"] == 0.5  # from the file
    assert m["config"]["cap"]["max_per_language"] == 9  # the flag wins over the file


def test_bad_config_value_is_one_sentence(tmp_path: Path) -> None:
    from tagengo.cli import main

    code = main(["curate", "--out", str(tmp_path / "x"), "--langid-threshold", "1.5"])
    assert code == 2


@pytest.mark.embedder
def test_step_8_removes_planted_duplicates_and_keeps_translations(tmp_path: Path) -> None:
    out = tmp_path / "dedup"
    cfg = preset_config(
        "default", cap={"enabled": False}, dedup={"enabled": True, "cache_dir": str(tmp_path / "cache")}
    )
    result = curate(None, out, cfg, workers=1, progress=False)
    assert result.manifest["steps"][-1]["name"] == "dedup"
    outcome = _outcomes(out)
    for name in ("dup_exact", "dup_whitespace_case"):
        for rid in PLANTED["cases"][name]["ids"]:
            assert outcome[rid][0] == "dedup", (name, rid, outcome[rid])
            assert "duplicate of" in outcome[rid][1]
    # The request check (the default) merges the paraphrase whose content words match its
    # original's ("how to fall asleep faster at night??") and, since issue 21, three that say the
    # same request in other words ("Bewerbungs-"/"Vorstellungsgespräch", the Russian and Chinese
    # ones), which the content key of issue 10 kept apart. Two stay: "What can I do to fall asleep
    # more quickly" and "¿Qué hago para dormir mejor?" move their prompt as far as a neutral noun
    # would (docs/dedup.md: the bundled embedder cannot tell such synonyms from other words).
    paraphrases = PLANTED["cases"]["dup_paraphrase"]["ids"]
    same_words = {
        "9007a263ea84c99504d42a3dfa3aa5d4",
        "36f251be9f0ebdcf368f815929b11669",
        "144f55c711398ae6b969ab029c082434",
        "08e19d6f8a6f79cb1c41374195274e6c",
    }
    assert {rid for rid in paraphrases if outcome[rid][0] == "dedup"} == same_words
    for rid in PLANTED["cases"]["dup_translation"]["ids"]:
        assert outcome[rid][0] != "dedup", rid
    removed = result.manifest["steps"][-1]["removed"]
    planted = sum(len(PLANTED["cases"][n]["ids"]) for n in ("dup_exact", "dup_whitespace_case"))
    assert removed == planted + len(same_words)


def test_paper_dedup_needs_a_model_path(tmp_path: Path) -> None:
    from tagengo.errors import ConfigError

    with pytest.raises(ConfigError, match="--dedup-embedder-path"):
        preset_config("tagengo-2024", dedup={"enabled": True})


def test_bad_model_path_fails_at_once_with_one_sentence(tmp_path: Path, capsys) -> None:
    from tagengo.cli import main

    code = main(["curate", "--out", str(tmp_path / "x"), "--langid-model-path", str(tmp_path / "nope.ftz")])
    assert code == 2
    assert "language-ID model not found" in capsys.readouterr().err


FLAGGED = {
    "conversation_id": "f" * 32,
    "model": "vicuna-13b",
    "conversation": [{"role": "user", "content": "Tell me how to hurt someone."}],
    "turn": 1,
    "language": "English",
    "openai_moderation": [
        {"categories": {"violence": True}, "category_scores": {"violence": 0.9}, "flagged": True}
    ],
    "redacted": False,
}


@pytest.mark.parametrize("preset", ["default", "tagengo-2024"])
def test_a_log_whose_only_row_is_flagged_gives_a_complete_empty_folder(tmp_path, preset) -> None:
    from folder_checks import assert_complete_folder

    src = tmp_path / "flagged.jsonl"
    src.write_text(json.dumps(FLAGGED) + "\n")
    result = curate(src, tmp_path / "out", preset_config(preset), workers=1, progress=False)
    m = assert_complete_folder(result.out, kept=0, rejected=1, quarantined=0)
    assert m["steps"][1]["name"] == "moderation" and m["steps"][1]["removed"] == 1
    assert (result.out / "languages.md").is_file()


def test_a_log_with_every_line_unreadable_gives_a_complete_empty_folder(tmp_path) -> None:
    from folder_checks import assert_complete_folder

    src = tmp_path / "broken.jsonl"
    src.write_text('{"conversation_id": "a", "conversation": [\n' + "not json\n" * 3)
    # No --format: nothing readable tells the format, and the lines are quarantined anyway.
    result = curate(src, tmp_path / "out", preset_config("default"), workers=2, progress=False)
    m = assert_complete_folder(result.out, kept=0, rejected=0, quarantined=4)
    assert {q["reason"].split(":")[0] for q in read_table(result.out, "quarantine").to_pylist()} == {
        "invalid JSON"
    }
    assert m["input"]["format"] == "messages"


def test_the_manifest_names_the_preset_of_the_config_actually_used(tmp_path) -> None:
    src = tmp_path / "one.jsonl"
    src.write_text(json.dumps({**FLAGGED, "openai_moderation": None}) + "\n")
    paper = curate(src, tmp_path / "a", preset_config("tagengo-2024"), workers=1, progress=False)
    assert paper.manifest["preset"] == "tagengo-2024" and "changed_from_preset" not in paper.manifest
    tweaked = curate(
        src,
        tmp_path / "b",
        preset_config("tagengo-2024", cap={"max_per_language": 10}),
        workers=1,
        progress=False,
    )
    assert tweaked.manifest["preset"] == "tagengo-2024"
    assert tweaked.manifest["changed_from_preset"] == {"cap.max_per_language": 10}
    named = curate(
        src, tmp_path / "c", preset_config("tagengo-2024"), preset="default", workers=1, progress=False
    )
    assert named.manifest["preset"] == "default"  # the caller's word, with what differs from it
    assert named.manifest["changed_from_preset"]["langid.rule"] == "exact"
    plain = curate(src, tmp_path / "d", workers=1, progress=False)
    assert plain.manifest["preset"] == "default" and "changed_from_preset" not in plain.manifest


def test_progress_off_a_terminal_is_plain_lines_not_one_per_row(tmp_path: Path, capsys, monkeypatch) -> None:
    """With stderr a log (pytest captures it), curate prints a progress line when one is due
    (the interval set tiny here) and one at the end, never one per row: the runner's rich bar
    would have shown nothing there until the end."""
    monkeypatch.setenv("TAGENGO_PROGRESS_INTERVAL", "0.000001")
    res = curate(None, tmp_path / "out", workers=1, chunk_rows=20)
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.startswith("curate: reading + filtering: ")]
    read = res.manifest["counts"]["read"] + res.manifest["counts"]["quarantined"]
    chunks = -(-read // 20)
    assert any(" elapsed · ETA " in x for x in lines), err
    assert lines[-1].startswith(f"curate: reading + filtering: {read:,} rows · done in "), lines
    assert 2 <= len(lines) <= chunks + 1  # at most one per chunk read, plus the end


def test_no_progress_means_no_lines(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("TAGENGO_PROGRESS_INTERVAL", "0.000001")
    curate(None, tmp_path / "out", workers=1, chunk_rows=20, progress=False)
    assert "reading + filtering" not in capsys.readouterr().err
