"""The prompts of `tagengo reverse`, written for tagengo: the pool of task types the
instruction writer draws from, the judge's 1-5 rubric, and the parsers of their answers.

The method is the one of arXiv 2407.01853 (natural text in the target language becomes the
response; an LLM writes the instruction it answers; a judge scores the pair and pairs below
λ are dropped). Its prompts are not reproduced: these are our own.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class TaskType:
    """One kind of instruction: an id (kept in meta) and the hint given to the writer."""

    id: str
    hint: str


#: The pool. A row's task type is drawn from it with ``random.Random(f"{seed}:{row id}")``, so
#: the draw depends on the seed and the row only, not on batch order or worker count.
TASK_TYPES: tuple[TaskType, ...] = (
    TaskType(
        "open_question",
        "an open question whose full answer is the text, as someone curious about the topic would ask it",
    ),
    TaskType(
        "summary",
        "a request to summarise, in a few sentences, a topic the text covers (without quoting the text)",
    ),
    TaskType(
        "explanation", "a request to explain why or how something described in the text happens or works"
    ),
    TaskType(
        "continuation",
        "a request to write a passage on the text's topic, giving its opening idea or first words as a starting point",
    ),
    TaskType(
        "style_rewrite",
        "a request to write about the text's subject in the style and tone the text uses (for example a "
        "friendly note, a formal notice, a short story)",
    ),
    TaskType("list", "a request for the points, steps or items the text goes through"),
    TaskType(
        "comparison", "a request to compare or weigh two things, options or views that the text discusses"
    ),
    TaskType("how_to", "a request for practical advice or instructions on doing what the text describes"),
    TaskType(
        "creative",
        "a request for a short piece of writing (a scene, a letter, a description) whose result could be the text",
    ),
    TaskType(
        "opinion",
        "a request for a reasoned view or recommendation on a question the text takes a position on",
    ),
)

TASK_IDS: tuple[str, ...] = tuple(t.id for t in TASK_TYPES)
_BY_ID = {t.id: t for t in TASK_TYPES}


def draw_task(seed: int, row_id: str, allowed: tuple[str, ...] = TASK_IDS) -> TaskType:
    """The seeded task type of one row (same seed and id: same task, in any order)."""
    pool = [_BY_ID[t] for t in allowed]
    return random.Random(f"{seed}:{row_id}").choice(pool)


INSTRUCT_SYSTEM = (
    "You help build a dataset for training chat assistants. You are shown a text that will be "
    "used, unchanged, as an assistant's reply. You write the message a user sent to get exactly "
    "that reply. Reply with that user message only."
)

INSTRUCT_USER = (
    "The reply:\n-----\n{text}\n-----\n"
    "Write the user's message that this reply answers. Kind of message: {hint}. It must be "
    "natural, specific enough that this reply fits it well, and must not copy sentences from the "
    "reply. Write it in {language}. Reply with the user's message only, on its own, without a "
    "label or quotation marks."
)

REASK_INSTRUCTION = (
    "That could not be used as the user's message (it was {problem}). Reply with the user's "
    "message only: one short paragraph in {language}, no label, no quotation marks."
)

JUDGE_SYSTEM = (
    "You rate training examples for chat assistants. An example is a user's instruction and an "
    "assistant's reply. Be strict and consistent."
)

JUDGE_USER = (
    "Instruction:\n-----\n{instruction}\n-----\nReply:\n-----\n{response}\n-----\n"
    "How good is this pair as a training example? Use this scale:\n"
    "5: the reply answers the instruction fully and directly; the instruction is clear and natural, "
    "something a real user would write, and gives what the reply needs.\n"
    "4: a good pair; the reply answers the instruction, with small gaps or a little extra.\n"
    "3: acceptable; the reply mostly answers the instruction, but parts of either do not match.\n"
    "2: weak; the reply only touches the instruction, or the instruction is vague or odd.\n"
    "1: unusable; the reply does not answer the instruction, or the instruction makes no sense.\n"
    "Answer in exactly two lines:\nReasoning: <one or two sentences>\nScore: <1, 2, 3, 4 or 5>"
)

REASK_SCORE = "I could not find the score. Reply with one line only: Score: N, where N is 1, 2, 3, 4 or 5."

_LABEL = re.compile(
    r"^\s*(?:\*\*)?(?:user(?:'s)? message|instruction|prompt|message|user)\s*(?:\*\*)?\s*[:：]\s*(?:\*\*)?\s*",
    re.I,
)
_QUOTES = ('"', "'", "“", "”", "„", "«", "»", "「", "」", "『", "』")
_SCORE = re.compile(r"score\s*(?:\*\*)?\s*[:：=]?\s*(?:\*\*)?\s*([1-5])(?:\s*/\s*5)?\b", re.I)
# FastChat's verdict format, which judges trained or prompted on MT-Bench write out of habit:
# "Rating: [[4]]" (also "[[4.0]]"). Out of the 1-5 scale ("[[8]]") it is no score.
_BRACKETED = re.compile(r"\[\[\s*([1-5])(?:\.0+)?\s*\]\]")
_REASONING = re.compile(
    r"reasoning\s*(?:\*\*)?\s*[:：]\s*(?:\*\*)?\s*(.+?)(?=\n\s*(?:\*\*)?(?:score|rating)\b|\n\s*\[\[|\Z)",
    re.I | re.S,
)

#: An instruction longer than this (characters) is no instruction: a reply, an essay, the text again.
MAX_INSTRUCTION_CHARS = 1500
#: A passage of the text counts as copied from it when it is at least this share of the text:
#: a few words an instruction shares with its reply ("Photosynthesis") are no copy.
MIN_COPIED_SHARE = 0.5


def _copied(text: str, fragment: str) -> str | None:
    """How ``text`` copies the fragment (read after "it was"), or None when it does not."""
    whole = fragment.strip()
    if not whole:
        return None
    if " ".join(text.casefold().split()) == " ".join(whole.casefold().split()):
        return "a copy of the text"
    if whole in text:
        return f"the text again with {len(text) - len(whole):,} characters around it"
    if text in whole and len(text) >= MIN_COPIED_SHARE * len(whole):
        return f"a passage copied from the text ({len(text):,} of its {len(whole):,} characters)"
    return None


def parse_instruction(answer: str | None, fragment: str) -> tuple[str | None, str]:
    """(instruction, '') or (None, what was wrong, read after "it was"): empty, a copy of the
    fragment (all of it, with more around it, or most of it), or too long. A copy is named
    first, whatever its length: that is what to tell the writer; length alone says
    nothing about where the text came from, so a long unrelated answer is only "too long"."""
    text = (answer or "").strip()
    text = _LABEL.sub("", text, count=1).strip()
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    if not text:
        return None, "empty"
    if copied := _copied(text, fragment):
        return None, copied
    if len(text) > MAX_INSTRUCTION_CHARS:
        return (
            None,
            f"{len(text):,} characters long, too long for an instruction (at most {MAX_INSTRUCTION_CHARS:,})",
        )
    return text, ""


def parse_score(answer: str | None) -> tuple[int | None, str]:
    """(score 1-5, reasoning) from a judge's answer; score None when it has none.

    ``answer`` is the text after the judge's own reasoning (a ``<think>`` block or
    ``reasoning_content``: the client splits it off, tagengo.llm.answer), so a score the judge
    weighed while thinking is never read. A score is ``Score: N`` or FastChat's ``[[N]]``; the
    last one named wins (a judge that thinks aloud may name several); a bare digit 1-5 is
    accepted as the whole answer."""
    text = (answer or "").strip()
    found = [(m.start(), m.group(1)) for pattern in (_SCORE, _BRACKETED) for m in pattern.finditer(text)]
    reasoning = ""
    if m := _REASONING.search(text):
        reasoning = " ".join(m.group(1).split())
    if found:
        return int(max(found)[1]), reasoning
    if re.fullmatch(r"\**\s*[1-5]\s*\**\.?", text):
        return int(re.sub(r"\D", "", text)), reasoning
    return None, reasoning
