"""Our own question set (src/tagengo/data/bench): complete, well-formed, in the right languages."""

from __future__ import annotations

from tagengo.bench.prompts import default_prompts_path
from tagengo.io.bench_layout import open_benches
from tagengo.io.fastchat import CATEGORIES, NEED_REF_CATS
from tagengo.lang.gate import LanguageDetector


def test_six_languages_eight_categories_two_turns_and_references() -> None:
    benches = open_benches([default_prompts_path().parent])
    assert sorted(b.language for b in benches) == ["de", "en", "es", "fr", "ja", "zh"]
    for b in benches:
        assert b.language_source == "folder name"
        assert [q.category for q in b.questions] == list(CATEGORIES), b.name
        assert [q.question_id for q in b.questions] == list(range(1, 9))  # aligned across languages
        for q in b.questions:
            assert len(q.turns) == 2
            if q.category in NEED_REF_CATS:
                assert q.reference is not None and len(q.reference) == 2 and all(q.reference), (b.name, q.key)
            else:
                assert q.reference is None


def test_every_turn_is_in_its_bench_language() -> None:
    det = LanguageDetector.shared()
    for b in open_benches([default_prompts_path().parent]):
        for q in b.questions:
            for t in q.turns:
                code, _ = det.detect(t)
                assert code == b.language, (b.name, q.key, t, code)
