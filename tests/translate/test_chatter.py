"""The chatter a translator adds around a translation (an announcing first line, a language
label, the source repeated, a note, an explanation or a sign-off after it, quotation marks
around it) is cut, in the languages translated to; what the source has too is never cut; what
does not stand apart is reported for rejection (tagengo.llm.translation.chatter)."""

from __future__ import annotations

import re

import pytest

from tagengo.llm.translation.chatter import chatter_reason, screen_chatter
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
    # the newcomer trial's sign-offs, and their kin in the target language
    (
        "Hallo Welt, wie geht es dir heute?\n\nI hope this helps! Let me know if you need anything else.",
        {"signoff"},
    ),
    ("Hallo Welt, wie geht es dir heute?\n\n(Note: I kept the technical term as is.)", {"note"}),
    ("Hallo Welt, wie geht es dir heute?\n\nIch hoffe, das hilft!", {"signoff"}),
    (
        "Bonjour le monde, comment vas-tu aujourd'hui ?\n\nN'hésitez pas si vous avez des questions.",
        {"signoff"},
    ),
    # explanations of the translation
    ("Hallo Welt, wie geht es dir heute?\n\nExplanation:\n- 'Hello world' is 'Hallo Welt'.", {"note"}),
    ("Hallo Welt, wie geht es dir heute?\n\n---\n\nIn this version I used the informal 'du'.", {"note"}),
    ("Hallo Welt, wie geht es dir heute? (Translated from English to German)", {"note"}),
    ("你好世界，你今天好吗？\n注意，“world”在这里按习惯说成“世界”。", {"note"}),
    # the source repeated before or after the translation, and language labels
    ("Hello world, how are you today?\n\nHallo Welt, wie geht es dir heute?", {"echo"}),
    ("Hello world, how are you today? → Hallo Welt, wie geht es dir heute?", {"echo"}),
    (
        "English: Hello world, how are you today?\nGerman: Hallo Welt, wie geht es dir heute?",
        {"echo", "preamble"},
    ),
    ("Hallo Welt, wie geht es dir heute?\n\n(Original: Hello world, how are you today?)", {"echo"}),
    ("German: Hallo Welt, wie geht es dir heute?", {"preamble"}),
    ("**Translated text:**\nHallo Welt, wie geht es dir heute?", {"preamble"}),
    ("**Translated text:** Hallo Welt, wie geht es dir heute?", {"preamble"}),
    (
        "Original: Hello world, how are you today?\nTranslation: Hallo Welt, wie geht es dir heute?",
        {"echo", "preamble"},
    ),
    ("In German:\nHallo Welt, wie geht es dir heute?", {"preamble"}),
    ("Auf Deutsch:\n\nHallo Welt, wie geht es dir heute?", {"preamble"}),
]


@pytest.mark.parametrize(("answer", "kinds"), CHATTER_CASES)
def test_chatter_around_a_translation_is_cut(answer: str, kinds: set[str]) -> None:
    text, removed = split_chatter(answer, SOURCE, source_language="en", target="de")
    assert set(removed) == kinds
    assert text.strip() == text and text
    for word in ("translation", "Übersetzung", "traduction", "traduzione", "traducción", "tradução"):
        assert word.lower() not in text.lower()
    assert not re.search(r"(?i)\b(note|nota|remarque|anmerkung|hope|hoffe|english|german)\b|注|訳|翻", text)
    assert "Hello" not in text and "→" not in text
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


KEEP_CASES += [
    # the source's own sign-off keeps its translation, whatever language either is in
    (
        "Fix the typo. Let me know if you need anything else.",
        "Behebe den Tippfehler. Lass mich wissen, ob du noch etwas brauchst.",
    ),
    (
        "Fix the typo.\n\nLet me know if you need anything else.",
        "Behebe den Tippfehler.\n\nLass mich wissen, ob du noch etwas brauchst.",
    ),
    ("Lass mich wissen, ob du noch etwas brauchst.", "Let me know if you need anything else."),
    ("Behebe den Tippfehler.\n\nIch hoffe, das hilft!", "Fix the typo.\n\nI hope this helps!"),
    # translator-shaped text of real catalogs (Debian's gettext files), kept as it is
    (
        "Debug-Optionen können gemischt werden.\nBeachten Sie, dass sich die Werte ändern können.",
        "Debugging options can be mixed.\nNote that the meanings and values are subject to change.",
    ),
    ("Application restart required by:", "以下によりアプリケーションの再起動が必要:"),
    ("Interface:", "Schnittstelle:"),
    (
        "--previous    keep previous msgids of translated messages",
        "--previous    die vorherigen Schlüssel\n                    der übersetzten Meldungen",
    ),
    ("Samaritan", "Samaritano"),
    ("Achterhoeks", "Achterhoeks-Niedersächsisch"),
    ("Cuneiform, Sumero-Akkadian", "Cuneiform, Sumero-Akkadianisch"),
    ("Bourne Again Shell", "Bourne Again Shell (bash)"),
    ("Public Key :", "Public Key   :"),
    ("# %s (device %d): could not be opened.", "# %s (Gerät %d): \nKonnte nicht geöffnet werden."),
]


@pytest.mark.parametrize(("source", "answer"), KEEP_CASES)
def test_text_the_source_has_is_never_cut(source: str, answer: str) -> None:
    assert split_chatter(answer, source) == (answer, {})
    found = screen_chatter(answer, source, source_language="en", target="de")
    assert (found.text, found.removed, found.problem) == (answer.strip(), {}, None)


#: (source, answer, kind): chatter that does not stand apart; cutting it would guess where the
#: translation ends, so it is reported, for the row to be rejected.
LEFT_IN = [
    (SOURCE, "Hallo Welt, wie geht es dir heute? I hope this helps!", "signoff"),
    (SOURCE, "Hallo Welt, wie geht es dir heute? Let me know if you need anything else.", "signoff"),
    (SOURCE, "Hallo Welt, wie geht es dir heute? 注意：这里用了非正式的语气。", "note"),
    (SOURCE, "Hallo Welt.\n\nHere is the translation:\nWie geht es dir heute?", "preamble"),
    (
        "Tell me about the sea and the mountains near the coast.",
        "Erzähl mir vom Meer. Tell me about the sea and the mountains near the coast. Und den Bergen.",
        "echo",
    ),
]


@pytest.mark.parametrize(("source", "answer", "kind"), LEFT_IN)
def test_chatter_that_does_not_stand_apart_is_reported(source: str, answer: str, kind: str) -> None:
    found = screen_chatter(answer, source, source_language="en", target="de")
    assert found.problem == kind and found.found and found.found in answer
    assert chatter_reason(kind, "message 1 (user)").startswith(
        f"translator chatter ({kind}) in message 1 (user): "
    )


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
