"""Token, latency, finish-reason and cost accounting, plus the budget guard.

One ``Accounting`` per client, kept for the client's whole life (several ``chat_many``
calls add up). ``summary()`` is plain JSON for the manifest; ``table()`` is the rich
table printed at the end of a run.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table

from tagengo.llm.types import ChatRequest, ChatResponse

_LATENCY_SAMPLE = 20_000  # latencies kept for percentiles; beyond that every k-th is kept
#: A run warns when at least this many distinct prompts got one identical answer: a canned reply
#: ("the service is overloaded, try again later") sent with status 200 and finish stop passes
#: every check of the answer contract, and 40 of 40 were kept in the s31 newcomer trial.
SAME_ANSWER_MIN = 5
#: Only answers this short are compared (canned replies are a sentence or two); longer ones cost
#: memory and are never the same by accident of a server.
SAME_ANSWER_MAX_CHARS = 500
#: Distinct short answers remembered per model and summary (a bound on memory; past it, answers
#: already seen are still counted).
SAME_ANSWER_KEEP = 50_000
#: Characters of the repeated answer shown in the warning.
SAME_ANSWER_SHOWN = 60


def estimate_input_tokens(request: ChatRequest) -> int:
    """An upper-leaning estimate of the prompt's tokens, for the budget and the TPM limit.

    cl100k (GPT-4's tokenizer) counts, plus 10% and the chat template's few tokens per
    message. cl100k counts at or above o200k (GPT-4o's) in every script we tried, and the
    margin absorbs most other tokenizers. Without bpe-openai: UTF-8 bytes / 2, which stays
    above cl100k even for Japanese and Hindi."""
    enc = _cl100k()
    n = 3
    for content in request.prompt_texts():
        if enc is not None:
            n += 4 + math.ceil(len(enc.encode_ordinary(content)) * 1.1)
        else:
            n += 4 + len(content.encode("utf-8")) // 2
    return n


@functools.cache
def _cl100k() -> Any:
    try:
        import bpe_openai

        return bpe_openai.get_encoding("cl100k_base")
    except Exception:  # not installed, or its data missing: fall back to the byte count
        return None


#: Model-name prefixes of OpenAI models tokenised with o200k_base; every other model is counted
#: with cl100k_base (the closest offline stand-in for an unknown tokenizer, see above).
_O200K_PREFIXES = ("gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4")


def encoding_for_model(model: str | None) -> str:
    """The BPE of ``model`` where we know it (OpenAI's o200k family), else cl100k_base."""
    name = (model or "").lower().rsplit("/", 1)[-1]
    return "o200k_base" if name.startswith(_O200K_PREFIXES) else "cl100k_base"


def count_usage(request: Any, content: str | None, model: str | None) -> tuple[int, int]:
    """(prompt tokens, completion tokens) counted here, for a server that reported no usage.

    The model's own tokenizer where known (``encoding_for_model``), cl100k otherwise, with the
    chat format's overhead as OpenAI documents it: 3 tokens per message and 3 to prime the
    reply. ``request`` is a ``ChatRequest`` (or anything with ``prompt_texts()``)."""
    from tagengo.lang.tokens import TokenCounter

    counter = TokenCounter(encoding_for_model(model))
    texts = list(request.prompt_texts())
    n_in = 3 + sum(3 + counter.count(t) for t in texts)
    return n_in, counter.count(content or "")


@dataclass
class ModelUsage:
    """Figures for one model (the model name the server answered with)."""

    calls: int = 0  # calls paid for in this run
    cached: int = 0  # answers replayed from the cache (free)
    failed: int = 0  # calls that failed for good
    retries: int = 0  # extra attempts spent on transient errors
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    cached_cost: float = 0.0  # what the replayed answers cost when they were made
    latency_sum: float = 0.0
    latencies: list[float] = field(default_factory=list)
    finish_reasons: Counter = field(default_factory=Counter)  # normalised (tagengo.llm.finish)
    unknown_finish_reasons: Counter = field(default_factory=Counter)  # raw values read as "unknown"
    tokens_estimated: int = 0  # paid calls whose server sent no usage: tokens counted here
    errors: Counter = field(default_factory=Counter)
    reasoning: int = 0  # answers that came with reasoning, split from the answer (tagengo.llm.answer)
    replaced_chars: int = 0  # characters that were not valid Unicode, replaced by U+FFFD
    #: Kept answers that said stop, came without usage and end on a letter (meta ends_mid_sentence).
    ends_mid_sentence: int = 0
    #: Answers this model gave for another model asked for (a gateway's fallback), per name asked.
    requested: Counter = field(default_factory=Counter)
    #: Short answers by digest: [distinct prompts that got it, its first characters].
    same_answers: dict[str, list[Any]] = field(default_factory=dict)
    _seen_latency: int = 0

    def add_latency(self, s: float) -> None:
        self.latency_sum += s
        self._seen_latency += 1
        step = 1 + self._seen_latency // _LATENCY_SAMPLE
        if self._seen_latency % step == 0:
            self.latencies.append(s)

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * (len(xs) - 1) + 0.5))]


class Accounting:
    """Collects every response; knows what was spent and what calls in flight could add."""

    def __init__(self, budget: float | None = None):
        self.budget = budget
        self.models: dict[str, ModelUsage] = {}
        self.spent = 0.0  # new spend in this client's life (cached answers are free)
        self.reserved = 0.0  # worst-case cost of the calls in flight
        self.reserved_calls = 0  # how many: a float sum never returns to exactly 0
        self.output_tokens = 0  # of paid calls, for tokens/s
        self.started = time.monotonic()
        #: (answer digest, prompt digest) of short answers counted (``note_answer``).
        self._answered_prompts: set[tuple[str, str]] = set()

    def _usage(self, model: str) -> ModelUsage:
        u = self.models.get(model)
        if u is None:
            u = self.models[model] = ModelUsage()
        return u

    # -- budget -----------------------------------------------------------------------------

    def can_afford(self, worst_case: float) -> bool:
        """True if the call may start: spend so far + calls in flight + this one stays in budget."""
        return self.budget is None or self.spent + self.reserved + worst_case <= self.budget

    def reserve(self, worst_case: float) -> None:
        self.reserved += worst_case
        self.reserved_calls += 1

    def release(self, worst_case: float) -> None:
        self.reserved_calls -= 1
        self.reserved = max(0.0, self.reserved - worst_case) if self.reserved_calls else 0.0

    # -- recording --------------------------------------------------------------------------

    def record(self, response: ChatResponse, model: str, request: Any = None) -> None:
        """Count one row's response; with ``request`` its answer text too (``note_answer``)."""
        if request is not None:
            self.note_answer(response, model, request)
        u = self._usage(response.model or model)
        if request is not None:
            from tagengo.llm.answer import ends_mid_sentence  # the contract's test; llm/ imports it first

            u.ends_mid_sentence += ends_mid_sentence(response)
        if response.cached:
            u.cached += 1
            u.cached_cost += response.cost
            self._count_finish(u, response)
            return
        u.retries += max(0, response.attempts - 1)
        if response.error is not None:
            u.failed += 1
            kind = response.error_kind
            # Filters and error bodies are counted by their contract word, other failures by their
            # first words ('HTTP 400', 'timeout').
            u.errors[kind if kind in ("filtered", "provider error") else _error_kind(response.error)] += 1
            return
        u.calls += 1
        u.input_tokens += response.input_tokens
        u.output_tokens += response.output_tokens
        u.cost += response.cost
        u.add_latency(response.latency_s)
        self._count_finish(u, response)
        if response.tokens_estimated:
            u.tokens_estimated += 1
        self.spent += response.cost
        self.output_tokens += response.output_tokens

    def note_answer(self, response: ChatResponse, model: str, request: Any = None) -> None:
        """Count an answer's text once per distinct prompt (``request``; without one, once per
        call), so a reply the server gives to many prompts shows in the summary."""
        text = (response.content or "").strip()
        if response.error is not None or not text or len(text) > SAME_ANSWER_MAX_CHARS:
            return
        u = self._usage(response.model or model)
        digest = _digest(" ".join(text.split()))
        if isinstance(request, ChatRequest):
            pair = (digest, _digest("\x00".join(map(str, request.prompt_texts()))))
            if pair in self._answered_prompts:
                return  # the same prompt again (a repeat in the input): not another prompt
            if len(self._answered_prompts) < SAME_ANSWER_KEEP:
                self._answered_prompts.add(pair)
        seen = u.same_answers.get(digest)
        if seen is not None:
            seen[0] += 1
        elif len(u.same_answers) < SAME_ANSWER_KEEP:
            u.same_answers[digest] = [1, text[:SAME_ANSWER_SHOWN]]

    @staticmethod
    def _count_finish(u: ModelUsage, response: ChatResponse) -> None:
        if asked := response.raw.get("requested_model"):  # tagengo.llm.client._served
            u.requested[asked] += 1
        u.reasoning += response.reasoning is not None
        u.replaced_chars += response.replaced_chars
        reason = response.finish_reason or "none"
        u.finish_reasons[reason] += 1
        if reason == "unknown":
            u.unknown_finish_reasons[str(response.raw.get("finish_reason"))] += 1

    def tokens_per_s(self) -> float:
        dt = time.monotonic() - self.started
        return self.output_tokens / dt if dt > 0 else 0.0

    # -- reporting --------------------------------------------------------------------------

    def summary(self, *, percentiles: bool = True) -> dict[str, Any]:
        """JSON-ready figures per model. All numbers add up across workers and chunks
        (``Step.merge_summaries`` adds them) except the latency percentiles, which are left
        out with ``percentiles=False``."""
        out: dict[str, Any] = {}
        for name, u in self.models.items():
            d: dict[str, Any] = {
                "calls": u.calls,
                "cached": u.cached,
                "failed": u.failed,
                "retries": u.retries,
                "input_tokens": u.input_tokens,
                "output_tokens": u.output_tokens,
                "cost": round(u.cost, 6),
                "cached_cost": round(u.cached_cost, 6),
                "latency_s_sum": round(u.latency_sum, 3),
                "finish_reasons": dict(u.finish_reasons),
                "errors": dict(u.errors),
            }
            if u.unknown_finish_reasons:
                d["unknown_finish_reasons"] = dict(u.unknown_finish_reasons)
            if u.reasoning:
                d["reasoning"] = u.reasoning
            if u.replaced_chars:
                d["replaced_chars"] = u.replaced_chars
            if u.ends_mid_sentence:
                d["ends_mid_sentence"] = u.ends_mid_sentence
            if u.requested:
                d["requested"] = dict(u.requested)
            if same := {k: {"prompts": n, "text": t} for k, (n, t) in u.same_answers.items() if n >= 2}:
                # Twice or more only: chunks' summaries add up the counts (Step.merge_summaries).
                d["same_answers"] = same
            if u.tokens_estimated:
                # Calls whose tokens (and so cost) were counted here: the server sent no usage.
                d["tokens_estimated"] = u.tokens_estimated
            if percentiles:
                d["latency_s_p50"] = round(u.percentile(0.5), 3)
                d["latency_s_p95"] = round(u.percentile(0.95), 3)
            out[name] = d
        return out

    def table(self, title: str = "LLM calls") -> Table:
        return summary_table(self.summary(), title=title)


def summary_table(summary: dict[str, Any], title: str = "LLM calls") -> Table:
    """A rich table of ``Accounting.summary()`` (or of several merged): one line per model.
    ``cost`` is new spend; ``saved`` what the answers replayed from the cache had cost."""
    t = Table(title=title, title_justify="left")
    for col in ("model", "calls", "cached", "failed", "retries", "tokens in", "tokens out", "cost", "saved"):
        t.add_column(col, justify="left" if col == "model" else "right", overflow="fold")
    t.add_column("latency s", justify="right")
    t.add_column("finish reasons; errors", overflow="fold")
    for name, s in sorted(summary.items()):
        reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(s.get("finish_reasons", {}).items()))
        if s.get("unknown_finish_reasons"):
            raw = ", ".join(f"{k!r} {v:,}" for k, v in sorted(s["unknown_finish_reasons"].items()))
            reasons += f" (unknown: {raw})"
        if s.get("tokens_estimated"):
            reasons += f"; tokens counted locally for {s['tokens_estimated']:,} calls (no usage sent)"
        if s.get("requested"):
            reasons += "; served for " + ", ".join(f"{k!r} {v:,}" for k, v in sorted(s["requested"].items()))
        errors = ", ".join(f"{k} {v:,}" for k, v in sorted(s.get("errors", {}).items()))
        calls = s.get("calls", 0)
        if "latency_s_p50" in s:
            latency = f"p50 {s['latency_s_p50']:.2f} p95 {s['latency_s_p95']:.2f}"
        else:
            latency = f"mean {s.get('latency_s_sum', 0.0) / calls:.2f}" if calls else "-"
        t.add_row(
            name,
            f"{calls:,}",
            f"{s.get('cached', 0):,}",
            f"{s.get('failed', 0):,}",
            f"{s.get('retries', 0):,}",
            f"{s.get('input_tokens', 0):,}",
            f"{s.get('output_tokens', 0):,}",
            f"{s.get('cost', 0.0):.4f}",
            f"{s.get('cached_cost', 0.0):.4f}",
            latency,
            "; ".join(x for x in (reasons, errors) if x),
        )
    return t


def served_model_warnings(summary: dict[str, Any]) -> list[str]:
    """One sentence per model a server answered with in place of the one asked for (the
    ``requested`` counts of ``Accounting.summary()``, or of several merged): for stderr and the
    manifest's warnings."""
    out = []
    for served, s in sorted(summary.items()):
        for asked, n in sorted((s.get("requested") or {}).items()):
            out.append(
                f"asked for model {asked!r}, the server answered {n:,} {'call' if n == 1 else 'calls'} with "
                f"{served!r} (a gateway's fallback model?); the rows keep it in meta (requested_model), and "
                "--require-served-model rejects such answers as 'other model'"
            )
    return out


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=8).hexdigest()


def same_answer_warnings(summary: dict[str, Any]) -> list[str]:
    """One sentence per answer text that at least ``SAME_ANSWER_MIN`` distinct prompts got from one
    model (the ``same_answers`` of ``Accounting.summary()``, or of several merged): for stderr and
    the manifest's warnings. A warning, not a rejection: a short reply may rightly repeat ("Yes.")."""
    out = []
    for model, s in sorted(summary.items()):
        found = (s.get("same_answers") or {}).values()
        for item in sorted(found, key=lambda d: -int(d.get("prompts", 0))):
            n = int(item.get("prompts", 0))
            if n >= SAME_ANSWER_MIN:
                out.append(
                    f"{n:,} distinct prompts got the identical answer {item.get('text', '')!r} from {model!r} "
                    "(a canned reply: an overloaded service or a proxy's error text sent as an answer?); "
                    "read those rows before using them"
                )
    return out


def mid_sentence_warnings(summary: dict[str, Any]) -> list[str]:
    """One sentence per model whose kept answers said stop with no token usage and end on a letter
    (``ends_mid_sentence`` of ``Accounting.summary()``): the shape of a cut the server did not
    report. A warning, not a rejection: titles, lists and code end on a letter too."""
    out = []
    for model, s in sorted(summary.items()):
        n = int(s.get("ends_mid_sentence") or 0)
        if n:
            out.append(
                f"{n:,} kept answers from {model!r} said finish_reason=stop without token usage and end "
                "mid-word or mid-sentence (a cut the server did not report?): they carry "
                "meta ends_mid_sentence; read them, or ask the server for usage"
            )
    return out


def _error_kind(error: str) -> str:
    """The first words of an error ('HTTP 400', 'timeout', ...): errors counted by kind."""
    head = error.split(":", 1)[0].strip()
    return head[:40] or "error"
