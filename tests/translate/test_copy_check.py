"""An untranslated copy (the source sent back) is rejected with its own reason, in `translate`
and `translate --bench`; text that needs no translation (code, numbers, names, URLs) may come
back as it went. Why its own check: language ID skips texts under --lid-min-chars, so a short
copy passed (a newcomer's trial kept such rows)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tagengo.lang.langid import LanguageIdentifier
from tagengo.llm.translation.check import CheckConfig, TranslationCheck, copy_problem
from tagengo.llm.translation.protect import protect
from tagengo.translate.bench import translate_bench
from tagengo.translate.config import TranslateConfig
from tagengo.translate.stage import translate

from .test_stage import rows

BENCH = Path(__file__).parent / "fixtures" / "mt_bench"


def _copy(source: str, answer: str, src: str | None = "en", tgt: str = "de") -> str | None:
    return copy_problem(source, answer, protect(source).text, src, tgt)


@pytest.mark.parametrize(
    ("source", "answer", "expected"),
    [
        ("Good morning, my friend!", "Good morning, my friend!", "identical"),
        ("Good morning, my friend!", "  good MORNING my friend ", "identical"),  # case, spaces, punctuation
        (
            "Water them less often and keep them away from the heater in winter.",
            "Water them less often and keep them away from the heaters in winter.",
            "nearly identical",
        ),
        ("Good morning, my friend!", "Guten Morgen, mein Freund!", None),
        # Nothing to translate: code, numbers, URLs, names come back as they went.
        ("```python\nprint(1)\n```", "```python\nprint(1)\n```", None),
        ("3.14 * 2 = 6.28", "3.14 * 2 = 6.28", None),
        ("https://example.org/docs", "https://example.org/docs", None),
        ("Barack Obama", "Barack Obama", None),
        ("iPhone 15 Pro", "iPhone 15 Pro", None),
        # A copy with prose around its code is still a copy.
        ("Fix this: `ls -la`", "Fix this: `ls -la`", "identical"),
    ],
)
def test_copy_problem(source: str, answer: str, expected: str | None) -> None:
    assert _copy(source, answer) == expected


def test_a_copy_is_fine_when_the_languages_are_the_same_or_the_source_language_unknown() -> None:
    assert _copy("Good morning, my friend!", "Good morning, my friend!", "en", "en") is None
    assert _copy("Good morning, my friend!", "Good morning, my friend!", "en-GB", "en_US") is None
    assert _copy("Good morning, my friend!", "Good morning, my friend!", None) is None


def test_the_check_rejects_a_short_copy_that_language_id_skips() -> None:
    check = TranslationCheck(CheckConfig(), LanguageIdentifier())
    info: dict = {}
    reason = check.check(
        "Good morning, my friend!",
        "Good morning, my friend!",
        "de",
        info,
        "message 1 (user)",
        source_language="en",
    )
    assert reason == "untranslated copy of message 1 (user): identical to its source (en -> de)"
    assert info["copy_of_source"] == "identical" and "lid" not in info  # LID never looked at it
    assert (
        check.check(
            "Good morning, my friend!", "Guten Morgen, mein Freund!", "de", {}, "m", source_language="en"
        )
        is None
    )


def test_translate_rejects_a_copied_message_and_counts_the_reason(scripted_server, llm_options, tmp_path):
    server = scripted_server()
    src = tmp_path / "in.jsonl"
    lines = [
        {"id": "ok", "language": "en", "messages": [{"role": "user", "content": "Good morning, my friend!"}]},
        {
            "id": "copy",
            "language": "en",
            "messages": [{"role": "user", "content": "Good morning, friend! COPY"}],
        },
        # Only code and a URL: no call is made and the text is the row's, as before.
        {
            "id": "code",
            "language": "en",
            "messages": [{"role": "user", "content": "`ls -la` https://x.org/a"}],
        },
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in lines))
    result = translate(src, tmp_path / "out", TranslateConfig(to=["de"], **llm_options(server)))
    kept = {r["id"] for r in rows(tmp_path / "out", "data")}
    rejected = {r["id"]: r["reason"] for r in rows(tmp_path / "out", "rejected")}
    assert {"ok-de", "code-de"} <= kept
    assert rejected == {
        "copy-de": "untranslated copy of message 1 (user): identical to its source (en -> de)"
    }
    c = result.manifest["counts"]
    assert c["kept"] + c["rejected"] == c["read"] and c["rejected"] == 1


def test_translate_bench_leaves_out_a_copied_question(scripted_server, llm_options, tmp_path):
    bench = tmp_path / "mt_bench"
    shutil.copytree(BENCH, bench)
    q = {"question_id": 112, "category": "writing", "turns": ["Write a short poem about the sea. COPY"]}
    with (bench / "question.jsonl").open("a") as fh:
        fh.write(json.dumps(q) + "\n")
    server = scripted_server()
    report = translate_bench(bench, tmp_path / "out", "de", TranslateConfig(**llm_options(server)))
    reasons = {item["question_id"]: item["reason"] for item in report["left_out"]}
    assert reasons["112"] == (
        "untranslated copy of question.jsonl question 112 turns.0: identical to its source (en -> de)"
    )
