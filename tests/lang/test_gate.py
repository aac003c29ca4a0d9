"""The language gate with the real lid.176 model."""

from __future__ import annotations

import pytest

from tagengo.lang.gate import GateConfig, LanguageDetector, LanguageGate

ON = GateConfig(enabled=True)


def test_confident_mismatch_fails() -> None:
    v = LanguageGate(ON).check("This answer is written in English although the question was German.", "de")
    assert v is not None and v.failed and v.detected == "en" and v.prob >= 0.9
    assert "detected as 'en'" in v.reason and "question is 'de'" in v.reason


def test_matching_language_passes() -> None:
    v = LanguageGate(ON).check("Die Antwort ist auf Deutsch geschrieben und ziemlich ausführlich.", "de")
    assert v is not None and not v.failed and v.detected == "de"


def test_near_languages_pass() -> None:
    v = LanguageGate(ON).check("Dette er et svar skrevet på norsk bokmål, og det er ganske langt.", "no")
    assert v is not None and v.detected in {"no", "nb", "nn"} and not v.failed


@pytest.mark.parametrize(
    ("text", "category", "config"),
    [
        ("OK.", "writing", ON),  # too short to trust
        ("```python\nprint('hello world from python code only')\n```", "coding", ON),  # nothing but code
        (
            "This answer is written in English although the question was German.",
            "coding",
            GateConfig(enabled=True, skip_categories=["coding"]),
        ),
        (
            "This answer is written in English although the question was German.",
            "writing",
            GateConfig(),
        ),  # off
    ],
)
def test_gate_does_not_apply(text: str, category: str, config: GateConfig) -> None:
    assert LanguageGate(config).check(text, "de", category) is None


def test_unknown_question_language_never_gates() -> None:
    assert LanguageGate(ON).check("Plenty of English words in this answer here.", None) is None


def test_code_is_stripped_before_detection() -> None:
    text = "```python\ndef add(a, b):\n    return a + b\n```\nDiese Funktion addiert zwei Zahlen und gibt die Summe zurück."
    assert LanguageDetector.shared().detect(text)[0] == "de"
    assert LanguageDetector.letters(text) < len(text) // 2
