"""The kinds the s32 newcomer trial's server got through the answer contract: loops that count,
a bare role header at the start, mojibake, an answer cut near the token limit that says stop,
``finish_reason: tool_calls``, and answers that are only a refusal. Each has its look-alike that
must pass (a real 40-item list, an answer that ends cleanly near the limit, clean text in many
scripts, an apology followed by an answer)."""

from __future__ import annotations

import string
import sys
from pathlib import Path

import pytest

from tagengo.llm.answer import (
    REFUSAL,
    REPETITION,
    TOOL_CALL,
    UNFINISHED,
    answer_problem,
    degenerate,
    normalise,
    refusal,
)
from tagengo.llm.types import ChatRequest, ChatResponse

ANSWER = "Gern helfe ich dir dabei. Zuerst solltest du das Problem genau beschreiben."
ROMAN = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii", "xiii", "xiv", "xv", "xvi",
         "xvii", "xviii", "xix", "xx")  # fmt: skip


def _resp(content, finish="stop", out_tokens=10, **raw):
    return ChatResponse(content=content, finish_reason=finish, model="m", output_tokens=out_tokens,
                        input_tokens=5, raw=dict(raw))  # fmt: skip


def _req(prompt="Wie finde ich den Fehler?", max_tokens=2048, **extra):
    return ChatRequest.from_messages([{"role": "user", "content": prompt}], max_tokens=max_tokens, **extra)


# -- 1. loops that count ---------------------------------------------------------------------------

COUNTING = {
    "numbered": [f"{i}. Prüfe die Ursache." for i in range(1, 41)],
    "schritt": [f"Schritt {i}: Prüfe die Ursache." for i in range(1, 41)],
    "step": [f"Step {i}: Check the cause." for i in range(1, 41)],
    "paren letters": [f"({c}) Check the cause." for c in string.ascii_lowercase[:20]],
    "roman": [f"{r}) Check the cause." for r in ROMAN],
    "zh steps": [f"第{i}步：检查原因。" for i in range(1, 41)],
    "bulleted numbers": [f"- {i}) Check the cause." for i in range(1, 41)],
}


@pytest.mark.parametrize("form", COUNTING)
def test_a_loop_that_counts_is_repetition(form):
    problem = degenerate(ANSWER + "\n" + "\n".join(COUNTING[form]))
    assert problem is not None and problem.kind == REPETITION, form
    assert "each with its own number" in problem.detail and "1." not in problem.detail


def test_steps_on_one_line_count_too():
    problem = degenerate(ANSWER + " " + " ".join(f"Step {i}: Check the cause." for i in range(1, 41)))
    assert problem is not None and problem.kind == REPETITION


def test_a_real_forty_item_list_and_short_counted_lists_stay():
    foods = ("apples", "pears", "plums", "cherries", "grapes", "lemons", "limes", "oranges", "melons", "kiwis",
             "mangos", "figs", "dates", "peaches", "apricots", "nectarines", "berries", "currants", "guavas",
             "papayas", "lychees", "quinces", "olives", "tomatoes", "peppers", "onions", "leeks", "garlic",
             "carrots", "beets", "radishes", "turnips", "parsnips", "celery", "fennel", "kale", "spinach",
             "chard", "lettuce", "cress")  # fmt: skip
    assert len(foods) == 40
    assert degenerate("Forty foods:\n" + "\n".join(f"{i}. Buy {f}." for i, f in enumerate(foods, 1))) is None
    steps = "\n".join(f"Step {i}: Check the cause." for i in range(1, 6))  # five: under LOOP_MIN_REPEATS
    assert degenerate(f"{ANSWER}\n{steps}\nThen call support.") is None
    # A table of counted rows whose values differ.
    assert degenerate("\n".join(f"{i}. Row {i * 7} has {i * i} items." for i in range(1, 41))) is None


def test_the_hebrew_answer_with_an_english_counting_loop_is_rejected_before_the_language_gate():
    """Item 6: the loop passed the language gate (lid 0.78 he) and prefer chose it; the floor now
    rejects it first, so it can never be a chosen answer."""
    text = "אשמח לעזור. קודם כל צריך לתאר את הבעיה בדיוק.\n" + "\n".join(
        f"{i}. Check the cause." for i in range(1, 41)
    )
    problem = answer_problem(_resp(text), _req())
    assert problem is not None and problem.kind == REPETITION


# -- 2. a bare role header at the start --------------------------------------------------------------


@pytest.mark.parametrize(
    "head", ["assistant\n\n", "assistant\n", "Assistant:\n", "### Assistant:\n\n", "ASSISTANT:\n", "model\n"]
)
def test_a_bare_role_header_is_cut_and_noted(head):
    resp = normalise(_resp(head + ANSWER))
    assert resp.content == ANSWER
    assert resp.raw["normalised"] == [f"cut the role header {head.strip()!r} at the start"]
    assert normalise(resp).content == ANSWER and answer_problem(resp, _req()) is None


@pytest.mark.parametrize(
    "text",
    [
        "Assistant: Hello, how can I help?",
        "Model\n\nThe model has three layers.",
        "assistant",
        "An assistant\n\nhelps.",
    ],
)
def test_role_words_that_are_text_stay(text):
    resp = normalise(_resp(text))
    assert resp.content == text and "normalised" not in resp.raw


# -- 3. mojibake ------------------------------------------------------------------------------------

CLEAN = [
    ANSWER, "Straße, Größe, Übermaß — „so“ und «so».", "Ça coûte 5 € à Paris, n'est-ce pas ?",
    "¿Cómo está? Mañana, señor.", "Привет! Как дела — всё хорошо?", "Γειά σου κόσμε.", "שלום עולם, מה נשמע?",
    "مرحبا بالعالم، كيف حالك؟", "नमस्ते दुनिया।", "你好，世界！「引号」", "こんにちは、世界。ｶﾀｶﾅ", "안녕하세요, 세계!",
    "Tiếng Việt có dấu: ắ ằ ẳ ẵ ặ.", "Türkçe: ğ ş ı İ ç ö ü.", "Emoji 😀👍🏽 and math ∑ ≤ ∞ × ÷ ±.",
    "UTF-8 read as Latin-1: `Ã¶` is ö and `Â¿` is ¿; “quotes” and ‘single’ – dash … ellipsis.",
    "café résumé naïve Zoë Ångström Øre Þór",
]  # fmt: skip


def test_clean_text_in_many_scripts_stays_byte_identical():
    for text in CLEAN:
        resp = normalise(_resp(text))
        assert resp.content == text and "normalised" not in resp.raw, text


def test_bundled_texts_stay_byte_identical():
    sys.path.insert(0, str(Path(__file__).parents[1] / "generate"))
    from test_answer_checks_on_bundled_text import bundled_texts

    texts = [t for _, _, t, _ in bundled_texts()]
    assert len(texts) > 1000
    changed = [t[:60] for t in texts if normalise(_resp(t)).content != t]
    assert changed == []


@pytest.mark.parametrize("charset", ["latin-1", "cp1252"])
def test_utf8_read_as_latin1_or_cp1252_is_repaired_and_noted(charset):
    text = "Zuerst die möglichen Ursachen prüfen. Straße — „Größe“, 5 € ça coûte."
    bent = text.encode("utf-8").decode(charset, errors="ignore" if charset == "cp1252" else "strict")
    if charset == "cp1252":  # the bytes cp1252 leaves undefined (0x81, 0x8d, 0x8f, 0x90, 0x9d) are lost
        bent = text.encode("utf-8").decode("latin-1").encode("latin-1").decode(charset, "ignore")
    resp = normalise(_resp(bent))
    assert resp.content != bent and "möglichen" in resp.content
    (note,) = resp.raw["normalised"]
    assert note.startswith("repaired mojibake with ftfy (") and "decode utf-8" in note
    assert normalise(resp).content == resp.content  # idempotent: a cached answer reads the same


def test_mojibake_from_the_newcomers_server_is_repaired_exactly():
    text = ("Gern helfe ich dir dabei. Zuerst solltest du das Problem genau beschreiben, dann die möglichen "
            "Ursachen prüfen und zum Schluss eine Lösung ausprobieren. Grüße!")  # fmt: skip
    resp = normalise(_resp(text.encode("utf-8").decode("latin-1")))
    assert resp.content == text and answer_problem(resp, _req()) is None


# -- 4. cut near the limit ----------------------------------------------------------------------------


@pytest.mark.parametrize("used", [2046, 2047])
def test_an_answer_cut_mid_word_near_the_limit_is_unfinished(used):
    problem = answer_problem(_resp("Prüfe zuerst, dann die mögli", out_tokens=used), _req())
    assert problem is not None and problem.kind == UNFINISHED
    assert f"used {used:,} of the 2,048 tokens" in problem.detail and "mid-sentence" in problem.detail


@pytest.mark.parametrize(
    "end", ["Prüfe zuerst die Ursache.", "Fertig!", "```\nx = 1\n```", "¿Listo?", "完成。"]
)
def test_an_answer_that_ends_cleanly_near_the_limit_stays(end):
    assert answer_problem(_resp(end, out_tokens=2047), _req()) is None


def test_mid_sentence_far_from_the_limit_or_without_usage_stays():
    assert answer_problem(_resp("Prüfe zuerst, dann die mögli", out_tokens=2045), _req()) is None
    resp = _resp("Prüfe zuerst, dann die mögli", out_tokens=2047)
    resp.tokens_estimated = True  # counted here: decides nothing
    assert answer_problem(resp, _req()) is None


# -- 5. finish_reason tool_calls ---------------------------------------------------------------------


def test_finish_tool_calls_is_a_tool_call_naming_the_function():
    resp = _resp(None, finish="tool_calls", tool_calls=["search"], finish_reason="tool_calls")
    problem = answer_problem(resp, _req())
    assert problem is not None and problem.kind == TOOL_CALL
    assert "('search')" in problem.detail and "offered no tools" in problem.detail
    # Also when cut answers are kept: a call is no answer at all.
    assert answer_problem(resp, _req(), require_stop=False).kind == TOOL_CALL


# -- 6. refusals ------------------------------------------------------------------------------------

REFUSALS = [
    "I'm sorry, but I can't help with that.", "I cannot answer.", "Sorry. I am unable to assist with this request.",
    "Es tut mir leid, aber dabei kann ich nicht helfen.", "Ich kann diese Frage leider nicht beantworten.",
    "Je suis désolé, mais je ne peux pas vous aider.", "Lo siento, no puedo ayudarte con eso.",
    "Mi dispiace, non posso aiutarti con questo.", "Desculpe, não posso ajudar com isso.",
    "Het spijt me, ik kan je daar niet mee helpen.", "Извините, я не могу помочь с этим.",
    "申し訳ありませんが、それにはお答えできません。", "抱歉，我无法回答这个问题。", "죄송합니다. 도와드릴 수 없습니다.",
    "عذراً، لا أستطيع المساعدة في ذلك.", "Przepraszam, nie mogę pomóc w tej sprawie.",
]  # fmt: skip
NOT_REFUSALS = [
    "I'm sorry, but I can't help with that. However, 5 miles is about 8.05 kilometers.",
    "Sorry, I can't browse the web, but a mile is 1.609 km.", "I can't wait to see it!", "I'm sorry.",
    "5 miles are 8.05 kilometers.", "Es tut mir leid, dass es dir schlecht geht. Ruh dich aus und trink viel Wasser.",
    "No puedo creer que sea tan fácil: solo suma los números.",
]  # fmt: skip


@pytest.mark.parametrize("text", REFUSALS)
def test_an_answer_that_is_only_a_refusal_is_rejected(text):
    problem = answer_problem(_resp(text), _req("Convert 5 miles to kilometers."))
    assert problem is not None and problem.kind == REFUSAL, text


@pytest.mark.parametrize("text", NOT_REFUSALS)
def test_an_apology_that_answers_stays(text):
    assert refusal(text, _req("Convert 5 miles to kilometers.")) is None, text


def test_a_refusal_asked_to_be_translated_is_a_translation():
    assert (
        refusal("Ich kann dabei nicht helfen.", _req("Translate into German: I can't help with that."))
        is None
    )


def test_refusal_rejects_none_of_the_bundled_texts():
    sys.path.insert(0, str(Path(__file__).parents[1] / "generate"))
    from test_answer_checks_on_bundled_text import bundled_texts

    hits = [t[:60] for _, _, t, p in bundled_texts() if refusal(t, _req(p) if p else None) is not None]
    assert hits == []


def test_a_refusal_translated_with_translates_own_prompt_is_kept():
    """translate, reverse and extend send refusals found in datasets to be translated: the
    translation of one is a translation, not a refusal of the translator."""
    from tagengo.llm.translation.prompts import translation_messages

    request = ChatRequest.from_messages(
        translation_messages("I'm sorry, but I can't help with that.", "en", "de")
    )
    resp = _resp("Es tut mir leid, aber dabei kann ich nicht helfen.")
    assert answer_problem(resp, request) is None
