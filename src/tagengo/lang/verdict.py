"""Is this text in that language? ``expect(text, language) -> Verdict``, the one answer that
curate's language-ID filter, bench's answer-language gate, extend's drift check and translate's
output check all ask for.

lid.176 reads the text as :func:`~tagengo.lang.langid.detector_text` prepares it (code blocks,
inline code and URLs left out; optionally identifiers and math, and ALL-CAPS folded). The
language counts together with its near-language group (:func:`~tagengo.lang.languages.near_group`:
Bosnian passes for Croatian, Malay for Indonesian). The thresholds are parameters; each caller
passes its own config's, and the defaults are the ones most callers use.

Three ways to decide, as the callers need them:

* the score rule (default; extend, translate): the probability of the language and its group
  among the top ``k`` labels reaches ``threshold``;
* ``top_in_group`` (curate): the top label must also be in the group; a label prior
  (``agree_threshold``) and a second opinion (lingua among the candidates) can then keep a text
  the score alone does not;
* ``other_above`` (bench): the text fails only when another language is detected with at least
  that probability (a text LID is unsure of passes).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from tagengo.lang.langid import LanguageIdentifier, Prediction, detector_text, strip_code
from tagengo.lang.languages import near_group

#: A letter: a word character that is not a digit nor an underscore (any script).
_LETTER = re.compile(r"[^\W\d_]")
_NOT_LETTERS = re.compile(r"[\W\d_]+")  # the complement of _LETTER


class Chooser(Protocol):
    """A second opinion: ``SecondOpinion`` or ``SharedSecondOpinion`` of tagengo.lang.langid.
    One that also has ``ask(line, candidates)`` (send the question; calling what it returns gives
    the answer, later for a server) is asked that way by :func:`expect_deferred`."""

    def choose(self, line: str, candidates: list[str]) -> tuple[str, float] | None: ...


@dataclass(slots=True)  # not frozen: frozen fields cost 4x to set, and curate makes one per row
class Verdict:
    """What language ID said about a text against the language it should be in (read-only).

    ``checked`` False: the text had too few letters to judge (``ok`` is then True). ``score``: the
    probability of ``language`` and its near group among the labels read (``exact`` rule: the
    top label's). ``kept_by``: ``label_prior`` or ``second_opinion`` when one of them, not the
    score, passed the text; ``second_opinion``: lingua's (code, confidence) when it was asked."""

    language: str
    checked: bool = True
    ok: bool = True
    prediction: Prediction | None = None
    score: float = 0.0
    group: frozenset[str] = frozenset()
    kept_by: str = ""
    second_opinion: tuple[str, float] | None = None

    @property
    def detected(self) -> str:
        """lid.176's top label ("" when not checked)."""
        return self.prediction.top if self.prediction is not None else ""

    @property
    def prob(self) -> float:
        """The probability of the top label (0.0 when not checked)."""
        return self.prediction.score if self.prediction is not None else 0.0

    @property
    def agrees(self) -> bool:
        """The top label is the language or in its near group."""
        return self.detected in self.group


@dataclass(slots=True)
class PendingVerdict:
    """A :class:`Verdict` that waits for the second opinion's answer (:func:`expect_deferred`):
    ``settle()`` reads it and decides as :func:`expect` would have."""

    verdict: Verdict
    answer: Callable[[], tuple[str, float] | None]
    second_opinion_min: float

    def settle(self) -> Verdict:
        v = self.verdict
        pick = self.answer()
        # A clear pick only: on a line with little language in it ("h e l l o") lingua spreads
        # its confidence over the candidates.
        if pick is not None and pick[0] in v.group and pick[1] >= self.second_opinion_min:
            v.ok, v.kept_by = True, "second_opinion"
        v.second_opinion = pick
        return v


def letters(text: str) -> int:
    """Letters of ``text`` outside code blocks, inline code and URLs (digits and ``_`` are no
    letters): what the callers' ``min_letters`` counts."""
    # What is left once every run of non-letters is cut: the count of ``_LETTER`` matches, without
    # a list of one-character strings (1.7x faster on a long answer).
    return len(_NOT_LETTERS.sub("", strip_code(text)))


_shared: LanguageIdentifier | None = None
_shared_lock = threading.Lock()


def bundled_identifier() -> LanguageIdentifier:
    """The bundled lid.176, loaded once per process (thread-safe)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = LanguageIdentifier()
        return _shared


def expect(
    text: str,
    language: str,
    *,
    identifier: LanguageIdentifier | None = None,
    threshold: float = 0.5,
    strict: bool = False,
    near: bool = True,
    k: int = 3,
    min_letters: int = 0,
    strip: bool = True,
    technical: bool = False,
    fold_upper: bool = False,
    prepared: bool = False,
    settle_on_top: bool = False,
    top_in_group: bool = False,
    agree_threshold: float | None = None,
    second_opinion: Chooser | None = None,
    second_opinion_min: float = 0.5,
    trust_other_above: float = 0.9,
    other_above: float | None = None,
) -> Verdict:
    """Whether ``text`` is in ``language`` (a record code), by lid.176.

    ``identifier``: the caller's model (default: the bundled one, once per process).
    ``threshold``/``strict``: the score needed (``score >= threshold``; strict: ``>``).
    ``near``: count the language's near-language group (False: the ``exact`` rule, the top label
    must be the language and the score is its probability). ``k``: labels read for the group sum.
    ``min_letters``: texts with fewer letters (:func:`letters`) are not checked.
    ``strip``/``technical``/``fold_upper``: how the text is prepared (:func:`detector_text`);
    ``prepared``: ``text`` is :func:`detector_text`'s line already, read as it is.
    ``settle_on_top``: ask for the top label alone first; a text whose top label is the language
    at the threshold is settled by it (a fast path: most texts need no top-``k`` call; the score is
    then the top label's). ``top_in_group``: the top label must be in the group too.
    ``agree_threshold``: with ``top_in_group``, the lower score that passes when the top label
    agrees (the language is a prior). ``second_opinion``: asked, among the language and the top
    labels, about a text still failing, unless another language's top label reaches
    ``trust_other_above``; its pick passes the text when it is in the group with at least
    ``second_opinion_min``. ``other_above``: instead of the score rule, fail only a text whose top
    label is another language with at least this probability.
    """
    out = expect_deferred(
        text,
        language,
        identifier=identifier,
        threshold=threshold,
        strict=strict,
        near=near,
        k=k,
        min_letters=min_letters,
        strip=strip,
        technical=technical,
        fold_upper=fold_upper,
        prepared=prepared,
        settle_on_top=settle_on_top,
        top_in_group=top_in_group,
        agree_threshold=agree_threshold,
        second_opinion=second_opinion,
        second_opinion_min=second_opinion_min,
        trust_other_above=trust_other_above,
        other_above=other_above,
    )
    return out.settle() if isinstance(out, PendingVerdict) else out


def expect_deferred(
    text: str,
    language: str,
    *,
    identifier: LanguageIdentifier | None = None,
    threshold: float = 0.5,
    strict: bool = False,
    near: bool = True,
    k: int = 3,
    min_letters: int = 0,
    strip: bool = True,
    technical: bool = False,
    fold_upper: bool = False,
    prepared: bool = False,
    settle_on_top: bool = False,
    top_in_group: bool = False,
    agree_threshold: float | None = None,
    second_opinion: Chooser | None = None,
    second_opinion_min: float = 0.5,
    trust_other_above: float = 0.9,
    other_above: float | None = None,
) -> Verdict | PendingVerdict:
    """:func:`expect`, except that a text sent to the second opinion comes back as a
    :class:`PendingVerdict` without waiting for the answer: a caller checking a batch sends its
    questions as it goes and settles those texts after the rest (:meth:`PendingVerdict.settle`,
    in the order it chooses), so the second opinion's model loading overlaps its work."""
    if min_letters > 0 and letters(text) < min_letters:
        return Verdict(language, checked=False)
    lid = identifier if identifier is not None else bundled_identifier()
    line = text if prepared else detector_text(text, strip, technical, fold_upper)
    group = near_group(language) if near else frozenset({language})
    pred = None
    if settle_on_top:
        pred = lid.predict(line, 1)
        if pred.top == language and _passes(pred.score, threshold, strict):
            return Verdict(language, prediction=pred, score=pred.score, group=group)
    if near:
        pred = lid.predict(line, k)
        score = pred.group_score(group)
    else:
        if pred is None:
            pred = lid.predict(line, k)
        score = pred.score
        if settle_on_top and second_opinion is not None:  # its candidates are the top labels
            pred = lid.predict(line, k)
    agrees = pred.top in group
    if other_above is not None:
        ok = not (pred.top and not agrees and pred.score >= other_above)
        return Verdict(language, ok=ok, prediction=pred, score=score, group=group)
    ok = (agrees or not top_in_group) and _passes(score, threshold, strict)
    how = ""
    if not ok and top_in_group and agrees and agree_threshold is not None and score >= agree_threshold:
        ok, how = True, "label_prior"
    verdict = Verdict(language, ok=ok, prediction=pred, score=score, group=group, kept_by=how)
    if not ok and second_opinion is not None and (agrees or pred.score < trust_other_above):
        candidates = [language, *pred.labels]
        ask = getattr(second_opinion, "ask", None)
        if ask is not None:
            answer = ask(line, candidates)
        else:
            pick = second_opinion.choose(line, candidates)
            answer = lambda: pick  # noqa: E731 - the answer is known already
        return PendingVerdict(verdict, answer, second_opinion_min)
    return verdict


def _passes(score: float, threshold: float, strict: bool) -> bool:
    return score > threshold if strict else score >= threshold


def knows(language: str) -> bool:
    """Whether lid.176 can name ``language`` or a language of its near group. A check of a
    language it cannot name would fail every text (lid.176 must call it something else, often
    with confidence), so callers skip such rows instead."""
    return bool(near_group(language) & _lid176_codes())


@functools.cache
def _lid176_codes() -> frozenset[str]:
    """The record codes of lid.176's labels (tagengo.lang.languages.LID176_LABELS)."""
    from tagengo.lang.languages import LID176_LABELS, lid_label_to_code

    out = set()
    for label in LID176_LABELS:
        try:
            out.add(lid_label_to_code(label))
        except Exception:  # a label that maps to no language
            continue
    return frozenset(out)
