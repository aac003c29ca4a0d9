"""The chatter a translator adds around a translation (an announcing first line, a note after
it, quotation marks around it) is cut, in the languages translated to; what the source has
too is never cut (tagengo.llm.translation.prompts.split_chatter)."""

from __future__ import annotations

import re

import pytest

from tagengo.llm.translation.prompts import clean_translation, split_chatter

SOURCE = "Hello world, how are you today?"
#: (answer, what split_chatter keeps, the kinds it cuts): chatter as translators write it.
CHATTER_CASES = [
    ("Sure! Here is the translation:\n\nHallo Welt, wie geht es dir heute?", {"preamble"}),
    ("Hier ist die deutsche Übersetzung:\nHallo Welt, wie geht es dir heute?", {"preamble"}),
    ("Voici la traduction en français :\n\nBonjour le monde, comment vas-tu aujourd'hui ?", {"preamble"}),
    ('Ecco la traduzione:\n"Ciao mondo, come stai oggi?"', {"preamble", "quotes"}),
    (
        "Aquí está la traducción al español:\n\nHola mundo, ¿cómo estás hoy?\n\n"
        "Nota: He mantenido el tono informal.",
        {"preamble", "note"},
    ),
    ("以下が日本語訳です：\n\nこんにちは世界、今日はお元気ですか？", {"preamble"}),
    ("以下是中文翻译：\n你好世界，你今天好吗？", {"preamble"}),
    ("Aqui está a tradução:\n\nOlá mundo, como você está hoje?", {"preamble"}),
    ("Hallo Welt, wie geht es dir heute?\n\nNote: I used the informal 'du'.", {"note"}),
    ("Hallo Welt, wie geht es dir heute? (Note: informal register kept.)", {"note"}),
    ("Bonjour le monde, comment vas-tu aujourd'hui ?\n\nRemarque : j'ai gardé le tutoiement.", {"note"}),
    ("こんにちは世界、今日はお元気ですか？\n\n注：「you」は訳しませんでした。", {"note"}),
    ("你好世界，你今天好吗？\n注意：这里用了非正式的语气。", {"note"}),
    ("“Hallo Welt, wie geht es dir heute?”", {"quotes"}),
    (
        "Sure!\n\nHere's the German translation:\n\n«Hallo Welt, wie geht es dir heute?»",
        {"preamble", "quotes"},
    ),
    ("Translation: Hallo Welt, wie geht es dir heute?", {"preamble"}),
    (
        "**Übersetzung:**\nHallo Welt, wie geht es dir heute?\nAnmerkung des Übersetzers: informell.",
        {"preamble", "note"},
    ),
    ("-----\nHallo Welt, wie geht es dir heute?\n-----\n\n*Translator's note: informal.*", {"note"}),
]


@pytest.mark.parametrize(("answer", "kinds"), CHATTER_CASES)
def test_chatter_around_a_translation_is_cut(answer: str, kinds: set[str]) -> None:
    text, removed = split_chatter(answer, SOURCE)
    assert set(removed) == kinds
    assert text.strip() == text and text
    for word in ("translation", "Übersetzung", "traduction", "traduzione", "traducción", "tradução"):
        assert word.lower() not in text.lower()
    assert not re.search(r"(?i)\b(note|nota|remarque|anmerkung)\b|注|訳|翻", text)
    assert text[0] not in '"“«' and text[-1] not in '"”»'
    for kind, what in removed.items():
        assert what and (kind == "quotes" or what in answer)


#: (source, answer): text the source has too, or a translation shaped like chatter; nothing is cut.
KEEP_CASES = [
    ("Note: the shop is closed on Sundays.", "Hinweis: Der Laden ist sonntags geschlossen."),
    ("Ingredients:\n- flour\n- sugar", "Zutaten:\n- Mehl\n- Zucker"),
    ("The text.\n\nNote: bring your ID.", "Der Text.\n\nHinweis: Ausweis mitbringen."),
    ("The text.\n\nNote: bring your ID.", "Le texte.\n\nNote : apportez votre pièce d'identité."),
    ('"Hello", he said.', '"Hallo", sagte er.'),
    ('"Hello world"', "„Hallo Welt“"),
    ("Translation: a difficult craft", "Übersetzung: ein schwieriges Handwerk"),
    ("Translation is hard.\nVery hard.", "Die Übersetzung ist schwer.\nSehr schwer."),
    ("My recipe:\nFlour and sugar.", "Mein Rezept:\nMehl und Zucker."),
    ("Beachten Sie, dass der Laden zu ist.\n\nDanke.", "Note that the shop is closed.\n\nThanks."),
    ("Der Text.\n\nBeachten Sie, dass der Laden zu ist.", "The text.\n\nNote that the shop is closed."),
    ("Hallo!\nHier ist, was ich brauche:\n- Brot", "Hello!\nHere's what I need:\n- bread"),
    ("Voici ma question :\nPourquoi le ciel est-il bleu ?", "Here is my question:\nWhy is the sky blue?"),
    ("A fordítás nehézségei\nSzöveg.", "翻訳の難しさ\n本文です。"),
    ("Hello (note: informal)", "Hallo (Anmerkung: informell)"),
    ("注意：火気厳禁。\n\n本文。", "Caution: no open flames.\n\nText."),
    ("The text.\n\n注：重要。", "Der Text.\n\n注：wichtig。"),
]


@pytest.mark.parametrize(("source", "answer"), KEEP_CASES)
def test_text_the_source_has_is_never_cut(source: str, answer: str) -> None:
    assert split_chatter(answer, source) == (answer, {})


def test_a_translators_note_after_the_sources_own_note_is_cut() -> None:
    source = "The text.\n\nNote: bring your ID."
    answer = "Der Text.\n\nHinweis: Ausweis mitbringen.\n\nNote: I translated 'ID' as 'Ausweis'."
    text, removed = split_chatter(answer, source)
    assert text == "Der Text.\n\nHinweis: Ausweis mitbringen."
    assert removed == {"note": "Note: I translated 'ID' as 'Ausweis'."}


def test_clean_translation_without_a_source_only_strips_separators() -> None:
    assert clean_translation("-----\nSure! Here is the translation:\nHallo\n-----") == (
        "Sure! Here is the translation:\nHallo"
    )
    assert clean_translation("Sure! Here is the translation:\nHallo", "Hello") == "Hallo"
