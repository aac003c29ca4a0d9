"""Judge policies: how a judge's replies become verdicts, and the key a verdict is reused by.

* ``fastchat`` (the default) reproduces FastChat's ``llm_judge`` exactly: one call per verdict;
  single grading takes the first ``[[n]]`` (else ``[n]``) as the grade *whatever its value*
  (``[[11]]`` is 11) and -1 when there is no number; pairwise takes ``[[A]]``/``[[B]]``/``[[C]]``
  or ``error``. Numbers averaged under this policy are FastChat's numbers.
* ``robust`` asks again, in the same conversation, up to ``reask`` times when no verdict can be
  read or a grade lies outside 1-10; a grade still outside 1-10 is recorded as -1 (no grade).

Every judgment row records its policy (``policy``), its sample index (``sample``) and a
``request_key``: the sha256 of the canonical judge request(s) as the request cache keys them
(system prompt with the language sentence, user prompt, judge model, temperature, max tokens,
grammar, seed, sample), plus the policy and the language gate's decision. A row is reused on a
re-run only when this key is the same; otherwise it is judged again (through the request cache,
so a call already paid for is not paid again).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from tagengo.bench.prompts import REASK_PAIR, REASK_SINGLE, REASK_TWO_SCORE
from tagengo.bench.verdicts import single_verdict_ok
from tagengo.llm.types import ChatRequest

PolicyName = Literal["fastchat", "robust"]
#: Follow-ups per unreadable verdict under the robust policy when ``--reask`` is not given.
ROBUST_REASK = 2


@dataclass(frozen=True, slots=True)
class JudgePolicy:
    """``name``: 'fastchat' or 'robust'; ``reask``: follow-up calls (0 under fastchat)."""

    name: PolicyName
    reask: int = 0

    @property
    def range_check(self) -> bool:
        return self.name == "robust"

    def usable(self, kind: str, verdict: Any) -> bool:
        """Whether a parsed verdict ends the conversation (no follow-up needed)."""
        if kind == "single":
            return single_verdict_ok(verdict) if self.range_check else verdict != -1
        return verdict != "error"

    def final(self, kind: str, verdict: Any) -> Any:
        """The verdict recorded after the last reply: the robust policy turns an out-of-range
        grade into -1; FastChat keeps whatever number it parsed."""
        if kind == "single" and self.range_check and not single_verdict_ok(verdict):
            return -1
        return verdict

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "reask": self.reask, "range_check": self.range_check}
        if self.reask:  # the follow-up questions are part of what the judge is asked
            d["reask_texts"] = [REASK_SINGLE, REASK_PAIR, REASK_TWO_SCORE]
        return d


def verdict_key(
    model_id: str, requests: list[ChatRequest], policy: JudgePolicy, gate: dict[str, Any] | None
) -> str:
    """The ``request_key`` of a verdict: the cache keys of its first request(s) (one for single
    grading, two for a pair: both orders), the policy that read the replies, and the gate's
    decision (None when the gate let the answer through)."""
    payload = {
        "requests": [r.key(model_id) for r in requests],
        "policy": policy.to_dict(),
        "gate": gate,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
