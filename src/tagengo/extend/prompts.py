"""The follow-up writer's prompt, written for tagengo: the five kinds of follow-up it is asked
for, the transcript it reads, and the cleaning of its answer.

The writer plays the user. It sees the conversation so far and one instruction: write the
user's next message, of a given kind, in the conversation's language. The kinds are the ways
real users continue a chat with an assistant: they ask what something meant, want more, change
the conditions, ask for an example, or disagree.
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass

from tagengo.extend.checks import fold
from tagengo.llm.translation.prompts import language_name


@dataclass(frozen=True)
class TaskType:
    """One kind of follow-up: an id (kept in meta) and the hint given to the writer."""

    id: str
    hint: str


#: The pool. The kind of each follow-up is drawn with ``random.Random(f"{seed}:{row id}:{turn}")``,
#: so it depends on the seed, the conversation and the turn only, not on batch order or workers.
TASK_TYPES: tuple[TaskType, ...] = (
    TaskType(
        "clarify",
        "ask what one specific point, word or step of the assistant's last reply means, because it was not "
        "clear to you",
    ),
    TaskType(
        "go_deeper",
        "ask the assistant to go further into one part of its last reply: more detail, the reasons behind "
        "it, or what follows from it",
    ),
    TaskType(
        "change_constraints",
        "change the conditions of your request (shorter, for a beginner, a smaller budget, another format, "
        "a different situation ...) and ask for the reply to be adapted to them",
    ),
    TaskType(
        "ask_example",
        "ask for a concrete example, case or sample that shows what the assistant's last reply describes",
    ),
    TaskType(
        "disagree",
        "politely push back on something in the assistant's last reply that you doubt or see differently, "
        "and ask it to reconsider or justify it",
    ),
)

TASK_IDS: tuple[str, ...] = tuple(t.id for t in TASK_TYPES)
_BY_ID = {t.id: t for t in TASK_TYPES}


def draw_task(seed: int, row_id: str, turn: int, allowed: tuple[str, ...] = TASK_IDS) -> TaskType:
    """The seeded kind of the follow-up that becomes user turn ``turn`` (2, 3, ...) of row ``row_id``."""
    pool = [_BY_ID[t] for t in allowed]
    return random.Random(f"{seed}:{row_id}:{turn}").choice(pool)


WRITER_SYSTEM = (
    "You take the part of the person in a chat between a person and an AI assistant. You never "
    "answer as the assistant: you write only what the person types next. Reply with that message "
    "and nothing else."
)

WRITER_USER = (
    "The chat so far:\n=====\n{transcript}\n=====\n"
    "Write the person's next message. In it, {hint}. Write it in {language}, the way a native "
    "speaker types in a chat: natural, one to three sentences, about what was said above. Do not "
    "repeat an earlier message. Reply with the message only, without a label or quotation marks."
)

_SPEAKER = {"user": "Person", "assistant": "Assistant"}


def transcript(messages: list[dict[str, str]], max_chars: int) -> str:
    """The chat as the writer reads it: user and assistant turns (system turns left out), each
    cut to ``max_chars`` characters with a note saying so."""
    parts = []
    for m in messages:
        speaker = _SPEAKER.get(m["role"])
        if speaker is None:
            continue
        text = m["content"].strip()
        if len(text) > max_chars:
            text = text[:max_chars].rstrip() + f" [... {len(text) - max_chars:,} more characters]"
        parts.append(f"{speaker}: {text}")
    return "\n\n".join(parts)


def writer_messages(
    messages: list[dict[str, str]], task: TaskType, language: str | None, max_chars: int
) -> list[dict[str, str]]:
    """Chat messages asking the writer for the next user turn of ``messages`` (``language``: ISO code)."""
    user = WRITER_USER.format(
        transcript=transcript(messages, max_chars), hint=task.hint, language=language_name(language)
    )
    return [{"role": "system", "content": WRITER_SYSTEM}, {"role": "user", "content": user}]


# A label the writer may put before the message: "Person:", "User:", "**Next message:**" ...
_LABEL = re.compile(
    r"^\s*(?:\*\*)?(?:person|user|human|me|you|(?:the\s+)?(?:person's\s+|user's\s+)?(?:next\s+)?message|follow[- ]?up)"
    r"\s*(?:\*\*)?\s*[:：]\s*(?:\*\*)?\s*",
    re.I,
)
_QUOTES = ('"', "'", "“", "”", "„", "«", "»", "「", "」", "『", "』")


def clean_follow_up(answer: str | None) -> str:
    """The follow-up out of the writer's answer: white space, one leading label and a pair of
    enclosing quotation marks removed ('' when nothing is left)."""
    text = (answer or "").strip()
    text = _LABEL.sub("", text, count=1).strip()
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    return text


#: Words in a row that a follow-up may share with the writer's instructions before it counts as
#: copying them. Six: the hints' common phrases ("the assistant's last reply", "a concrete
#: example") are shorter, so a user who asks for an example in their own words passes.
LEAK_WORDS = 6

# The transcript's frame and speaker labels at the start of a line: a writer that goes on to
# write the assistant's turn, or the next person turn after its own (one leading label is
# removed by clean_follow_up first).
# The role lines of other transcripts count too: a writer that runs on into a made-up exchange
# writes them ("### Human:", "User:"), and the answer contract's plain-turn rule stands down on
# the writer's prompt, which is itself a transcript.
_LEAK_MARKUP = re.compile(
    r"={5}|^[ \t]*(?:#{1,4}[ \t]*)?(?:\*\*)?(?:Assistant|Person|Human|User)(?:\*\*)?[ \t]*[:：]", re.M
)


def _instruction_texts() -> list[str]:
    """The fixed text of the writer's prompt: its system turn, the pieces of its user turn
    between the placeholders, and every task hint."""
    pieces = [lit for lit, *_ in string.Formatter().parse(WRITER_USER) if lit]
    return [WRITER_SYSTEM, *pieces, *(t.hint for t in TASK_TYPES)]


def _word_runs(text: str, n: int) -> list[tuple[str, ...]]:
    """Every run of ``n`` words of ``text`` folded, in order."""
    words = fold(text).split()
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


_INSTRUCTION_RUNS = frozenset(r for t in _instruction_texts() for r in _word_runs(t, LEAK_WORDS))


def leaked_instructions(follow_up: str) -> str | None:
    """What in a (cleaned) follow-up comes from the writer's prompt rather than from a user, or None:
    the transcript's markup (its ``=====`` frame, a line starting with its ``Assistant:`` or
    ``Person:`` label) or ``LEAK_WORDS`` words in a row of its instructions (case, punctuation
    and spacing folded)."""
    if m := _LEAK_MARKUP.search(follow_up):
        return f"the writer's transcript markup {m.group(0).strip()!r}"
    # The first run in the follow-up's own order: the same reason on every run.
    if hit := next((r for r in _word_runs(follow_up, LEAK_WORDS) if r in _INSTRUCTION_RUNS), None):
        return f"the writer's instructions word for word ('{' '.join(hit)} ...')"
    return None
