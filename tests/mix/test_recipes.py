"""The recipe steps on the curated sample: exact counts, determinism, whole parallel groups."""

from __future__ import annotations

from collections import Counter, defaultdict

import pyarrow as pa
import pytest

from tagengo.errors import ConfigError
from tagengo.mix.config import MixConfig
from tagengo.mix.recipes import LanguageSample, build_steps, meta_value
from tagengo.records import table_to_records
from tagengo.run.dataset import read_table
from tagengo.run.options import build_config
from tagengo.run.sampling import CapConfig, PerLanguageCap


def run_steps(cfg: MixConfig, table: pa.Table) -> tuple[pa.Table, dict[str, str]]:
    """Apply a recipe's steps through their Arrow fast path, as the runner does; kept rows and
    {id: reason} of the dropped ones."""
    dropped: dict[str, str] = {}
    for step in build_steps(cfg):
        reasons = step.select(table)
        assert reasons is not None and len(reasons) == table.num_rows
        for rid, reason in zip(table.column("id").to_pylist(), reasons, strict=True):
            if reason is not None:
                dropped[rid] = reason
        table = table.filter(pa.array([r is None for r in reasons]))
    return table, dropped


def lang_counts(table: pa.Table) -> Counter:
    return Counter(table.column("language").to_pylist())


@pytest.fixture(scope="module")
def table(generated) -> pa.Table:
    return read_table(generated)


def test_multilingual_keeps_every_row(table) -> None:
    kept, dropped = run_steps(MixConfig(), table)
    assert kept.num_rows == table.num_rows and not dropped


def test_languages_and_no_english_keep_exactly_those_rows(table) -> None:
    counts = lang_counts(table)
    kept, dropped = run_steps(MixConfig(languages=["ja", "DE", "en"]), table)
    assert lang_counts(kept) == {lang: counts[lang] for lang in ("ja", "de", "en")}
    assert set(dropped.values()) == {f"language {lang} is not in the mix (ja,de,en)" for lang in counts} - {
        f"language {lang} is not in the mix (ja,de,en)" for lang in ("ja", "de", "en")
    }

    kept, dropped = run_steps(MixConfig(english=False), table)
    assert kept.num_rows == table.num_rows - counts["en"]
    assert "en" not in lang_counts(kept)
    assert Counter(dropped.values()) == {"English left out (--no-english)": counts["en"]}


def test_monolingual_keeps_one_language(table) -> None:
    kept, _ = run_steps(MixConfig(recipe="monolingual", languages=["ja"]), table)
    assert lang_counts(kept) == {"ja": lang_counts(table)["ja"]}


def test_sampled_cuts_every_language_to_the_smallest(table) -> None:
    counts = lang_counts(table)
    smallest = min(counts.values())
    kept, _ = run_steps(MixConfig(recipe="sampled"), table)
    assert lang_counts(kept) == {lang: smallest for lang in counts}

    # --min-rows leaves rare languages out, so they no longer set the size
    kept, dropped = run_steps(MixConfig(recipe="sampled", min_rows=5), table)
    big = {lang: n for lang, n in counts.items() if n >= 5}
    assert lang_counts(kept) == {lang: min(big.values()) for lang in big}
    rare = [lang for lang, n in counts.items() if n < 5]
    assert rare and any(
        f"language {rare[0]} has {counts[rare[0]]:,} rows, fewer than --min-rows 5" == r
        for r in dropped.values()
    )

    # --per-language N: N rows where a language has more, all of them where it has fewer
    kept, _ = run_steps(MixConfig(recipe="sampled", per_language=7, english=False), table)
    assert lang_counts(kept) == {lang: min(7, n) for lang, n in counts.items() if lang != "en"}


def test_sampled_is_deterministic_order_free_and_seeded(table) -> None:
    cfg = MixConfig(recipe="sampled", per_language=5)
    ids = set(run_steps(cfg, table)[0].column("id").to_pylist())
    assert ids == set(run_steps(cfg, table)[0].column("id").to_pylist())
    shuffled = table.take(pa.array(list(range(table.num_rows))[::-1]))
    assert ids == set(run_steps(cfg, shuffled)[0].column("id").to_pylist())
    other = set(
        run_steps(MixConfig(recipe="sampled", per_language=5, seed=7), table)[0].column("id").to_pylist()
    )
    assert len(other) == len(ids) and other != ids


def test_sampled_draws_the_same_rows_as_curates_cap(table) -> None:
    """One seeded-sample rule in the toolkit: mix's sample is curate's cap at the same size and seed."""
    cap = PerLanguageCap(CapConfig(max_per_language=6, seed=3))
    reasons = cap.select(table)
    from_cap = {rid for rid, r in zip(table.column("id").to_pylist(), reasons, strict=True) if r is None}
    kept, _ = run_steps(MixConfig(recipe="sampled", per_language=6, seed=3), table)
    assert set(kept.column("id").to_pylist()) == from_cap


def test_fast_path_and_record_path_agree(table) -> None:
    step = LanguageSample(MixConfig(recipe="sampled", per_language=4))
    reasons = step.select(table)
    kept, rejected = step.process(table_to_records(table))
    assert [r.id for r in kept] == [
        rid for rid, r in zip(table.column("id").to_pylist(), reasons, strict=True) if r is None
    ]
    assert sorted((r.record.id, r.reason) for r in rejected) == sorted(
        (rid, r) for rid, r in zip(table.column("id").to_pylist(), reasons, strict=True) if r is not None
    )


def _groups(table: pa.Table) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for lang, meta in zip(
        table.column("language").to_pylist(), table.column("meta").to_pylist(), strict=True
    ):
        g = meta_value(meta, "parallel_group")
        if g is not None:
            out[g].add(lang)
    return out


def test_parallel_keeps_complete_groups_whole(parallel) -> None:
    table = read_table(parallel)
    groups = _groups(table)
    complete = {g for g, langs in groups.items() if langs == {"en", "ru", "es"}}
    assert 0 < len(complete) < len(groups)  # the fixture has both kinds
    kept, dropped = run_steps(MixConfig(recipe="parallel"), table)
    kept_groups = _groups(kept)
    assert set(kept_groups) == complete
    assert all(langs == {"en", "ru", "es"} for langs in kept_groups.values())
    assert kept.num_rows == 3 * len(complete)  # one row per language per group
    assert Counter(lang_counts(kept).values()) == {len(complete): 3}
    reasons = Counter(dropped.values())
    incomplete = len(groups) - len(complete)
    assert (
        sum(n for r, n in reasons.items() if r.startswith("parallel group g") and r.endswith("lacks es"))
        == 2 * incomplete
    )
    grouped_rows = 3 * len(complete) + 2 * incomplete
    assert reasons["no parallel-group id (meta.parallel_group)"] == table.num_rows - grouped_rows

    # without --complete-groups the en+ru groups stay, still whole
    kept, _ = run_steps(MixConfig(recipe="parallel", complete_groups=False), table)
    assert set(_groups(kept)) == set(groups)


def test_parallel_sample_takes_whole_groups_deterministically(parallel) -> None:
    table = read_table(parallel)
    cfg = MixConfig(recipe="parallel", per_language=5, seed=11)
    kept, dropped = run_steps(cfg, table)
    assert lang_counts(kept) == {"en": 5, "ru": 5, "es": 5}
    assert all(langs == {"en", "ru", "es"} for langs in _groups(kept).values()) and len(_groups(kept)) == 5
    again, _ = run_steps(cfg, table.take(pa.array(list(range(table.num_rows))[::-1])))
    assert set(again.column("id").to_pylist()) == set(kept.column("id").to_pylist())
    assert any(r.startswith("parallel group not in the seeded sample of 5 of ") for r in dropped.values())


def test_parallel_with_language_selection_keeps_the_item_set_of_the_whole_parallel_set(parallel) -> None:
    table = read_table(parallel)
    groups = _groups(table)
    complete = {g for g, langs in groups.items() if langs == {"en", "ru", "es"}}
    # A group must have every language of the parallel set, whatever --languages selects:
    # the en+ru mix is over the same items as the en+ru+es one.
    kept, dropped = run_steps(MixConfig(recipe="parallel", languages=["en", "ru"]), table)
    assert set(_groups(kept)) == complete
    assert all(langs == {"en", "ru"} for langs in _groups(kept).values())
    assert any(r.endswith("lacks es") for r in dropped.values())
    # --group-languages names the languages a group needs: every group has en and ru.
    kept, _ = run_steps(
        MixConfig(recipe="parallel", languages=["en", "ru"], group_languages=["en", "RU"]), table
    )
    assert set(_groups(kept)) == set(groups)
    assert all(langs == {"en", "ru"} for langs in _groups(kept).values())


def test_meta_value_reads_nested_keys_from_json_or_dicts() -> None:
    assert meta_value('{"a": {"b": 12}}', "a.b") == "12"
    assert meta_value({"a": {"b": "x"}}, "a.b") == "x"
    assert meta_value('{"a": {"c": 1}}', "a.b") is None
    assert meta_value('{"parallel_group": ""}', "parallel_group") is None
    assert meta_value('{"parallel_group": null}', "parallel_group") is None


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            {"cfg__recipe": "monolingual"},
            "--languages: the monolingual recipe needs exactly one language",
        ),
        ({"cfg__recipe": "monolingual", "cfg__languages": "ja,de"}, "needs exactly one language"),
        ({"cfg__languages": "en,ja", "cfg__english": False}, "--english: --languages names en"),
        ({"cfg__per_language": 0}, "--per-language"),
    ],
)
def test_inconsistent_options_name_the_flag(flags, message) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        build_config(MixConfig, flags)


# -- the papers' mixtures: parallel-sampled, take, size ----------------------------------------


def test_parallel_sampled_keeps_every_complete_group_once_in_evenly_drawn_languages(parallel) -> None:
    table = read_table(parallel)
    groups = _groups(table)
    complete = {g for g, langs in groups.items() if langs == {"en", "ru", "es"}}
    cfg = MixConfig(recipe="parallel-sampled", seed=5)
    kept, dropped = run_steps(cfg, table)
    kept_groups = _groups(kept)
    # Every complete group exactly once: the total equals one monolingual set.
    assert set(kept_groups) == complete and kept.num_rows == len(complete)
    assert all(len(langs) == 1 for langs in kept_groups.values())
    counts = lang_counts(kept)
    assert set(counts) == {"en", "ru", "es"} and max(counts.values()) - min(counts.values()) <= 1
    assert sum(r.startswith("parallel-sampled: group g") for r in dropped.values()) == 2 * len(complete)
    step = next(s for s in build_steps(cfg) if s.name == "parallel_sampled")
    step.select(table)
    summary = step.summary()
    assert summary["items_in_two_languages"] == 0 and summary["kept_groups"] == len(complete)
    assert summary["per_language"] == dict(sorted(counts.items()))
    # Seeded and order-free.
    again, _ = run_steps(cfg, table.take(pa.array(list(range(table.num_rows))[::-1])))
    assert set(again.column("id").to_pylist()) == set(kept.column("id").to_pylist())
    other, _ = run_steps(MixConfig(recipe="parallel-sampled", seed=6), table)
    assert set(other.column("id").to_pylist()) != set(kept.column("id").to_pylist())


def test_size_down_samples_to_whole_parallel_groups(parallel) -> None:
    table = read_table(parallel)
    kept, dropped = run_steps(MixConfig(recipe="parallel", size=7), table)
    groups = _groups(kept)
    assert len(groups) == 7 and all(langs == {"en", "ru", "es"} for langs in groups.values())
    assert kept.num_rows == 21
    assert any(r.startswith("size: not in the seeded sample of 7 of ") for r in dropped.values())
    # Rows without a group are items of their own.
    kept, _ = run_steps(MixConfig(size=50), table)
    items = {g or rid for g, rid in zip(_group_column(kept), kept.column("id").to_pylist(), strict=True)}
    assert len(items) == 50


def _group_column(table: pa.Table) -> list[str | None]:
    return [meta_value(m, "parallel_group") for m in table.column("meta").to_pylist()]


def _with_sources(table: pa.Table) -> pa.Table:
    """Two sources, a and b, by id parity (the sample has one source only)."""
    sources = ["a" if int(rid[-1], 16) % 2 == 0 else "b" for rid in table.column("id").to_pylist()]
    return table.set_column(table.schema.get_field_index("source"), "source", pa.array(sources))


def test_take_combines_sources_with_counts_and_shares(table) -> None:
    mixed = _with_sources(table)
    n = Counter(mixed.column("source").to_pylist())
    kept, dropped = run_steps(MixConfig(take=["b=40"]), mixed)
    got = Counter(kept.column("source").to_pylist())
    assert got == {"a": n["a"], "b": 40}
    assert set(dropped.values()) == {"take: not in the seeded sample of 40 items of source b"}
    kept, _ = run_steps(MixConfig(take=["a=0.5", "b=10"]), mixed)
    assert Counter(kept.column("source").to_pylist()) == {"a": round(0.5 * n["a"]), "b": 10}
    # A single-language subset of the combination.
    kept, _ = run_steps(MixConfig(recipe="monolingual", languages=["ja"], take=["b=5"]), mixed)
    assert set(lang_counts(kept)) == {"ja"} and Counter(kept.column("source").to_pylist())["b"] <= 5


@pytest.mark.parametrize("entry", ["b", "b=0", "b=2.5", "=3", "b=x"])
def test_bad_take_entries_name_the_flag(entry) -> None:
    with pytest.raises(ConfigError, match="--take"):
        build_config(MixConfig, {"cfg__take": entry})
