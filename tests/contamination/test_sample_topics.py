"""The default rules on the bundled sample against a question set that shares its topics.

``fixtures/sample_topics/question.jsonl``: 8 two-turn questions written for these tests on
topics the bundled LMSYS-schema sample talks about (sleep, sourdough bread, Python lists, dogs,
koalas, the printing press, drinks, a trip to Lisbon), none of them a question of the sample.
``fixtures/sample_topics_planted.jsonl``: for every first turn, a copy, a reformatted copy, a
quote inside a longer prompt, a paraphrase and translations into German, Chinese, Japanese and
French, all written for these tests.

The sample is the clean side: at most 1% of its rows may match. The loose preset (the rule
before issue 23: one shared character 13-gram, the cosine alone) flags several times that.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tagengo.contamination.config import PRESETS, ContaminationConfig
from tagengo.contamination.match import Matcher, load_targets
from tagengo.contamination.normalise import normalise

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BENCH = FIXTURES / "sample_topics"
PLANTED = FIXTURES / "sample_topics_planted.jsonl"
SAMPLE = Path(__file__).resolve().parents[2] / "src" / "tagengo" / "data" / "sample" / "lmsys_sample.jsonl"
LEXICAL = ["exact", "normalised", "ngram"]


def _sample_rows() -> list[list[str]]:
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [[m["content"] for m in r["conversation"] if m["role"] == "user"] for r in rows]


def _planted() -> list[dict]:
    return [json.loads(line) for line in PLANTED.read_text(encoding="utf-8").splitlines() if line.strip()]


def _run(checks, embed=None, **cfg):
    config = ContaminationConfig(benches=[str(BENCH)], checks=checks, **cfg)
    _, targets = load_targets(config.benches)
    kw = {}
    if embed is not None:
        from tagengo.contamination.match import (
            resolve_margin,
            resolve_same_language_threshold,
            resolve_threshold,
        )

        embedder = embed.__self__
        threshold, _ = resolve_threshold(config, embedder)
        kw = {
            "threshold": threshold,
            "margin": resolve_margin(config, embedder)[0],
            "same_language_threshold": resolve_same_language_threshold(config, embedder, threshold),
        }
    m = Matcher(targets, config, embed=embed, **kw)
    sample = _sample_rows()
    planted = _planted()
    results = m.match(sample + [[p["prompt"]] for p in planted])
    flagged = [(rows, r) for rows, r in zip(sample, results[: len(sample)], strict=True) if r.matches]
    found = Counter()
    for p, r in zip(planted, results[len(sample) :], strict=True):
        if any(x.target.question_id == p["question_id"] for per in r.matches.values() for x in per.values()):
            found[p["kind"], p["language"]] += 1
    return len(sample), flagged, found


def _describe(flagged) -> str:
    return "; ".join(f"{rows[0][:60]!r} -> {r.first.reason()}" for rows, r in flagged[:5])


def test_the_fixtures_hold_what_they_say():
    questions = {
        json.loads(line)["question_id"]: json.loads(line)["turns"][0]
        for line in (BENCH / "question.jsonl").read_text().splitlines()
    }
    planted = _planted()
    assert Counter(p["kind"] for p in planted) == {
        "exact": 8, "formatted": 8, "quoted": 8, "paraphrase": 8, "translated": 32
    }  # fmt: skip
    assert Counter(p["language"] for p in planted if p["kind"] == "translated") == dict.fromkeys(
        ("de", "zh", "ja", "fr"), 8
    )
    sample = {normalise(t) for rows in _sample_rows() for t in rows}
    for p in planted:
        q = questions[p["question_id"]]
        assert normalise(q) not in sample  # the sample holds none of the questions
        if p["kind"] == "exact":
            assert p["prompt"] == q
        elif p["kind"] == "formatted":
            assert p["prompt"] != q and normalise(p["prompt"]) == normalise(q)
        elif p["kind"] == "quoted":
            assert q in p["prompt"] and p["prompt"] != q
        else:
            assert normalise(p["prompt"]) != normalise(q)


def test_lexical_defaults_flag_at_most_one_percent_of_the_sample_and_find_every_copy():
    rows, flagged, found = _run(LEXICAL)
    assert len(flagged) <= rows // 100, _describe(flagged)
    for kind in ("exact", "formatted", "quoted"):
        assert found[kind, "en"] == 8, (kind, found)


def test_the_loose_preset_flags_the_sample_it_shares_topics_with():
    # The rule this default replaces: shared phrases ("the printing press", "how do i") match.
    rows, flagged, _ = _run(LEXICAL, ngram=PRESETS["loose"]["ngram"])
    assert len(flagged) > rows // 100


@pytest.mark.embedder
def test_all_four_checks_flag_at_most_one_percent_and_find_paraphrases_and_translations(e5):
    rows, flagged, found = _run(["exact", "normalised", "ngram", "embedding"], embed=e5.embed)
    assert len(flagged) <= rows // 100, _describe(flagged)
    for kind in ("exact", "formatted", "quoted", "paraphrase"):
        assert found[kind, "en"] == 8, (kind, found)
    for lang in ("de", "zh", "ja", "fr"):
        assert found["translated", lang] >= 7, (lang, found)  # at least 7 of 8 per language
    assert sum(found["translated", lang] for lang in ("de", "zh", "ja", "fr")) >= 30, found
