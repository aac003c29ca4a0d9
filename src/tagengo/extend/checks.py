"""The checks of `tagengo extend`: is a conversation one that can grow (turns alternating), is a
follow-up an echo of an earlier user turn, is an answer a repeat of the answer before it, is a new
turn in the conversation's language.

Language is judged by the project's one language check (``tagengo.lang.verdict.expect``: lid.176
on the text with code blocks, inline code and URLs removed), against the conversation's language
label and its near-language group (Bosnian passes for Croatian), as `tagengo translate` judges a
translation.
"""

from __future__ import annotations

import difflib
import re

from tagengo.lang.langid import LanguageIdentifier
from tagengo.lang.verdict import Verdict, expect

_FOLD = re.compile(r"[\W_]+")


def order_problem(messages: list[dict[str, str]]) -> str | None:
    """Why ``messages`` cannot be extended into a chat every template accepts, or None.

    The shape wanted (export's rule, tagengo.io.writers.row_problems): system turns first, then
    user and assistant alternating, starting with a user turn. It may end with either role: a
    final user turn is answered first."""
    roles = [m["role"] for m in messages]
    i = 0
    while i < len(roles) and roles[i] == "system":
        i += 1
    if i == len(roles):
        return "no user turn"
    for k in range(i, len(roles)):
        want = "user" if (k - i) % 2 == 0 else "assistant"
        if roles[k] != want:
            return f"turns do not alternate: message {k + 1} is {roles[k]}, expected {want}"
    return None


def user_turns(messages: list[dict[str, str]]) -> int:
    return sum(m["role"] == "user" for m in messages)


def fold(text: str) -> str:
    """Text with case, punctuation and spacing folded away (what an echo is compared on)."""
    return _FOLD.sub(" ", text.casefold()).strip()


def echo_of(follow_up: str, earlier: list[str], threshold: float) -> tuple[int, float] | None:
    """(index in ``earlier``, similarity) of the earlier user turn ``follow_up`` repeats, or None.

    Similarity is difflib's ratio on folded text (1.0: the same words), so "Tell me more." is
    not an echo of "Tell me about Rome." but a copy with a changed full stop is."""
    new = fold(follow_up)
    best: tuple[int, float] | None = None
    for i, text in enumerate(earlier):
        old = fold(text)
        if not old:
            continue
        sm = difflib.SequenceMatcher(None, new, old, autojunk=False)
        # The quick upper bounds first: most follow-ups are far from every earlier turn.
        if sm.real_quick_ratio() < threshold or sm.quick_ratio() < threshold:
            continue
        ratio = sm.ratio()
        if ratio >= threshold and (best is None or ratio > best[1]):
            best = (i, ratio)
    return best


#: Characters per shingle of the repeat check. Five characters span a word boundary in
#: alphabetic text (so word order counts, not only vocabulary) and are two or three words of
#: Japanese or Chinese, where there are no spaces to split on.
SHINGLE_CHARS = 5


def shingles(text: str, n: int = SHINGLE_CHARS) -> set[str]:
    """The set of ``n``-character pieces of ``text`` folded (case, punctuation, spacing)."""
    folded = fold(text)
    if len(folded) <= n:
        return {folded} if folded else set()
    return {folded[i : i + n] for i in range(len(folded) - n + 1)}


def repeat_of(answer: str, previous: str, threshold: float) -> float | None:
    """Similarity of ``answer`` to ``previous`` (the answer of the turn before) when at least
    ``threshold``, else None.

    Identical after folding case, punctuation and spacing: 1.0. Otherwise the Jaccard overlap of
    their sets of 5-character shingles (``SHINGLE_CHARS``): a copy with a sentence or a greeting
    added, or a word changed here and there, stays above 0.8, while a real answer to a new
    question, even on the same topic and with the same words, shares far fewer pieces (the
    answers of tests/servers/scripted_extend.py, one topic in five languages, stay below 0.1).
    Linear in the texts' length (difflib's ratio, used for the short follow-ups, is quadratic)."""
    a, b = fold(answer), fold(previous)
    if not a or not b:
        return None
    if a == b:
        return 1.0
    sa, sb = shingles(answer), shingles(previous)
    # The overlap cannot pass the ratio of the smaller set to the larger: skip the intersection.
    if min(len(sa), len(sb)) < threshold * max(len(sa), len(sb)):
        return None
    ratio = len(sa & sb) / len(sa | sb)
    return ratio if ratio >= threshold else None


class LanguageCheck:
    """Is a text in ``expected`` (an ISO code)? One lid.176 call (top 3) per text."""

    def __init__(self, lid: LanguageIdentifier, min_score: float, min_letters: int) -> None:
        self.lid = lid
        self.min_score = min_score
        self.min_letters = min_letters

    def check(self, text: str, expected: str) -> Verdict:
        """``checked`` False: too few letters to judge; ``score``: the probability of ``expected``
        and its near group."""
        return expect(
            text, expected, identifier=self.lid, threshold=self.min_score, k=3, min_letters=self.min_letters
        )
