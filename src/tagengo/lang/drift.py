"""An answer that starts in one language and drifts into another: read in runs of one language
each, it fails when runs lid.176 gives confidently to one other language hold a large share of
its letters, though the whole text passed (one German clause then four English sentences scored
'en' at 0.86 to 0.898 as a whole, under the gate's 0.9, and was kept). Used by the answer-language
gate (tagengo.lang.gate.LanguageGate.check): bench's and prefer's gate and every stage's answer
check (tagengo.llm.answer.language_problem)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tagengo.lang.langid import strip_code
from tagengo.lang.languages import near_group
from tagengo.lang.verdict import letters

_SPACE = re.compile(r"\s+")

#: An answer drifts into another language when blocks lid.176 gives to that one language, each
#: with at least --gate-min-prob, hold at least this share of its letters (code removed). Checked
#: on answers the whole-text check passed: one clause in the row's language and four sentences of
#: English scored 'en' at 0.898, under the 0.9 gate, and was kept (the last newcomer trial).
DRIFT_MIN_SHARE = 0.4
#: A piece of an answer: up to the end of a sentence (one of these marks and white space; the
#: CJK ones need none), of a line, or of a clause before a colon ("Regen entsteht so: The droplets ...").
_PIECE = re.compile(r"[^\n]+?(?:[.!?:\u061f\u0964](?=\s|$)|[\u3002\uff01\uff1f\uff1a]|(?=\n)|$)")


@dataclass(frozen=True, slots=True)
class Drift:
    """Where an answer turns to another language: that ``language``, the ``share`` of the letters
    in its runs (:func:`text_runs`), ``blocks`` of ``of`` runs, and the text before the first."""

    language: str
    share: float
    blocks: int
    of: int
    before: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "share": round(self.share, 3),
            "blocks": self.blocks,
            "of": self.of,
        }

    def reason(self, what: str, language: str, min_prob: float) -> str:
        before = _SPACE.sub(" ", self.before).strip()
        head = before if len(before) <= 40 else before[:37] + "..."
        where = f"after {len(before):,} characters ({head!r})" if before else "from its first sentence"
        return (
            f"lid.176 says {self.share:.0%} of the {what} ({self.blocks} of {self.of} blocks) is "
            f"'{self.language}' (p>={min_prob:g} each), the row's language is '{language}': it drifts "
            f"into '{self.language}' {where} (--no-gate turns the check off)"
        )


def text_runs(text: str, min_letters: int, detect: Any) -> list[tuple[int, str, str | None]]:
    """(start offset in the code-free text, run, its language) of ``text`` with code and URLs
    removed: its sentences, lines and clauses after a colon, each labelled by ``detect`` (text ->
    (code, probability)) when it holds ``min_letters`` letters (the gate's --gate-min-chars: LID
    is not trusted below; a shorter one takes the label of the run before it, or starts an
    unlabelled run), and the neighbours of one label joined into one run: the longer the text,
    the surer lid.176 is, and a language change falls between two runs."""
    plain = strip_code(text)
    runs: list[list[Any]] = []  # [start, end, label]
    for m in _PIECE.finditer(plain):
        piece = m.group()
        label = detect(piece)[0] if letters(piece) >= min_letters else None
        if runs and (label is None or label == runs[-1][2]):
            runs[-1][1] = m.end()
        else:
            runs.append([m.start(), m.end(), label])
    return [(start, plain[start:end], label) for start, end, label in runs]


def drifts(text: str, language: str, detect: Any, min_prob: float, min_chars: int) -> Drift | None:
    """The :class:`Drift` of ``text`` away from ``language`` (a record code), or None: the runs
    of :func:`text_runs` that lid.176 (``detect``: text -> (code, probability)), reading each
    again as a whole, gives to another language (outside the row's near group) with at least
    ``min_prob`` (--gate-min-prob), counted by their letters; runs are labelled from ``min_chars``
    letters on (--gate-min-chars)."""
    min_letters = max(min_chars, 1)
    total = letters(text)
    if total < 2 * min_letters:  # one labelled run at most: the whole-text check said all there is
        return None
    runs = text_runs(text, min_letters, detect)
    if len(runs) < 2:
        return None
    group = near_group(language)
    other: dict[str, int] = {}  # letters per other language
    count: dict[str, int] = {}  # runs per other language
    first: dict[str, int] = {}  # where its first run starts
    for start, run, label in runs:
        if label is None or label in group:
            continue
        code, prob = detect(run)
        if code not in group and prob >= min_prob:
            other[code] = other.get(code, 0) + letters(run)
            count[code] = count.get(code, 0) + 1
            first.setdefault(code, start)
    if not other:
        return None
    lang, n = max(other.items(), key=lambda kv: kv[1])
    share = n / total
    if share < DRIFT_MIN_SHARE:
        return None
    return Drift(lang, share, count[lang], len(runs), strip_code(text)[: first[lang]])
