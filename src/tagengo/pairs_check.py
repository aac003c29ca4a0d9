"""Is a preference pair a preference? One answer for `tagengo prefer`, `tagengo export` and
`tagengo train --method dpo|orpo`.

A pair whose chosen and rejected answers say the same thing teaches nothing but the judge's
noise: DPO and ORPO push the two sides apart, and when the sides are one text the push has no
direction (two models served by one server, a cached answer under two names, greedy decoding of
the same weights in two backends). Such a pair is no preference when its two texts are

* **the same after normalisation**: Unicode NFKC (full-width and compatibility forms fold to
  their plain letters), case folded, white space and punctuation (Unicode categories Z* and
  P*) removed. Formatting alone is no preference worth training on;
* **near-identical**: a character similarity (``difflib``'s ratio, 2·matches / total length,
  on the normalised texts) of at least :data:`NEAR` = 0.98.

Why 0.98: a one-word change in a short answer is a real preference ("The answer is 4." / "The
answer is 5." scores 0.917 normalised) and must pass; two different models (or two samples of
one) do not write a long answer that agrees to 98 % of its characters, while one model served
twice differs, when it differs at all, in a few late tokens. Measured on the 313 labelled text
pairs of ``tagengo/data/calibration/pairs.jsonl`` (10 languages, written for dedup;
``tests/test_pairs_check.py`` keeps the figures): every ``near_miss`` pair (the same sentence with
another number, object or constraint: a real difference) scores below 0.98, the highest 0.959
("Donne 5 conseils …" / "Donne 10 conseils …"), ``related`` at most 0.923, ``paraphrase`` at most
0.868; of the 61 ``rewording`` pairs (the same request re-typed), 17 are equal after
normalisation and 18 reach 0.98. What 0.98 costs: in answers of about 1,000 characters, sides that
differ in fewer than ~20 characters count as the same, so a single changed number in a long answer
is lost with them. Known blind spot of the normalisation: a minus sign is punctuation, so "-5" and
"5" compare equal.
"""

from __future__ import annotations

import difflib
import unicodedata

#: Character similarity (of the normalised texts) from which two answers count as the same.
NEAR = 0.98
#: The reason's first word, what every stage counts pairs by (``same_answer: ...``).
SAME_ANSWER = "same_answer"


def normalise(text: str) -> str:
    """``text`` as compared: NFKC, case folded, without white space and punctuation."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in folded if not c.isspace() and unicodedata.category(c)[0] not in "PZ")


def similarity(a: str, b: str) -> float:
    """``difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()``, or an upper bound of it
    when that bound is already below :data:`NEAR` (the length ratio, then ``quick_ratio``): texts
    that cannot be near-identical cost no alignment."""
    if a == b:
        return 1.0
    total = len(a) + len(b)
    if not total or 2 * min(len(a), len(b)) / total < NEAR:
        return 2 * min(len(a), len(b)) / total if total else 1.0
    m = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if m.quick_ratio() < NEAR:
        return m.quick_ratio()
    return m.ratio()


def same_answer(chosen: str, rejected: str) -> str | None:
    """Why ``chosen`` and ``rejected`` make no preference (a reason starting with
    ``same_answer:``), or None when they differ enough to train on."""
    a, b = normalise(chosen), normalise(rejected)
    if a == b:
        if chosen == rejected:
            return f"{SAME_ANSWER}: chosen and rejected are the same text"
        return f"{SAME_ANSWER}: chosen and rejected differ only in case, white space, punctuation or Unicode form"
    if similarity(a, b) >= NEAR:  # no score in the reason: reasons are counted by their text
        return f"{SAME_ANSWER}: chosen and rejected are near-identical (character similarity >= {NEAR})"
    return None
