"""The ranking judge's prompt (tagengo's own wording), the follow-up sent when its reply
holds no valid ranking, and the prompt a record holds. prefer and route both ask this judge.

The judge sees the conversation so far and the candidate answers under letters (A, B, C ...,
in a seeded shuffled order, see ``tagengo.prefer.step``), is asked for a few short reasons and
then for one last line ``Ranking: C>A=B>D`` (:mod:`tagengo.llm.ranking` parses it strictly).
"""

from __future__ import annotations

from tagengo.llm.ranking import RANKING_PREFIX
from tagengo.records import Record

JUDGE_SYSTEM = (
    "You compare answers written by different AI assistants to the same request and put them in "
    "order of quality. Judge what a demanding user would value: whether the answer does what was "
    "asked, is correct, is complete without padding, and is clear. An answer must be written in "
    "the language the user wrote in ({language}), fluently and naturally; an answer in another "
    "language is worse than any answer in the right one. Ignore the order in which the answers are "
    "shown and the letters they carry, and do not prefer an answer for being longer."
)

JUDGE_USER = """Here is the conversation the assistants were answering.

{conversation}

Here are {n} candidate answers to the last user message.

{answers}

First give a few brief reasons, at most one short sentence per answer. Then end your reply \
with one line that ranks every answer, best first, using each of the letters {letters} exactly \
once, '>' for "better than" and '=' for "as good as", for example:
{prefix} {example}"""

REASK = (
    "I could not read a ranking in your reply ({problem}). Reply with one line only: "
    "'{prefix} ' followed by the letters {letters}, each exactly once, best first, separated by "
    "'>' or '='."
)


def _example(letters: list[str]) -> str:
    # A made-up order (reversed, with one tie when there are three or more), so that the
    # example does not suggest the shown order is the right one.
    rev = letters[::-1]
    if len(rev) >= 3:
        return rev[0] + ">" + rev[1] + "=" + rev[2] + "".join(">" + x for x in rev[3:])
    return ">".join(rev)


def prompt_messages(row: Record) -> list[dict[str, str]]:
    """The prompt a record holds: its messages up to and including the last user turn."""
    msgs = list(row.messages)
    while msgs and msgs[-1]["role"] == "assistant":
        msgs.pop()
    return msgs


def conversation_text(messages: list[dict[str, str]]) -> str:
    """The prompt's turns as ``[User]`` / ``[Assistant]`` / ``[System]`` blocks."""
    names = {"user": "User", "assistant": "Assistant", "system": "System"}
    return "\n\n".join(f"[{names.get(m['role'], m['role'])}]\n{m['content']}" for m in messages)


def judge_messages(
    messages: list[dict[str, str]], answers: list[str], letters: list[str], language: str
) -> list[dict[str, str]]:
    """The judge's request: ``answers[i]`` is shown under ``letters[i]`` (already shuffled)."""
    blocks = "\n\n".join(
        f"[Answer {letter}]\n{answer}\n[End of answer {letter}]"
        for letter, answer in zip(letters, answers, strict=True)
    )
    return [
        {"role": "system", "content": JUDGE_SYSTEM.format(language=language)},
        {
            "role": "user",
            "content": JUDGE_USER.format(
                conversation=conversation_text(messages),
                n=len(answers),
                answers=blocks,
                letters=", ".join(letters),
                prefix=RANKING_PREFIX,
                example=_example(letters),
            ),
        },
    ]


def reask_message(problem: str, letters: list[str]) -> dict[str, str]:
    """The follow-up user turn after an unreadable ranking (``problem``: the parser's reason)."""
    return {
        "role": "user",
        "content": REASK.format(problem=problem, prefix=RANKING_PREFIX, letters=", ".join(letters)),
    }
