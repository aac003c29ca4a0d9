"""Language codes from bench names, names for the judge sentence, near-language groups."""

from __future__ import annotations

import pytest

from tagengo.lang.bench_names import language_from_bench_name, language_name, normalize_code, same_language


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("mt_bench", "en"),
        ("de_mt_bench", "de"),
        ("ja_mt_bench", "ja"),
        ("mt_bench_DE", "de"),
        ("mt_bench_IT", "it"),
        ("japanese_mt_bench", "ja"),
        ("fr_tagengo_mini", "fr"),
        ("mt-bench-es", "es"),
        ("moral_bench", None),
        ("harder", None),
    ],
)
def test_language_from_bench_name(name: str, code: str | None) -> None:
    assert language_from_bench_name(name) == code


def test_codes_and_names() -> None:
    assert normalize_code("DE") == "de"
    assert normalize_code("zh-Hans") == "zh"
    assert normalize_code("Portuguese") == "pt"
    assert normalize_code("Elvish") is None
    assert language_name("ja") == "Japanese"
    assert language_name(None) is None


def test_near_languages_count_as_the_same() -> None:
    assert same_language("nb", "no")
    assert same_language("hr", "sr")
    assert not same_language("de", "en")


def test_one_language_table_for_the_project() -> None:
    """The gate's notion of "the same language" is curate's near-language table, no second one:
    docs/languages.md rejects grouping Danish with Norwegian and Czech with Slovak."""
    from tagengo.lang import bench_names
    from tagengo.lang.languages import NEAR_GROUPS

    assert not same_language("da", "no") and not same_language("no", "da")
    assert not same_language("cs", "sk")
    for group in NEAR_GROUPS:
        for a in group:
            assert all(same_language(a, b) for b in group)
    assert not hasattr(bench_names, "NEAR_GROUPS") and not hasattr(bench_names, "NAMES")


def test_no_broad_except_around_imports() -> None:
    import inspect

    from tagengo.lang import bench_names

    assert "except Exception" not in inspect.getsource(bench_names)
