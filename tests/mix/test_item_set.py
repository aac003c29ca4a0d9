"""The Lima-X family of mixtures over one item set (issue #23, items 4-6).

A Lima-X-style input: 60 English items translated into de, fr, it and es, some translations
rejected, written the way `tagengo translate` writes a parallel set (its own expansion,
``ParallelSource``: the source row keeps its id, each translation is ``<id>-<lang>``, all share
``meta.parallel_group``; the rejected translations sit in ``rejected/``). Monolingual,
parallel (ENDEFRITES, DEFRITES) and parallel-sampled mixes of it must keep the same groups,
with even language counts, and their manifests must say so.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from tagengo.io.source import open_source
from tagengo.mix.cli import command
from tagengo.mix.config import MixConfig
from tagengo.mix.recipes import meta_value
from tagengo.mix.stage import mix
from tagengo.records import Record
from tagengo.run.dataset import read_table
from tagengo.run.runner import run_stage
from tagengo.run.steps import Filter, Mapper
from tagengo.translate.config import TranslateConfig
from tagengo.translate.expand import ParallelSource

TARGETS = ["de", "fr", "it", "es"]
LIMA_X = ["en", *TARGETS]
ITEMS = 60
#: Translations the "translator" failed, per language (item numbers): mono de has 52 items.
MISSING = {
    "de": {2, 9, 14, 21, 33, 40, 47, 55},
    "fr": {5, 14, 26, 38, 50, 59},
    "it": {3, 9, 17, 30, 44, 51, 57},
    "es": {5, 12, 23, 36, 47},
}
INCOMPLETE = {f"lima-{i:03d}" for i in set().union(*MISSING.values())}
COMPLETE = {f"lima-{i:03d}" for i in range(ITEMS)} - INCOMPLETE


class FakeTranslation(Mapper):
    """Stands in for the translator: the text, marked with its target language."""

    name = "translate"

    def map(self, row: Record) -> Record:
        if "translation" in row.meta:
            row.messages = [{**m, "content": f"[{row.language}] {m['content']}"} for m in row.messages]
        return row


class RejectSome(Filter):
    """Rejects the translations in MISSING with a reason of the kind translate gives."""

    name = "checks"

    def keep(self, row: Record) -> tuple[bool, str]:
        info = row.meta.get("translation")
        if info and int(info["source_id"].rsplit("-", 1)[1]) in MISSING[info["to"]]:
            return False, f"message 1 (user) is not in {info['to']}: language ID says en (0.93)"
        return True, ""


def write_items(path: Path, n: int, prefix: str = "lima") -> Path:
    with path.open("w") as fh:
        for i in range(n):
            row = {
                "id": f"{prefix}-{i:03d}",
                "source": prefix,
                "language": "en",
                "messages": [
                    {"role": "user", "content": f"Question {i}: how does one do thing number {i} well?"},
                    {"role": "assistant", "content": f"Answer {i}: carefully, one step at a time."},
                ],
                "meta": {},
            }
            fh.write(json.dumps(row) + "\n")
    return path


@pytest.fixture(scope="module")
def lima(tmp_path_factory) -> Path:
    """The translated set as a dataset folder of stage `translate`."""
    tmp = tmp_path_factory.mktemp("lima")
    cfg = TranslateConfig(to=TARGETS, source_language="en")
    source = ParallelSource.over(open_source(write_items(tmp / "lima.jsonl", ITEMS)), cfg, None)
    out = tmp / "translated"
    run_stage(
        stage="translate",
        config=cfg,
        source=source,
        steps=[FakeTranslation(), RejectSome()],
        out=out,
        workers=1,
        progress=False,
        extra_manifest={"translate": {"languages": TARGETS}},
    )
    return out


def groups_of(folder: Path) -> dict[str, set[str]]:
    """{group id: its languages} of a folder's kept rows."""
    table = read_table(folder)
    out: dict[str, set[str]] = {}
    for lang, meta in zip(
        table.column("language").to_pylist(), table.column("meta").to_pylist(), strict=True
    ):
        out.setdefault(meta_value(meta, "parallel_group"), set()).add(lang)
    return out


def langs(folder: Path) -> Counter:
    return Counter(read_table(folder).column("language").to_pylist())


def summary(manifest: dict, step: str) -> dict:
    return next(s for s in manifest["steps"] if s["name"] == step)["summary"]


def run(lima: Path, out: Path, **cfg) -> dict:
    return mix(lima, out, MixConfig(**cfg), workers=1, progress=False).manifest


VARIANTS = {
    "mono-en": {"recipe": "monolingual", "languages": ["en"]},
    "mono-de": {"recipe": "monolingual", "languages": ["de"]},
    "ENDEFRITES": {"recipe": "parallel", "languages": LIMA_X},
    "DEFRITES": {"recipe": "parallel", "languages": TARGETS},
    "ENDEFRITES-sampled": {"recipe": "parallel-sampled", "languages": LIMA_X},
    "DEFRITES-sampled": {"recipe": "parallel-sampled", "english": False},
    "multilingual": {},
}


def test_the_fixture_is_a_translate_folder_with_rejected_translations(lima) -> None:
    m = json.loads((lima / "manifest.json").read_text())
    assert m["stage"] == "translate"
    assert langs(lima) == {lang: ITEMS - len(MISSING.get(lang, ())) for lang in LIMA_X}
    assert m["counts"]["rejected"] == sum(len(v) for v in MISSING.values())
    table = read_table(lima)
    assert "lima-007" in table.column("id").to_pylist() and "lima-007-de" in table.column("id").to_pylist()
    assert 0 < len(COMPLETE) < ITEMS


def test_every_lima_x_variant_draws_from_the_complete_groups(lima, tmp_path) -> None:
    manifests = {name: run(lima, tmp_path / name, **cfg) for name, cfg in VARIANTS.items()}
    for name in VARIANTS:
        assert set(groups_of(tmp_path / name)) == COMPLETE, name
    # The manifests show it: one count, one hash.
    item_sets = {name: summary(m, "item_set") for name, m in manifests.items()}
    assert {s["items"] for s in item_sets.values()} == {len(COMPLETE)}
    assert len({s["items_sha256"] for s in item_sets.values()}) == 1
    # Mono: one row per item; parallel: every language of every item.
    assert langs(tmp_path / "mono-de") == {"de": len(COMPLETE)}
    assert langs(tmp_path / "mono-en") == {"en": len(COMPLETE)}
    assert langs(tmp_path / "ENDEFRITES") == {lang: len(COMPLETE) for lang in LIMA_X}
    assert langs(tmp_path / "DEFRITES") == {lang: len(COMPLETE) for lang in TARGETS}
    # Sampled: each item once, the languages within one of each other, as the manifest says.
    for name, languages in (("ENDEFRITES-sampled", LIMA_X), ("DEFRITES-sampled", TARGETS)):
        got = langs(tmp_path / name)
        assert set(got) == set(languages) and sum(got.values()) == len(COMPLETE)
        assert max(got.values()) - min(got.values()) <= 1, got
        assert summary(manifests[name], "parallel_sampled")["per_language"] == dict(sorted(got.items()))
        assert summary(manifests[name], "item_set")["rows_per_language"] == dict(sorted(got.items()))
        assert {k: v["kept"] for k, v in manifests[name]["languages"].items() if v["kept"]} == got


def test_rows_of_incomplete_groups_are_rejected_with_the_missing_language(lima, tmp_path) -> None:
    m = run(lima, tmp_path / "mono-en", **VARIANTS["mono-en"])
    s = summary(m, "complete_groups")
    assert s["groups"] == ITEMS and s["complete_groups"] == len(COMPLETE)
    assert s["incomplete_groups"] == len(INCOMPLETE)
    # a translate output: the targets are the group languages (each group has its English source)
    assert s["group_languages"] == sorted(TARGETS)
    assert s["basis"] == "translation targets (meta.translation)"
    assert s["groups_lacking"] == {lang: len(v) for lang, v in sorted(MISSING.items())}
    rejected = read_table(tmp_path / "mono-en", "rejected").to_pylist()
    by_id = {r["id"]: r for r in rejected}
    # item 14 lacks de and fr; all of its rows are rejected, in whatever language
    for rid in ("lima-014", "lima-014-it", "lima-014-es"):
        assert by_id[rid]["step"] == "complete_groups"
        assert by_id[rid]["reason"] == "parallel group lima-014 lacks de,fr"
    assert by_id["lima-005"]["reason"] == "parallel group lima-005 lacks es,fr"
    assert m["counts"]["kept"] + m["counts"]["rejected"] == m["counts"]["read"]


def test_opting_out_keeps_incomplete_groups(lima, tmp_path) -> None:
    run(lima, tmp_path / "mono-de", complete_groups=False, **VARIANTS["mono-de"])
    assert langs(tmp_path / "mono-de") == {"de": ITEMS - len(MISSING["de"])}
    run(lima, tmp_path / "par", recipe="parallel", complete_groups=False)
    assert len(groups_of(tmp_path / "par")) == ITEMS
    # --group-languages narrows what a group needs: en+de groups, the same for mono and parallel.
    en_de = {f"lima-{i:03d}" for i in range(ITEMS)} - {f"lima-{i:03d}" for i in MISSING["de"]}
    for name, cfg in (
        ("mono-en", VARIANTS["mono-en"]),
        ("en-de", {"recipe": "parallel", "languages": ["en", "de"]}),
    ):
        m = run(lima, tmp_path / f"gl-{name}", group_languages=["en", "de"], **cfg)
        assert set(groups_of(tmp_path / f"gl-{name}")) == en_de
        assert summary(m, "complete_groups")["basis"] == "--group-languages"


def test_items_translated_from_two_languages_need_only_the_targets(tmp_path) -> None:
    """A set translated from English and Japanese items (`tagengo translate` on a multilingual
    folder): a group is complete with every target, whatever its source language."""
    path = write_items(tmp_path / "items.jsonl", 8, prefix="item")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row in rows[4:]:
        row["language"] = "ja"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = TranslateConfig(to=["de", "fr"])
    source = ParallelSource.over(open_source(path), cfg, None)
    out = tmp_path / "translated"
    # item 1 (en) and item 6 (ja) lose their French translation
    missing = {"de": set(), "fr": {1, 6}}

    class Reject(Filter):
        name = "checks"

        def keep(self, row: Record) -> tuple[bool, str]:
            info = row.meta.get("translation")
            ok = not (info and int(info["source_id"].rsplit("-", 1)[1]) in missing[info["to"]])
            return ok, "" if ok else "rejected"

    run_stage(
        stage="translate", config=cfg, source=source, steps=[Reject()], out=out, workers=1, progress=False
    )
    m = run(out, tmp_path / "mono-de", recipe="monolingual", languages=["de"])
    assert summary(m, "complete_groups")["group_languages"] == ["de", "fr"]
    good = {f"item-{i:03d}" for i in range(8)} - {"item-001", "item-006"}
    assert set(groups_of(tmp_path / "mono-de")) == good
    run(out, tmp_path / "par", recipe="parallel", languages=["de", "fr"])
    assert set(groups_of(tmp_path / "par")) == good
    run(out, tmp_path / "mono-ja", recipe="monolingual", languages=["ja"])
    assert set(groups_of(tmp_path / "mono-ja")) == {"item-004", "item-005", "item-007"}


def test_size_picks_the_same_groups_in_every_recipe(lima, tmp_path) -> None:
    chosen: dict[str, set[str]] = {}
    hashes = set()
    for name, cfg in VARIANTS.items():
        m = run(lima, tmp_path / name, size=20, seed=3, **cfg)
        chosen[name] = set(groups_of(tmp_path / name))
        hashes.add(summary(m, "item_set")["items_sha256"])
    first = chosen["ENDEFRITES"]
    assert len(first) == 20 and first <= COMPLETE
    assert all(groups == first for groups in chosen.values()), {k: len(v & first) for k, v in chosen.items()}
    assert len(hashes) == 1
    got = langs(tmp_path / "ENDEFRITES-sampled")
    assert got == dict.fromkeys(LIMA_X, 4)
    # --per-language N of the parallel recipe picks the groups --size N picks
    run(lima, tmp_path / "per-language", recipe="parallel", per_language=20, seed=3)
    assert set(groups_of(tmp_path / "per-language")) == first


def test_parallel_sampled_size_is_even_and_the_manifest_reports_what_was_written(tmp_path) -> None:
    """The issue's case: 5,000 groups in five languages, --size 1030."""
    n = 5_000
    path = tmp_path / "big.jsonl"
    with path.open("w") as fh:
        for i in range(n):
            for lang in LIMA_X:
                row = {
                    "id": f"item-{i}" if lang == "en" else f"item-{i}-{lang}",
                    "source": "big",
                    "language": lang,
                    "messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}],
                    "meta": {"parallel_group": f"item-{i}"},
                }
                fh.write(json.dumps(row) + "\n")
    m = run(path, tmp_path / "out", recipe="parallel-sampled", size=1030)
    got = langs(tmp_path / "out")
    assert sum(got.values()) == 1030 and set(got) == set(LIMA_X)
    assert max(got.values()) - min(got.values()) <= 1, got
    written = dict(sorted(got.items()))
    assert summary(m, "parallel_sampled")["per_language"] == written
    assert summary(m, "parallel_sampled")["kept_groups"] == 1030
    assert summary(m, "size") == {
        "items": n,
        "kept_items": 1030,
        "size": 1030,
        "drawn_from": "parallel groups",
    }
    assert summary(m, "item_set")["rows_per_language"] == written
    assert summary(m, "item_set")["items"] == 1030


def _output(args: list[str]) -> str:
    res = CliRunner().invoke(command, [*args, "--workers", "1", "--no-progress"])
    assert res.exit_code == 0, res.output
    return " ".join(res.output.split())


def test_the_cli_says_which_groups_were_left_out_and_prints_the_item_hash(lima, tmp_path) -> None:
    text = _output(
        ["--input", str(lima), "--out", str(tmp_path / "m"), "--recipe", "monolingual", "--languages", "de"]
    )
    assert f"{len(INCOMPLETE)} of {ITEMS} parallel groups lack a language" in text
    assert "de 8, es 5, fr 6, it 7" in text and "--no-complete-groups" in text
    digest = summary(json.loads((tmp_path / "m" / "manifest.json").read_text()), "item_set")["items_sha256"]
    assert f"item set: {len(COMPLETE)} items ({len(COMPLETE)} parallel groups), sha256 {digest[:16]}" in text


def test_sampled_warns_when_the_smallest_language_sets_the_size(generated, tmp_path) -> None:
    counts = langs(generated)
    smallest = min(counts, key=lambda lang: (counts[lang], lang))
    text = _output(["--input", str(generated), "--out", str(tmp_path / "s"), "--recipe", "sampled"])
    kept = counts[smallest] * len(counts)
    n = f"{counts[smallest]} row" + ("s" if counts[smallest] != 1 else "")
    assert f"sampled cut every language to {n}, because its smallest language, {smallest} (" in text
    # The language's own count, then the mix's totals, each named (they were run together).
    assert (
        f"), has only {n}; {kept:,} of the {sum(counts.values()):,} rows sampled in {len(counts)} languages are kept"
        in text
    )
    assert "--min-rows N" in text and "--per-language N" in text
    m = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert summary(m, "per_language_sample")["limiting_language"] == smallest
    # A size given with --per-language is the user's choice: no warning.
    text = _output(
        [
            "--input",
            str(generated),
            "--out",
            str(tmp_path / "p"),
            "--recipe",
            "sampled",
            "--per-language",
            "3",
        ]
    )
    assert "smallest language" not in text


def test_a_real_translate_run_gives_mono_and_parallel_mixes_over_one_item_set(
    scripted_server, llm_options, tmp_path
) -> None:
    """The layout check against the stage itself: `tagengo translate` against the scripted
    server, one item's translations rejected (the translator answers in English)."""
    from tagengo.translate.stage import translate

    items = write_items(tmp_path / "items.jsonl", 6, prefix="item")
    lines = items.read_text().splitlines()
    bad = json.loads(lines[2])
    bad["messages"][0]["content"] += " WRONGLANG"
    lines[2] = json.dumps(bad)
    items.write_text("\n".join(lines) + "\n")
    cfg = TranslateConfig(to=TARGETS, source_language="en", **llm_options(scripted_server()))
    par = translate(items, tmp_path / "translated", cfg, progress=False).out
    assert langs(par)["en"] == 6 and langs(par)["de"] == 5
    good = {f"item-{i:03d}" for i in range(6)} - {"item-002"}
    for name in ("mono-en", "mono-de", "ENDEFRITES", "ENDEFRITES-sampled"):
        m = run(par, tmp_path / name, **VARIANTS[name])
        assert set(groups_of(tmp_path / name)) == good, name
        assert summary(m, "item_set")["items"] == 5
    got = langs(tmp_path / "ENDEFRITES-sampled")
    assert sum(got.values()) == 5 and max(got.values()) == 1
