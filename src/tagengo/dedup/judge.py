"""The band judge (opt-in, ``--judge-band``): a model asked whether two prompts are one request.

The request check (:mod:`tagengo.dedup.request`) keeps a candidate pair apart for one of two
kinds of reason. *Hard* ones are decided without a model and stay decided: another number,
another language named, another name, the roles or the languages named swap, "before" against
"after". *Soft* ones are the substitution test's: the words that differ moved the prompt as far
as a neutral noun would (a swap or a spread difference over its ratio). There a synonym and a
word of the same class look alike to the embedder ("Figur"/"Persönlichkeit" against
"Herbst"/"Frühling"), and a model that reads both prompts may tell them apart. So, with the
judge on, every pair kept apart for a soft reason is asked to the configured model through the
client layer (:func:`tagengo.llm.build_client`: the request cache, retries, limits and
accounting of every stage); nothing under the band edge and no hard stop ever reaches it.

The reply must be one word, ``SAME`` or ``DIFFERENT`` (:func:`parse_verdict`; case and a final
full stop aside, nothing else is read). A reply the answer contract refuses
(:func:`tagengo.llm.answer.answer_problem`: the call failed, was cut, empty, ...) or that holds
anything else is a counted failure and the pair stays apart: a judge that cannot answer never
merges two rows.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tagengo.llm.config import LLMConfig

SAME = "SAME"
DIFFERENT = "DIFFERENT"
#: The failure kind of a reply that passed the answer contract but is neither verdict.
UNREADABLE = "unreadable verdict"
#: llama.cpp grammar (``--constrain-verdict``): a small local model can then only say one of the two.
VERDICT_GRAMMAR = f'root ::= "{SAME}" | "{DIFFERENT}"'

# Written for this project. The rules name what makes two requests different (the slots a
# near miss fills otherwise) and what does not (what a post-edit or another translation changes).
SYSTEM = (
    "You check a dataset of user requests for duplicates. You are shown two requests. They are the "
    "SAME request when one answer would serve both: the same task about the same thing, with the same "
    "numbers, limits, target language, people, places and products. Other wording, synonyms, word "
    "order, politeness, a dropped or added filler word, and another translation of the same text do "
    "not make them different. Another topic, object, amount, constraint, language or named entity "
    "does. Reply with exactly one word: SAME or DIFFERENT."
)
USER = "Request A:\n<<<\n{a}\n>>>\n\nRequest B:\n<<<\n{b}\n>>>\n\nOne word, SAME or DIFFERENT:"

_VERDICT = re.compile(rf"({SAME}|{DIFFERENT})\.?", re.IGNORECASE)


def parse_verdict(text: str) -> str | None:
    """``SAME`` or ``DIFFERENT`` when the reply is that one word (any case, a final full stop and
    surrounding white space allowed); None for anything else, a sentence around it included:
    "Not the SAME" must not read as SAME."""
    m = _VERDICT.fullmatch(text.strip())
    return m.group(1).upper() if m else None


def judge_messages(a: str, b: str) -> list[dict[str, str]]:
    """The chat messages asking whether ``a`` and ``b`` are one request."""
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER.format(a=a, b=b)}]


def judge_name(llm: LLMConfig) -> str:
    """The judge as a reason names it: the model name, or the GGUF file's stem in-process."""
    if llm.model:
        return llm.model
    if llm.backend == "llamacpp":
        if llm.model_path is not None:
            return Path(llm.model_path).stem
        from tagengo.llm.backends.llamacpp import BUNDLED_GGUF_NAME

        return Path(BUNDLED_GGUF_NAME).stem
    return llm.azure_deployment or llm.backend


@dataclass
class Answer:
    """The judge's verdict on one pair: ``SAME``, ``DIFFERENT``, or None with ``failure`` (the
    answer contract's problem kind, or :data:`UNREADABLE`) and its ``detail``."""

    verdict: str | None
    failure: str | None = None
    detail: str = ""
    cached: bool = False


@dataclass
class Tally:
    """Counts of one language (or one run): asked, merged, kept apart, failed by kind."""

    judged: int = 0
    same: int = 0
    different: int = 0
    failed: int = 0
    cached: int = 0
    failures: Counter = field(default_factory=Counter)

    def add(self, answers: Sequence[Answer]) -> None:
        for a in answers:
            self.judged += 1
            self.cached += a.cached
            if a.verdict == SAME:
                self.same += 1
            elif a.verdict == DIFFERENT:
                self.different += 1
            else:
                self.failed += 1
                self.failures[a.failure or UNREADABLE] += 1

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "judged": self.judged,
            "merged": self.same,
            "kept_apart": self.different,
            "failed": self.failed,
            "cached": self.cached,
        }
        if self.failures:
            out["failures"] = dict(sorted(self.failures.items()))
        return out


class BandJudge:
    """Asks the configured model about pairs; the client is built on the first call (through
    :class:`tagengo.run.llm_stage.LLMStage`, never by hand) and closed by :meth:`close`."""

    def __init__(
        self,
        llm: LLMConfig,
        *,
        max_tokens: int = 16,
        constrain: bool = False,
        progress: bool = False,
        client: Any = None,
    ) -> None:
        self.llm = llm
        self.max_tokens = max_tokens
        self.constrain = constrain
        self.progress = progress
        self.name = judge_name(llm)
        self._client = client
        self._own = client is None
        self._stage: Any = None  # the LLMStage that built the client, when this judge built it

    def request(self, a: str, b: str):
        from tagengo.llm import ChatRequest

        extra = {"grammar": VERDICT_GRAMMAR} if self.constrain else {}
        return ChatRequest.from_messages(
            judge_messages(a, b), temperature=0.0, max_tokens=self.max_tokens, extra=extra
        )

    def ask(self, pairs: Sequence[tuple[str, str]], desc: str = "dedup: judge") -> list[Answer]:
        """One answer per pair, in order. Raises what the client raises for a whole run (the
        server refuses everything, the budget is spent): the run stops, resumable."""
        if not pairs:
            return []
        from tagengo.llm.answer import answer_problem

        if self._client is None:
            # Built on the first call, in the process that runs the step (never when no pair
            # is asked), by the LLM-stage floor every stage gets its clients from; closed with it.
            from tagengo.run.llm_stage import LLMStage

            self._stage = LLMStage(self.progress)
            self._client = self._stage.client(None, self.llm)
        requests = [self.request(a, b) for a, b in pairs]
        out = []
        for req, resp in zip(requests, self._client.chat_many(requests, desc=desc), strict=True):
            cached = bool(getattr(resp, "cached", False))
            problem = answer_problem(resp, req)
            if problem is not None:
                out.append(Answer(None, problem.kind, problem.detail[:200], cached))
                continue
            verdict = parse_verdict(resp.content or "")
            if verdict is None:
                out.append(Answer(None, UNREADABLE, repr((resp.content or "")[:80]), cached))
            else:
                out.append(Answer(verdict, cached=cached))
        return out

    def close(self) -> None:
        if self._stage is not None:
            self._stage.close()  # closes the client it built
        self._stage = None
        self._client = None if self._own else self._client

    def __enter__(self) -> BandJudge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
