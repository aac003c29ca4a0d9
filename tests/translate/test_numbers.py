"""The numbers check of translate: the digit numbers of a translation must agree with its
source's as a multiset, locale formats and numbers spelt as words allowed (issue #23, item 2).

The pairs are the kind a real translator writes (MT-Bench questions and everyday prompts into
German, French, Japanese, Hindi, Arabic and Spanish), each either correct or with one number
changed, dropped or added."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tagengo.llm.translation.numbers import number_problem, numbers, readings

Q111 = (
    "The vertices of a triangle are at points (0, 0), (-1, 1), and (3, 3). What is the area of the triangle?"
)

#: (target language, source, a correct translation)
AGREE = [
    ("de", Q111, "Die Eckpunkte eines Dreiecks liegen bei (0, 0), (-1, 1) und (3, 3). Wie groß ist seine Fläche?"),
    ("de", "The car costs $24,999.99 and uses 6.5 liters per 100 km.",
     "Das Auto kostet 24.999,99 $ und verbraucht 6,5 Liter pro 100 km."),
    ("de", "Buy 3 eggs and 2 liters of milk.", "Kaufe drei Eier und 2 Liter Milch."),
    ("de", "The meeting is on 03/12/2024.", "Das Treffen ist am 12.03.2024."),
    ("de", "Germany had 84.4 million inhabitants in 2023.", "Deutschland hatte 2023 84,4 Millionen Einwohner."),
    ("fr", "The tower is 1,083 feet (330 m) tall.", "La tour mesure 1 083 pieds (330 m) de haut."),
    ("fr", "It costs 1,000.50 euros.", "Cela coûte 1\u202f000,50 euros."),
    ("fr", "I have three cats and 2 dogs.", "J'ai 3 chats et 2 chiens."),
    ("fr", "I bought 5 100-page notebooks.", "J'ai acheté 5 cahiers de 100 pages."),
    ("ja", "Tokyo has about 14 million people.", "東京の人口は約1400万人です。"),
    ("ja", "The price is 1,200 yen for 3 items.", "3個で１，２００円です。"),
    ("ja", "Meet me on 2024-03-12 at 10:30.", "2024年3月12日の10:30に会いましょう。"),
    ("ja", "Write 2 haiku about the sea.", "海についての俳句を二つ書いてください。"),
    ("hi", "India has 1,400,000,000 people.", "भारत में 1,40,00,00,000 लोग हैं।"),
    ("hi", "The house costs 1.5 million rupees.", "घर की कीमत 15 लाख रुपये है।"),
    ("hi", "A year has 365 days and 12 months.", "एक वर्ष में ३६५ दिन और १२ महीने होते हैं।"),
    ("ar", "A year has 365 days and 12 months.", "السنة فيها ٣٦٥ يومًا و١٢ شهرًا."),
    ("ar", "Pi is about 3.14159.", "قيمة باي تقريبًا ٣٫١٤١٥٩."),
    ("ar", "The city has 2,500,000 inhabitants.", "يبلغ عدد سكان المدينة ٢٬٥٠٠٬٠٠٠ نسمة."),
    ("es", "The recipe needs 2.5 cups of flour and 3 eggs.", "La receta necesita 2,5 tazas de harina y 3 huevos."),
    ("es", "Spain has 48,000,000 inhabitants.", "España tiene 48.000.000 de habitantes."),
    ("es", "Name five countries in Europe.", "Nombra 5 países de Europa."),
]  # fmt: skip

#: (target language, source, a translation with a number wrong, what the check names)
DISAGREE = [
    ("de", Q111, "Die Eckpunkte eines Dreiecks liegen bei (0, 0), (-1, 1) und (3, 5). Wie groß ist seine Fläche?",
     "missing 3; added 5"),
    ("de", "The car costs $24,999.99.", "Das Auto kostet 24.999 $.", "missing 24,999.99; added 24.999"),
    ("de", "Meet me at 3:30 PM.", "Treffen wir uns um 15:30 Uhr.", "missing 3; added 15"),
    ("fr", "The tower is 1,083 feet tall.", "La tour mesure 1 038 pieds de haut.", "missing 1,083; added 1 038"),
    ("ja", "Solve x + 12 = 20 for 3 cases.", "3つのケースでx + 21 = 20を解いてください。", "missing 12; added 21"),
    ("ja", "Tokyo has about 14 million people.", "東京の人口は約140万人です。", "missing 14; added 140"),
    ("hi", "A year has 365 days.", "एक वर्ष में ३५६ दिन होते हैं।", "missing 365; added ३५६"),
    ("ar", "Pi is about 3.14.", "قيمة باي تقريبًا ٣١٤.", "missing 3.14; added ٣١٤"),
    ("es", "The recipe needs 2.5 cups of flour.", "La receta necesita 25 tazas de harina.", "missing 2.5; added 25"),
    ("es", "Add 2 eggs and 3 spoons of sugar.", "Añade 2 huevos y cucharadas de azúcar.", "missing 3"),
    ("es", "Add 2 eggs.", "Añade 2 huevos y 1 cucharada de azúcar.", "added 1"),
]  # fmt: skip


@pytest.mark.parametrize(("target", "source", "translation"), AGREE)
def test_correct_translations_pass(target: str, source: str, translation: str) -> None:
    assert number_problem(source, translation, "en", target) is None


@pytest.mark.parametrize(("target", "source", "translation", "named"), DISAGREE)
def test_a_changed_number_is_named(target: str, source: str, translation: str, named: str) -> None:
    assert number_problem(source, translation, "en", target) == named


def test_locale_formats_read_as_one_value() -> None:
    thousand_and_a_half = Decimal("1000.5")
    for written in ("1,000.5", "1.000,5", "1 000,5", "1\u00a0000,5", "1'000.5", "١٬٠٠٠٫٥", "１，０００．５"):
        assert thousand_and_a_half in readings(written), written
    assert readings("1,00,000") == {Decimal(100000)}  # Indian grouping
    assert readings("1,000") == {Decimal(1000), Decimal(1)}  # English thousand or German one
    assert readings("12.03.2024") == frozenset()  # no number: a date, read as its parts
    assert [n.text for n in numbers("am 12.03.2024")] == ["12", "03", "2024"]


def test_digits_in_markers_are_not_numbers() -> None:
    assert numbers("Siehe ⟦0⟧ und ⟦12⟧.") == []
    assert number_problem("Run ⟦0⟧ 3 times.", "Führe ⟦0⟧ 3-mal aus.", "en", "de") is None


def test_number_words_only_forgive_their_own_value() -> None:
    # "three" may become 3, not 4; and a word in a language without a table forgives nothing.
    assert number_problem("I have three cats.", "J'ai 4 chats.", "en", "fr") == "added 4"
    assert number_problem("Buy 3 eggs.", "तीन अंडे खरीदें।", "en", "hi") == "missing 3"
