"""Tests of src/tagengo/lang/verdict.py: ``expect(text, language)``, the one language check of
curate, bench, extend and translate, with the real lid.176."""

from __future__ import annotations

import pytest

from tagengo.lang.langid import LanguageIdentifier
from tagengo.lang.verdict import bundled_identifier, expect, letters

GERMAN = "Die Antwort ist auf Deutsch geschrieben und ziemlich ausführlich."
CROATIAN = "Stavite lonac na svijetlo mjesto bez jakog podnevnog sunca i zalijevajte ga."


@pytest.fixture(scope="module")
def lid() -> LanguageIdentifier:
    return bundled_identifier()


def test_a_text_in_its_language_passes_and_in_another_fails(lid):
    v = expect(GERMAN, "de", identifier=lid)
    assert v.checked and v.ok and v.detected == "de" and v.agrees
    assert v.score >= v.prob > 0.5
    wrong = expect(GERMAN, "en", identifier=lid)
    assert wrong.checked and not wrong.ok and wrong.detected == "de" and not wrong.agrees


def test_the_near_group_counts_unless_the_rule_is_exact(lid):
    v = expect(CROATIAN, "bs", identifier=lid)
    assert v.ok and "hr" in v.group and "sr" in v.group
    exact = expect(CROATIAN, "bs", identifier=lid, near=False)
    assert exact.group == frozenset({"bs"}) and exact.score == exact.prob


def test_too_few_letters_are_not_checked_and_pass():
    # No model is loaded for a text that is not checked.
    v = expect("OK, danke! ```print(x)``` https://example.com/a_long_path", "ja", min_letters=20)
    assert not v.checked and v.ok and v.detected == "" and v.prob == 0.0
    assert letters("ab1_ c ```code here```") == 3


def test_settle_on_top_answers_from_the_top_label_alone(lid):
    v = expect(GERMAN, "de", identifier=lid, settle_on_top=True, k=5)
    assert v.ok and len(v.prediction.labels) == 1 and v.score == v.prob
    # Not settled by the top label: the top-k call is made.
    v = expect(CROATIAN, "bs", identifier=lid, settle_on_top=True, k=5, threshold=0.99)
    assert len(v.prediction.labels) == 5


def test_strict_needs_more_than_the_threshold(lid):
    v = expect(GERMAN, "de", identifier=lid)
    assert expect(GERMAN, "de", identifier=lid, threshold=v.score).ok
    assert not expect(GERMAN, "de", identifier=lid, threshold=v.score, strict=True).ok


def test_other_above_fails_only_a_confident_other_language(lid):
    v = expect(GERMAN, "en", identifier=lid, k=1, other_above=0.5)
    assert not v.ok and v.detected == "de"
    assert expect(GERMAN, "en", identifier=lid, k=1, other_above=1.01).ok  # never that sure
    assert expect(GERMAN, "de", identifier=lid, k=1, other_above=0.5).ok


def test_top_in_group_with_a_label_prior(lid):
    v = expect(GERMAN, "de", identifier=lid, top_in_group=True, threshold=1.01, agree_threshold=0.3)
    assert v.ok and v.kept_by == "label_prior"
    assert not expect(GERMAN, "en", identifier=lid, top_in_group=True, agree_threshold=0.0).ok


class _Pick:
    def __init__(self, answer: tuple[str, float] | None) -> None:
        self.answer = answer
        self.asked: list[tuple[str, list[str]]] = []

    def choose(self, line: str, candidates: list[str]) -> tuple[str, float] | None:
        self.asked.append((line, candidates))
        return self.answer


def test_the_second_opinion_is_asked_only_about_unsettled_texts(lid):
    pick = _Pick(("en", 0.9))
    v = expect(GERMAN, "en", identifier=lid, top_in_group=True, second_opinion=pick, trust_other_above=1.01)
    assert v.ok and v.kept_by == "second_opinion" and v.second_opinion == ("en", 0.9)
    assert pick.asked[0][1][0] == "en" and "de" in pick.asked[0][1]
    # A confident other language is trusted: no second opinion.
    pick = _Pick(("en", 0.9))
    v = expect(GERMAN, "en", identifier=lid, top_in_group=True, second_opinion=pick, trust_other_above=0.5)
    assert not v.ok and not pick.asked and v.second_opinion is None
    # An unclear pick keeps nothing, but is reported.
    pick = _Pick(("en", 0.4))
    v = expect(GERMAN, "en", identifier=lid, top_in_group=True, second_opinion=pick, trust_other_above=1.01)
    assert not v.ok and v.second_opinion == ("en", 0.4)
    # A text that already passes asks nobody.
    pick = _Pick(("en", 0.9))
    assert expect(GERMAN, "de", identifier=lid, second_opinion=pick).ok and not pick.asked


def test_the_bundled_identifier_is_loaded_once():
    assert bundled_identifier() is bundled_identifier()
    assert expect(GERMAN, "de").ok
