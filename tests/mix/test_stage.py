"""`tagengo mix` end to end: dataset folders in, a reconciled dataset folder out; several inputs."""

from __future__ import annotations

from collections import Counter

import pytest
from click.testing import CliRunner

from tagengo.errors import ConfigError, InputError
from tagengo.mix.cli import command
from tagengo.mix.config import MixConfig
from tagengo.mix.stage import mix
from tagengo.run.dataset import read_manifest, read_table


def langs(folder) -> Counter:
    return Counter(read_table(folder).column("language").to_pylist())


def test_sampled_mix_writes_a_reconciled_folder(generated, tmp_path) -> None:
    counts = langs(generated)
    out = tmp_path / "mixed"
    result = mix(
        generated, out, MixConfig(recipe="sampled", per_language=8, english=False), workers=1, progress=False
    )
    m = read_manifest(out)
    assert m == result.manifest and m["stage"] == "mix" and m["recipe"] == "sampled"
    assert m["inputs"] == [str(generated)]
    expected = {lang: min(8, n) for lang, n in counts.items() if lang != "en"}
    assert langs(out) == expected
    c = m["counts"]
    assert c["read"] == sum(counts.values()) and c["kept"] == sum(expected.values())
    assert c["kept"] + c["rejected"] == c["read"]
    steps = {s["name"]: s for s in m["steps"]}
    assert steps["languages"]["removed"] == counts["en"]
    assert steps["per_language_sample"]["summary"]["per_language"] == 8
    rejected = read_table(out, "rejected")
    assert rejected.num_rows == c["rejected"]
    assert set(rejected.column("step").to_pylist()) == {"languages", "per_language_sample"}
    # same input, same config: nothing to do
    assert mix(
        generated, out, MixConfig(recipe="sampled", per_language=8, english=False), workers=1, progress=False
    ).up_to_date


def test_several_inputs_are_concatenated_in_order(halves, generated, tmp_path) -> None:
    a, b = halves
    out = tmp_path / "both"
    result = mix([a, b], out, MixConfig(), workers=1, progress=False)
    ids = read_table(out).column("id").to_pylist()
    assert ids == read_table(a).column("id").to_pylist() + read_table(b).column("id").to_pylist()
    assert sorted(ids) == sorted(read_table(generated).column("id").to_pylist())
    assert result.manifest["inputs"] == [str(a), str(b)]
    assert len(result.manifest["input"]["files"]) == 2
    summaries = [s.get("summary", {}) for s in result.manifest["steps"]]
    assert not any("duplicate_ids" in s for s in summaries)

    # the other order gives the other row order, and the sample does not depend on it
    cfg = MixConfig(recipe="sampled", per_language=3)
    ab = mix([a, b], tmp_path / "ab", cfg, workers=1, progress=False)
    ba = mix([b, a], tmp_path / "ba", cfg, workers=1, progress=False)
    assert set(read_table(ab.out).column("id").to_pylist()) == set(
        read_table(ba.out).column("id").to_pylist()
    )


def test_duplicate_ids_across_inputs_are_reported(halves, generated, tmp_path) -> None:
    a, _ = halves
    result = mix([generated, a], tmp_path / "dup", MixConfig(), workers=1, progress=False)
    summary = next(s for s in result.manifest["steps"] if s["name"] == "languages")["summary"]
    assert summary["duplicate_ids"] == read_table(a).num_rows


def test_bad_inputs_are_refused_with_the_path(generated, tmp_path) -> None:
    with pytest.raises(ConfigError, match="given twice"):
        mix([generated, generated], tmp_path / "x", MixConfig(), workers=1, progress=False)
    jsonl = tmp_path / "prompts.jsonl"
    jsonl.write_text('{"prompt": "hello there"}\n')
    with pytest.raises(InputError, match="different formats"):
        mix([generated, jsonl], tmp_path / "y", MixConfig(), workers=1, progress=False)
    with pytest.raises(InputError, match="no such file"):
        mix([tmp_path / "missing"], tmp_path / "z", MixConfig(), workers=1, progress=False)


def test_cli_mixes_two_folders(halves, tmp_path) -> None:
    a, b = halves
    out = tmp_path / "cli"
    res = CliRunner().invoke(
        command,
        [
            "--input",
            str(a),
            "--input",
            str(b),
            "--out",
            str(out),
            "--recipe",
            "sampled",
            "--per-language",
            "3",
            "--no-english",
            "--workers",
            "1",
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    m = read_manifest(out)
    assert m["config"]["per_language"] == 3 and m["config"]["english"] is False
    counts = langs(a) + langs(b)
    assert langs(out) == {lang: min(3, n) for lang, n in counts.items() if lang != "en"}


def test_cli_reports_a_bad_option_by_its_flag(generated, tmp_path) -> None:
    res = CliRunner().invoke(
        command, ["--input", str(generated), "--out", str(tmp_path / "m"), "--recipe", "monolingual"]
    )
    assert res.exit_code != 0
    assert isinstance(res.exception, ConfigError) and "--languages" in str(res.exception)


def test_a_language_with_no_rows_gives_a_complete_empty_folder(generated, tmp_path) -> None:
    from folder_checks import assert_complete_folder

    # The case was --languages ko on a folder with no Korean: here Yoruba is the absent one.
    assert "yo" not in langs(generated)
    n = sum(langs(generated).values())
    for recipe in ("multilingual", "sampled", "parallel"):
        out = tmp_path / recipe
        mix(generated, out, MixConfig(recipe=recipe, languages=["yo"]), workers=1, progress=False)
        m = assert_complete_folder(out, kept=0, rejected=n, quarantined=0)
        steps = {s["name"]: s for s in m["steps"]}
        assert steps["complete_groups"]["removed"] == 0  # no parallel groups: nothing to complete
        assert steps["languages"]["removed"] == n
    r = CliRunner().invoke(
        command,
        ["--input", str(generated), "--out", str(tmp_path / "cli"), "--languages", "yo", "--workers", "1"],
    )
    assert r.exit_code == 0, r.output
    assert_complete_folder(tmp_path / "cli", kept=0, rejected=n, quarantined=0)
