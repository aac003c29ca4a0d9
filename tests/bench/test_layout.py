"""Bench folders: FastChat and MT-Bench-X layouts, languages from names, references."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tagengo.errors import InputError
from tagengo.io.bench_layout import (
    bench_dirs,
    judgment_file_name,
    open_bench,
    open_benches,
    parse_judgment_file_name,
    safe_name,
)

from .conftest import FIXTURES


def test_language_from_folder_name_or_option() -> None:
    assert open_bench(FIXTURES / "mt_bench").language == "en"
    de = open_bench(FIXTURES / "mt_bench_DE")
    assert (de.language, de.language_source) == ("de", "folder name")
    opt = open_bench(FIXTURES / "mt_bench", "Japanese")
    assert (opt.language, opt.language_source) == ("ja", "option")
    with pytest.raises(InputError, match="--language 'Elvish'"):
        open_bench(FIXTURES / "mt_bench", "Elvish")


def test_language_id_decides_when_the_name_does_not(fixture_copy: Callable[[str], Path]) -> None:
    src = fixture_copy("mt_bench_DE")
    renamed = src.with_name("toy_set")
    src.rename(renamed)
    b = open_bench(renamed)
    assert (b.language, b.language_source) == ("de", "language ID")


def test_data_folder_expands_to_its_benches() -> None:
    names = [p.name for p in bench_dirs(FIXTURES)]
    assert names == ["mt_bench", "mt_bench_DE"]
    assert [b.language for b in open_benches([FIXTURES])] == ["en", "de"]
    with pytest.raises(InputError, match="neither it nor its sub-folders hold a question.jsonl"):
        bench_dirs(FIXTURES / "mt_bench" / "model_judgment")


def test_references_file_first_then_inline() -> None:
    en = open_bench(FIXTURES / "mt_bench")
    assert en.references("gpt-4") == {"2": ["51", "510"], "3": ["xs.reverse()", "xs[::-1]"]}
    de = open_bench(FIXTURES / "mt_bench_DE")
    refs = de.references("some-judge")  # no some-judge.jsonl: falls back to gpt-4.jsonl
    assert refs["111_DE"] == ["12 / 4 = 3", "12 / 8 = 1,5"]  # the file wins over the inline "3"
    assert refs["101_DE"] == ["Eva.", "Tom."]  # inline only
    assert "81_DE" not in refs
    with pytest.raises(InputError, match="reference answers not found"):
        de.references(reference_model="claude")


def test_prompts_file_beside_the_questions() -> None:
    assert (
        open_bench(FIXTURES / "mt_bench_DE").prompts_file()
        == FIXTURES / "mt_bench_DE" / "judge_prompts.jsonl"
    )
    assert open_bench(FIXTURES / "mt_bench").prompts_file() is None


def test_judgment_file_names() -> None:
    assert judgment_file_name("gpt-4", "single") == "gpt-4_single.jsonl"
    assert judgment_file_name("gpt-4", "pairwise-all", 3) == "gpt-4_pair.run3.jsonl"
    assert parse_judgment_file_name("gpt-4_single.run3.jsonl") == ("gpt-4", "single", 3)
    assert parse_judgment_file_name("org_m_pair.jsonl") == ("org_m", "pair", 1)
    assert parse_judgment_file_name("notes.jsonl") is None
    assert safe_name("Qwen/Qwen2-7B:latest") == "Qwen_Qwen2-7B_latest"


def test_missing_answers_name_the_models_that_have_some(fixture_copy: Callable[[str], Path]) -> None:
    b = open_bench(fixture_copy("mt_bench"))
    with pytest.raises(
        InputError, match=r"no answers for model 'zeta' in mt_bench \(models with answers: none\)"
    ):
        b.load_answers(["zeta"])
