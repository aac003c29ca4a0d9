"""The answer contract on what the s33 newcomer trial found kept: letters a lossy charset
conversion turned into ``?`` (``replacement characters``), and template continuations without
special tokens (Alpaca's ``### Instruction:`` / ``### Response:``, a lone trailing ``User:`` line:
``template leak``), with the legit texts that look like them and must pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tagengo.llm.answer import REPLACEMENT, TEMPLATE_LEAK, answer_problem, lost_letters, template_leak
from tagengo.llm.types import ChatRequest, ChatResponse

SAMPLES = Path(__file__).resolve().parents[2] / "src" / "tagengo" / "data" / "sample"


def _req(prompt: str) -> ChatRequest:
    return ChatRequest.from_messages([{"role": "user", "content": prompt}], max_tokens=512)


def _resp(text: str) -> ChatResponse:
    return ChatResponse(content=text, finish_reason="stop", model="m", input_tokens=10, output_tokens=20)


def _lossy(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


# -- letters lost to "?" ---------------------------------------------------------------------------

LOSSY = {
    "ja": _lossy("雨は、空気中の水蒸気が冷えて水滴になり、重くなって落ちてくるものです。"),
    "ru": _lossy("Конечно. Короткий ответ: да"),
    "de": _lossy("Ob es regnet, hängt davon ab, wovon es abhängt"),
    "de_one": "Es kommt darauf an, wovon es abh?ngt",
    "fr": _lossy("Bien sûr. La réponse est simple."),
    "zh": _lossy("下雨是因为水蒸气遇冷凝结。"),
    "el": _lossy("Η βροχή πέφτει όταν τα σύννεφα γεμίσουν."),
    "mixed_code": "Use `s = 'x'` here. Die Gr??e ist wichtig.",
    "latin1": "Das Wetter in Z\u00fcrich: " + _lossy("雨が降っています"),  # Latin-1 kept ü
}

LEGIT = [
    "What???? Really?? You can't be serious!",
    "Wait ??? what happened there",
    "Search with https://example.com/search?q=rain&lang=de or example.com/s?q=snow.",
    "The query string is ?q=rain&page=2, and the path /a?b=c is fine too.",
    "¿Qué hora es? ¿Dónde estás?",
    "Huh?? Okay, here is the answer.",
    "Use the ternary `a?b:c` in C, or write ```\nx = y ?? z\nprint(x ?? '???')\n```",
    "The regex a?b matches 'ab' and 'b'.",
    "Is it A?B or B?",
    "Unknown values are shown as ??? in the table.",
    "Really?! Are you sure?!",
    "「本当ですか？」と彼は聞いた。",  # fullwidth question marks are no lost letters
    "Коротко: да?! Почему бы и нет?",
]


@pytest.mark.parametrize("key", sorted(LOSSY))
def test_letters_lost_to_question_marks_are_replacement_characters(key):
    text = LOSSY[key]
    why = lost_letters(text)
    assert why is not None and why.startswith("letters lost to '?' ("), (key, why)
    problem = answer_problem(_resp(text), _req("Erzähl mir etwas über den Regen."))
    assert problem is not None and problem.kind == REPLACEMENT, (key, problem)
    assert "a proxy, database or server on the way converted the text to Latin-1 or ASCII" in problem.detail


def test_the_reason_counts_and_shows_where():
    why = lost_letters("Bien s?r. La r?ponse est ??????.")
    assert why == (
        "letters lost to '?' (2 inside words, 1 word of '?' only; the first in 'Bien s?r. La r?ponse est ?'): "
        "a proxy, database or server on the way converted the text to Latin-1 or ASCII; check its charset"
    )


@pytest.mark.parametrize("text", LEGIT)
def test_question_marks_as_punctuation_urls_and_code_pass(text):
    assert lost_letters(text) is None, text
    assert answer_problem(_resp(text), _req("Tell me something.")) is None, text


def test_a_prompt_that_holds_lost_letters_itself_may_be_quoted():
    text = "The word 'abh?ngt' is 'abhängt' with its umlaut lost."
    assert lost_letters(text) is not None
    assert lost_letters(text, _req("Why does my database show abh?ngt instead of abhängt?")) is None


def _sample_texts() -> list[str]:
    texts = []
    for path in sorted(SAMPLES.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            for turn in row.get("conversation") or row.get("conversations") or row.get("messages") or []:
                text = turn.get("content") or turn.get("value")
                if isinstance(text, str):
                    texts.append(text)
    return texts


def test_no_text_of_the_bundled_chat_samples_is_taken_for_lost_letters_or_a_section_header():
    """False positives measured on real chat text: the bundled LMSYS, ShareGPT and WildChat
    samples (every turn, 1,100+ texts, a few hundred with a '?')."""
    texts = _sample_texts()
    assert len(texts) > 1000 and sum("?" in t for t in texts) > 300
    assert [t[:80] for t in texts if lost_letters(t) is not None] == []
    assert [t[:80] for t in texts if template_leak(t) is not None] == []


# -- template continuations without special tokens ----------------------------------------------------

LEAKS = {
    "Rain is water falling from clouds.\n\n### Instruction:\nWrite another question.": "### Instruction:",
    "Rain is water falling from clouds.\n\n### Response:\nHere is more.": "### Response:",
    "Rain is water.\n\n## Instruction: Write a poem.\n\n## Response: Roses...": "## Instruction:",
    "Rain is water.\n### instruction :\nmore": "### instruction :",
    "Rain is water falling from clouds.\n\nUser: thanks": "User:",
    "Rain is water falling from clouds.\n\nuser: and snow?\n": "user:",
    "Rain is water.\n\n### User: and snow?": "### User:",
    "Rain is water.\n\n### Assistant: Snow is frozen.": "### Assistant:",
}

NOT_LEAKS = [
    "### Response time\nThe router answers in 2 ms.\n\n### Instructions for setup\n1. Plug it in.",
    "## Instructions\n1. Mix.\n2. Bake.\n\n## Response to feedback\nThanks!",
    "## Input: a list of numbers\n## Output: their sum",
    "Your login:\nPassword: hunter2\nUser: admin",
    "Here is the format:\n```\n### Instruction:\nAdd 2 and 2.\n\n### Response:\n4\n```\nUse it like that.",
    "The user: a person who uses the system. The response: what comes back.",
    "Rain is water.\n\nThe user should keep an umbrella.",
]


@pytest.mark.parametrize(("text", "marker"), sorted(LEAKS.items()))
def test_plain_text_template_sections_and_a_trailing_user_turn_are_leaks(text, marker):
    assert template_leak(text, _req("Why does it rain?")) == marker
    problem = answer_problem(_resp(text), _req("Why does it rain?"))
    assert problem is not None and problem.kind == TEMPLATE_LEAK
    assert f"the chat-template marker {marker!r}" in problem.detail


@pytest.mark.parametrize("text", NOT_LEAKS)
def test_markdown_headings_field_lists_and_code_are_no_leaks(text):
    assert template_leak(text, _req("How do I set up the router?")) is None, text
    assert answer_problem(_resp(text), _req("How do I set up the router?")) is None, text


def test_a_prompt_that_asks_for_a_dialogue_may_get_role_lines_but_not_alpaca_sections():
    dialogue = _req("Write a short dialogue between a user and an assistant about rain.")
    assert template_leak("Sure.\n\nAssistant: It rains.\n\nUser: thanks", dialogue) is None
    assert template_leak("Sure.\n\n### Human: hi\n### Assistant: hello", dialogue) is None
    # Alpaca's sections are no speaker's label: a dialogue prompt does not ask for them
    assert template_leak("Sure.\n\n### Instruction:\nWrite more.", dialogue) == "### Instruction:"


def test_a_prompt_that_holds_the_section_header_may_get_it_back():
    asks = _req("Give me one example in Alpaca format (### Instruction: ... ### Response: ...).")
    text = "### Instruction:\nAdd 2 and 2.\n\n### Response:\n4"
    assert template_leak(text, asks) is None
    assert template_leak(text, _req("Give me a maths exercise.")) == "### Instruction:"
