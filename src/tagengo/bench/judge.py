"""``tagengo bench judge``: LLM-as-a-judge in FastChat's way, with three additions.

Single grading judges turn 1 on its own and turn 2 with the whole conversation; math,
reasoning and coding get a reference answer. Pairwise judging plays every game twice, with
the answers in both orders. Judgments are written in FastChat's files
(``model_judgment/<judge>_single.jsonl`` / ``_pair.jsonl``) so its tools read them.

The default policy (:mod:`tagengo.bench.policy`) reads replies exactly as FastChat does.
Beyond FastChat:

* the ``robust`` policy: a reply with no readable verdict (or a grade outside 1-10) is
  followed up in the same conversation, up to ``reask`` times; the first and the final parse
  failures are counted and reported. Follow-ups are new requests, so the cache keeps them apart;
* the language sentence of tagengo's prompts, in a named wording (``strict`` or ``consider``,
  tagengo.bench.prompts), recorded in every row (``language_wording``) and counted per run;
* the language gate: an answer confidently in another language than the question gets
  score 1 (or loses its game) with the detected language as the reason, and no judge call;
* resume: a verdict is kept only when its stored ``request_key`` (the full judge request, the
  policy and the gate decision) is the one this run would send; ``$ERROR$`` rows (calls that
  failed for good) are asked again. A file holds one verdict per (question, model(s), turn,
  judge): a new verdict replaces the old one, whatever prompt produced it. Together with the
  client's request cache, re-running a finished judge makes no calls;
* samples: run r sends sample index r-1 in every request key, so repeated runs are independent
  draws and not replays of run 1;
* the answer contract (tagengo.llm.answer): the verdict is read from the text after the judge's
  reasoning (a ``<think>`` block or ``reasoning_content``, split off by the client; kept in the
  row's ``reasoning`` field), so a grade the judge considered while thinking is never taken for
  its verdict. A reply with nothing after its reasoning has no verdict (a parse failure, asked
  again under ``robust``). A call that failed, a reply a content filter withheld, an error body,
  a prompt the server cut (the judge never saw the whole answer) and the prompt sent back as the
  reply (its format example is no verdict) are ``$ERROR$`` rows. Every
  reply the contract finds a problem with is counted by kind (``answer_problems``); a reply cut
  at the token limit is still read as FastChat reads it.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from rich.console import Console

from tagengo.bench.answer import account, write_run_report
from tagengo.bench.config import JudgeConfig
from tagengo.bench.policy import verdict_key
from tagengo.bench.prompts import REASK_PAIR, REASK_SINGLE, REASK_TWO_SCORE, JudgePrompt, PromptSet, role_for
from tagengo.bench.verdicts import (
    is_two_score_format,
    parse_pair,
    parse_rating,
    position_to_model,
    single_verdict_ok,
    verdict_grammar,
)
from tagengo.errors import ConfigError, TagengoError
from tagengo.io.bench_layout import Bench, safe_name
from tagengo.io.fastchat import (
    API_ERROR_OUTPUT,
    NEED_REF_CATS,
    Answer,
    PairJudgment,
    Question,
    SingleJudgment,
    qid_sort_key,
    read_pair_judgments,
    read_single_judgments,
    write_pair_judgments,
    write_single_judgments,
)
from tagengo.lang.bench_names import language_name
from tagengo.lang.gate import GateVerdict, LanguageGate
from tagengo.llm.answer import CALL_FAILED, ECHO, FILTERED, PROMPT_TRUNCATED, PROVIDER_ERROR, answer_problem
from tagengo.llm.types import ChatClient, ChatRequest
from tagengo.run.llm_stage import NoCallSucceeded
from tagengo.run.wording import plural

GATE_MARK = "$LANGUAGE_GATE$"
#: Answer-contract problems that leave no verdict to read: the call failed, a content filter
#: withheld the reply, the server sent an error body, or it cut the prompt (the judge judged
#: part of the answer), or it sent the prompt back (whose format example, "Rating: [[5]]" or
#: "[[A]]", parses as a verdict nobody gave). Other problems (cut at the token limit, nothing
#: after the reasoning) are read as FastChat reads them: a verdict if there is one, else a parse
#: failure.
_NO_VERDICT = (CALL_FAILED, FILTERED, PROVIDER_ERROR, PROMPT_TRUNCATED, ECHO)


@dataclass
class JudgeReport:
    bench: str
    language: str | None
    mode: str
    judge: str
    run: int
    path: str
    prompts: str
    policy: str = "fastchat"
    #: verdicts per language-sentence wording (tagengo.bench.prompts: strict, consider, "as written",
    #: "off"), over every match of the run, reused ones included (the same request, the same wording)
    language_wordings: dict[str, int] = field(default_factory=dict)
    sample: int = 0  # the sample index of this run's requests (run - 1)
    answer_files: list[str] = field(default_factory=list)
    matches: int = 0  # verdicts this run is responsible for (single: per answer turn; pair: per game pair)
    kept: int = 0  # already in the file with the same request key: reused, not asked again
    judged: int = 0  # sent to the judge
    gated: int = 0  # decided by the language gate, no call
    missing_answers: int = 0  # (model, question, turn) with no answer to judge: not in `matches`
    no_reference: int = 0  # ref-needing turns judged with the no-reference prompt (no reference found)
    no_reference_questions: list[str] = field(default_factory=list)  # "<question id> turn <t>"
    reference_file: str | None = None  # where references came from (None: question.jsonl's own)
    duplicates_replaced: int = 0  # verdicts found twice in the file, judged again, written once
    replies: int = 0  # first replies received (single: 1 per match; pair: 2 per match)
    parse_failures_first: int = 0  # first replies with no usable verdict
    reasks: int = 0  # follow-up calls made
    parse_failures_final: int = 0  # still no usable verdict after the follow-ups (-1 / error)
    out_of_range: int = 0  # fastchat policy: grades outside 1-10 recorded as given (FastChat keeps them)
    #: replies that left no verdict to read ($ERROR$ rows): calls that failed for good, and replies a
    #: content filter withheld, an error body or a cut prompt spoilt (_NO_VERDICT)
    api_errors: int = 0
    failed_calls: int = 0  # of api_errors: calls the client gave up on (resp.error), as its progress counts
    #: replies the answer contract found a problem with, by kind (tagengo.llm.answer)
    answer_problems: dict[str, int] = field(default_factory=dict)
    consistent_pairs: int = 0  # pair mode: both orders agreed (among judged pairs without error)
    pairs_without_error: int = 0  # judged pairs (not decided by the gate) without an error
    calls: int = 0
    cached_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    seconds: float = 0.0
    replies_received: int = 0  # requests (first or follow-up) that got a reply, readable or not
    verdicts_in_file: int = 0  # rows of the judgment file after this run (this run's and others')
    verdicts_read: int = 0  # calls that ended with a usable verdict

    @property
    def parse_failure_rate(self) -> float:
        """Share of first replies with no usable verdict (what re-asking repairs)."""
        return self.parse_failures_first / self.replies if self.replies else 0.0

    @property
    def final_failure_rate(self) -> float:
        return self.parse_failures_final / self.replies if self.replies else 0.0

    @property
    def position_consistency(self) -> float | None:
        """Share of the pairs the judge decided (gated pairs left out) whose two orders agreed."""
        return self.consistent_pairs / self.pairs_without_error if self.pairs_without_error else None

    @property
    def reconciles(self) -> bool:
        return self.matches == self.kept + self.judged + self.gated

    def counts(self) -> dict[str, Any]:
        """The manifest's count block, in the words of a run record."""
        return {
            "matches": self.matches,
            "judged": self.judged,
            "reused": self.kept,
            "gated": self.gated,
            "missing_answers": self.missing_answers,
            "no_reference": self.no_reference,
            "duplicates_replaced": self.duplicates_replaced,
            "parse_failures_first": self.parse_failures_first,
            "parse_failures_final": self.parse_failures_final,
            "out_of_range": self.out_of_range,
            "reasks": self.reasks,
            "api_errors": self.api_errors,
            "failed_calls": self.failed_calls,
            "answer_problems": dict(self.answer_problems),
            "language_wordings": dict(self.language_wordings),
            "calls": self.calls,
            "cached_calls": self.cached_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost": self.cost,
        }

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(
            parse_failure_rate=self.parse_failure_rate,
            final_failure_rate=self.final_failure_rate,
            position_consistency=self.position_consistency,
            reconciles=self.reconciles,
        )
        return d


# --------------------------------------------------------------------------------------------
# Building the prompts


def _ref_values(ref: list[str] | None) -> dict[str, str]:
    if ref is None:
        return {}
    return {"ref_answer_1": ref[0] if ref else "", "ref_answer_2": ref[1] if len(ref) > 1 else ""}


def _has_reference(ref: list[str] | None, multi: bool) -> bool:
    """Turn 1 needs reference turn 1; turn 2 (shown with the whole conversation) needs both."""
    need = 2 if multi else 1
    return ref is not None and len(ref) >= need and all(r.strip() for r in ref[:need])


@dataclass
class _Setup:
    bench: Bench
    prompts: PromptSet
    refs: dict[str, list[str]]
    language_name: str | None
    language_check: bool
    wording: str
    #: (question id, turn) of ref-needing turns judged without a reference, for the warning.
    missing_refs: set[tuple[str, int]] = field(default_factory=set)

    def prompt_for(self, kind: str, q: Question, multi: bool) -> tuple[JudgePrompt, list[str] | None, bool]:
        """(prompt, reference turns or None, reference missing?). A turn whose reference is
        missing or empty gets the no-reference prompt, never a reference prompt with a blank."""
        wants_ref = q.category in NEED_REF_CATS
        ref = self.refs.get(q.key) if wants_ref else None
        if not _has_reference(ref, multi):
            ref = None
        missing = wants_ref and ref is None
        if missing:
            self.missing_refs.add((q.key, 2 if multi else 1))
        role = role_for(kind, ref=ref is not None, multi=multi)
        why = f"{'turn 2' if multi else 'turn 1'} of {q.category} questions"
        return self.prompts.require(role, why), ref, missing

    def system(self, prompt: JudgePrompt) -> str:
        return prompt.system(self.language_name, language_check=self.language_check, wording=self.wording)

    def wording_of(self, prompt: JudgePrompt, report: JudgeReport) -> str:
        """The language-sentence wording ``prompt`` is sent with, counted in ``report``."""
        used = prompt.wording(self.language_name, language_check=self.language_check, wording=self.wording)
        report.language_wordings[used] = report.language_wordings.get(used, 0) + 1
        return used


def _messages(system: str, user: str) -> list[dict[str, str]]:
    msgs = [{"role": "system", "content": system}] if system else []
    msgs.append({"role": "user", "content": user})
    return msgs


@dataclass
class _Call:
    """One judge conversation: the first request and its follow-ups."""

    messages: list[dict[str, str]]
    output_format: str
    kind: str  # single / pair
    replies: list[str] = field(default_factory=list)
    #: the judge's reasoning before each reply (None where it gave none), split off by the client
    reasoning: list[str | None] = field(default_factory=list)
    error: str | None = None
    verdict: Any = None  # score (single) or 'A'/'B'/'tie'/'error' (pair)
    first_failed: bool = False

    def parse(self, reply: str) -> Any:
        if self.kind == "single":
            return parse_rating(reply)
        return parse_pair(reply, self.output_format)

    def reask_text(self) -> str:
        if self.kind == "single":
            return REASK_SINGLE
        return REASK_TWO_SCORE if is_two_score_format(self.output_format) else REASK_PAIR


def judge_request(
    cfg: JudgeConfig, msgs: list[dict[str, str]], kind: str, output_format: str, run: int
) -> ChatRequest:
    """The judge request of a conversation in run ``run``: sample index run-1, seed run (r > 1)."""
    grammar = verdict_grammar(kind, output_format) if cfg.constrain_verdict else None
    return ChatRequest.from_messages(
        msgs,
        temperature=cfg.judge_temperature,
        max_tokens=cfg.judge_max_tokens,
        seed=None if run == 1 else run,
        extra={"grammar": grammar} if grammar else {},
        sample=run - 1,
    )


def _run_calls(
    calls: list[_Call], client: ChatClient, cfg: JudgeConfig, run: int, desc: str, report: JudgeReport
) -> None:
    """Send every call, then (robust policy) follow up the unreadable ones, round by round."""
    policy = cfg.policy()

    def request(msgs: list[dict[str, str]], call: _Call) -> ChatRequest:
        return judge_request(cfg, msgs, call.kind, call.output_format, run)

    pending = list(calls)
    for round_no in range(policy.reask + 1):
        if not pending:
            break
        reqs = []
        for c in pending:
            msgs = list(c.messages)
            for reply in c.replies:  # the conversation so far, then the follow-up question
                msgs += [{"role": "assistant", "content": reply}, {"role": "user", "content": c.reask_text()}]
            reqs.append(request(msgs, c))
        label = desc if round_no == 0 else f"{desc} (re-ask {round_no})"
        responses = client.chat_many(reqs, desc=label)
        still: list[_Call] = []
        for c, req, resp in zip(pending, reqs, responses, strict=True):
            account(report, resp)
            if round_no == 0:
                report.replies += 1
            else:
                report.reasks += 1
            problem = answer_problem(resp, req)
            if resp.error is not None:  # the client's own count of failed calls (its progress line's)
                report.failed_calls += 1
            if problem is not None:
                report.answer_problems[problem.kind] = report.answer_problems.get(problem.kind, 0) + 1
            if problem is not None and problem.kind in _NO_VERDICT:
                c.error = problem.reason()
                report.api_errors += 1
                continue
            # The text after the reasoning: empty when there is nothing else (no verdict).
            content = resp.content or ""
            report.replies_received += 1
            c.replies.append(content)
            c.reasoning.append(resp.reasoning)
            c.verdict = c.parse(content)
            if policy.usable(c.kind, c.verdict):
                report.verdicts_read += 1
                if c.kind == "single" and not single_verdict_ok(c.verdict):
                    report.out_of_range += 1  # fastchat: kept as given, as FastChat keeps it
                continue
            if round_no == 0:
                c.first_failed = True
                report.parse_failures_first += 1
            still.append(c)
        pending = still
    for c in pending:  # out of follow-ups
        if c.error is None:
            report.parse_failures_final += 1
            # robust: an out-of-range grade is no grade (-1, dropped by show); else as parsed
            c.verdict = policy.final(c.kind, c.verdict)


def _reply_fields(c: _Call) -> tuple[str, dict[str, Any]]:
    """(judgment text, extra fields) for a finished call: the first reply holds the judge's
    explanation; follow-up replies go to 'reasks'. The judge's reasoning (split off by the
    client) goes to 'reasoning' (the first reply's) and 'reasks_reasoning', only where it gave
    some: FastChat's fields stay as FastChat writes them."""
    extra: dict[str, Any] = {}
    if c.reasoning and c.reasoning[0]:
        extra["reasoning"] = c.reasoning[0]
    if any(c.reasoning[1:]):
        extra["reasks_reasoning"] = c.reasoning[1:]
    if c.error is not None:
        extra["error"] = c.error
        if c.replies:  # a follow-up failed: keep what the judge had said
            extra["replies"] = c.replies
        return API_ERROR_OUTPUT, extra
    if len(c.replies) > 1:
        extra["reasks"] = c.replies[1:]
    return (c.replies[0] if c.replies else ""), extra


# --------------------------------------------------------------------------------------------
# One judging path; what a mode changes is in _Mode (single grading, pairwise games)


@dataclass
class _Match:
    """One verdict to reach: a question's turn for one model (single) or a pair of models
    (pairwise), with one game per user prompt (single: one; pairwise: both orders)."""

    question: Question
    models: tuple[str, ...]  # (model,) or (model_1, model_2)
    turn: int
    prompt: JudgePrompt
    users: tuple[str, ...]  # the user prompt of each game
    system: str
    gates: tuple[GateVerdict | None, ...]  # the language gate's verdict on each model's answer
    wording: str  # the language sentence's wording (tagengo.bench.prompts)
    key: str = ""  # the verdict's request key (see tagengo.bench.policy)
    calls: list[_Call] | None = None  # one per game; None when the gate decided

    @property
    def gated(self) -> bool:
        return any(g is not None and g.failed for g in self.gates)


def _gate_record(gate: GateVerdict | None, cfg: JudgeConfig) -> dict[str, Any] | None:
    """The gate's part of a request key: None when it let the answer through."""
    if gate is None or not gate.failed:
        return None
    return {**gate.to_dict(), "min_prob": cfg.gate.min_prob, "min_chars": cfg.gate.min_chars}


def _single_values(
    q: Question, a: list[list[str]], multi: bool, ref: list[str] | None
) -> list[dict[str, str]]:
    (t,) = a
    values = _ref_values(ref)
    if multi:
        values.update(question_1=q.turns[0], question_2=q.turns[1], answer_1=t[0], answer_2=t[1])
    else:
        values.update(question=q.turns[0], answer=t[0])
    return [values]


def _pair_values(
    q: Question, a: list[str], b: list[str], multi: bool, ref: list[str] | None
) -> dict[str, str]:
    values = _ref_values(ref)
    if multi:
        values.update(
            question_1=q.turns[0],
            question_2=q.turns[1],
            answer_a_1=a[0],
            answer_a_2=a[1],
            answer_b_1=b[0],
            answer_b_2=b[1],
        )
    else:
        values.update(question=q.turns[0], answer_a=a[0], answer_b=b[0])
    return values


def _both_orders(q: Question, a: list[list[str]], multi: bool, ref: list[str] | None) -> list[dict[str, str]]:
    """Game 1 shows model 1's answer as A, game 2 as B (FastChat plays every game twice)."""
    t1, t2 = a
    return [_pair_values(q, t1, t2, multi, ref), _pair_values(q, t2, t1, multi, ref)]


def model_pairs(models: list[str], mode: str, baseline: str | None) -> list[tuple[str, str]]:
    """FastChat's match lists: every i<j pair in the given order, or (model, baseline)."""
    if mode == "pairwise-baseline":
        assert baseline is not None
        return [(m, baseline) for m in models if m != baseline]
    return list(combinations(models, 2))


def _single_row(
    m: _Match, judge: str, run: int, policy: str, now: float, report: JudgeReport, language: str | None
):
    """FastChat's single judgment row (its fields in its order, then tagengo's)."""
    extra: dict[str, Any] = {"category": m.question.category}
    (gate,) = m.gates
    if m.calls is None:
        assert gate is not None
        report.gated += 1
        score: float = 1
        judgment = f"{GATE_MARK} {gate.reason}; score set to 1 without a judge call"
        extra["gate"] = gate.to_dict()
    else:
        (call,) = m.calls
        report.judged += 1
        judgment, more = _reply_fields(call)
        extra.update(more)
        score = -1 if call.error is not None else call.verdict
    if language:
        extra["language"] = language
    extra.update(policy=policy, language_wording=m.wording, sample=run - 1, request_key=m.key)
    (model,) = m.models
    (user,) = m.users
    return SingleJudgment(
        m.question.question_id, model, (judge, m.prompt.name), user, judgment, score, m.turn, now, extra
    )


def _pair_row(
    m: _Match, judge: str, run: int, policy: str, now: float, report: JudgeReport, language: str | None
):
    """FastChat's pair judgment row: a gated pair is lost by the model the gate failed (a tie
    when both failed); a judged one keeps each order's winner and the judge's text."""
    extra: dict[str, Any] = {"category": m.question.category}
    if language:
        extra["language"] = language
    failed = [(name, g) for name, g in zip(("model_1", "model_2"), m.gates, strict=True) if g and g.failed]
    if m.calls is None:
        report.gated += 1
        names = {name for name, _ in failed}
        w1 = w2 = "tie" if len(names) == 2 else ("model_2" if "model_1" in names else "model_1")
        reason = "; ".join(f"{name}: {g.reason}" for name, g in failed)
        j1 = j2 = f"{GATE_MARK} {reason}; decided without a judge call"
        extra["gate"] = {name: g.to_dict() for name, g in failed}
    else:
        g1, g2 = m.calls
        report.judged += 1
        w1 = "error" if g1.error else position_to_model(g1.verdict, 1)
        w2 = "error" if g2.error else position_to_model(g2.verdict, 2)
        j1, e1 = _reply_fields(g1)
        j2, e2 = _reply_fields(g2)
        if e1:
            extra["g1"] = e1
        if e2:
            extra["g2"] = e2
        # Position consistency is the judge's: pairs the gate decided agree by construction.
        if w1 != "error" and w2 != "error":
            report.pairs_without_error += 1
            report.consistent_pairs += w1 == w2
    extra.update(policy=policy, language_wording=m.wording, sample=run - 1, request_key=m.key)
    u1, u2 = m.users
    model_1, model_2 = m.models
    return PairJudgment(
        m.question.question_id,
        model_1,
        model_2,
        w1,
        w2,
        (judge, m.prompt.name),
        u1,
        j1,
        u2,
        j2,
        m.turn,
        now,
        extra,
    )


def _pair_gates(m: _Match, cfg: JudgeConfig) -> dict[str, Any] | None:
    if not m.gated:
        return None
    return {name: _gate_record(g, cfg) for name, g in zip(("model_1", "model_2"), m.gates, strict=True)}


@dataclass(frozen=True)
class _Mode:
    """What single grading and pairwise games do differently; everything else is one path.
    The two FastChat files stay as FastChat writes them: each mode reads and writes its own."""

    kind: str  # "single" / "pair": the file's suffix, the prompts' role, the verdict's grammar
    games: Callable[[JudgeConfig, list[str]], list[tuple[str, ...]]]  # the models of each match
    values: Callable[[Question, list[list[str]], bool, list[str] | None], list[dict[str, str]]]
    gate_record: Callable[[_Match, JudgeConfig], dict[str, Any] | None]  # the gate's part of the key
    row: Callable[..., Any]  # the FastChat row of a finished match
    row_key: Callable[[Any], tuple]  # (question key, model(s), turn, judge) of a row
    errored: Callable[[Any], bool]  # a $ERROR$ row (asked again on a re-run)
    read: Callable[[Path], list]
    write: Callable[[Path, list], None]
    unit: str  # what the progress line counts


SINGLE = _Mode(
    "single",
    lambda cfg, models: [(m,) for m in models],
    _single_values,
    lambda m, cfg: _gate_record(m.gates[0], cfg),
    _single_row,
    lambda r: (r.key, r.model, r.turn, r.judge[0]),
    lambda r: r.judgment == API_ERROR_OUTPUT,
    read_single_judgments,
    write_single_judgments,
    "verdicts",
)
PAIR = _Mode(
    "pair",
    lambda cfg, models: model_pairs(models, cfg.mode, cfg.baseline_model),
    _both_orders,
    _pair_gates,
    _pair_row,
    lambda r: (r.key, r.model_1, r.model_2, r.turn, r.judge[0]),
    lambda r: API_ERROR_OUTPUT in (r.g1_judgment, r.g2_judgment),
    read_pair_judgments,
    write_pair_judgments,
    "pairs x 2 orders",
)


def _matches(
    setup: _Setup,
    mode: _Mode,
    cfg: JudgeConfig,
    models: list[str],
    answers: dict[str, dict[str, Answer]],
    report: JudgeReport,
) -> list[_Match]:
    """Every (question, game models, turn) with answers to judge; the others are counted."""
    questions = setup.bench.questions[: cfg.limit] if cfg.limit else setup.bench.questions
    gate = LanguageGate(cfg.gate)
    out: list[_Match] = []
    for q in questions:
        for game in mode.games(cfg, models):
            got = [answers[m].get(q.key) for m in game]
            for turn in range(1, len(q.turns) + 1):
                if any(a is None or len(a.turns()) < turn for a in got):
                    report.missing_answers += 1
                    continue
                multi = turn == 2
                prompt, ref, missing_ref = setup.prompt_for(mode.kind, q, multi)
                report.no_reference += missing_ref
                texts = [a.turns() for a in got if a is not None]
                users = tuple(prompt.render(v) for v in mode.values(q, texts, multi, ref))
                gates = tuple(gate.check(t[turn - 1], setup.bench.language, q.category) for t in texts)
                wording = setup.wording_of(prompt, report)
                out.append(_Match(q, game, turn, prompt, users, setup.system(prompt), gates, wording))
    return out


def _read_existing(rows: list, key_of: Callable[[Any], tuple]) -> tuple[dict[tuple, Any], dict[tuple, list]]:
    """(last row per key, earlier copies of keys found more than once)."""
    last: dict[tuple, Any] = {}
    copies: dict[tuple, list] = {}
    for r in rows:
        k = key_of(r)
        if k in last:
            copies.setdefault(k, []).append(last[k])
        last[k] = r
    return last, copies


def _reusable(old: Any, key: str, cfg: JudgeConfig, duplicated: bool, errored: bool) -> bool:
    """Kept only when it is this very verdict: the same request key (judge request, policy,
    gate decision), no $ERROR$, not one of several verdicts for one match, no --rejudge."""
    return (
        old is not None
        and not cfg.rejudge
        and not duplicated
        and not errored
        and old.extra.get("request_key") == key
    )


def _note_wording(old: Any, wording: str) -> bool:
    """Record the wording on a reused verdict written before rows recorded it (its request key,
    system prompt included, is this run's, so the wording is too); True when the row changed."""
    if old.extra.get("language_wording") == wording:
        return False
    old.extra["language_wording"] = wording
    return True


@dataclass
class _File:
    """The judgment file of a run: one verdict per (question, model(s), turn, judge), whichever
    prompt produced it; ``copies`` are earlier verdicts of keys found twice (replaced when this
    run judges the key, else left as found: not ours to settle)."""

    path: Path
    mode: _Mode
    bench: Bench
    rows: dict[tuple, Any] = field(default_factory=dict)
    copies: dict[tuple, list] = field(default_factory=dict)

    def __post_init__(self) -> None:
        found = self.mode.read(self.path) if self.path.exists() else []
        self.rows, self.copies = _read_existing(found, self.mode.row_key)

    def put(self, row: Any) -> None:
        k = self.mode.row_key(row)
        self.rows[k] = row
        self.copies.pop(k, None)

    def write(self) -> None:
        kept_copies = [r for rs in self.copies.values() for r in rs]
        self.mode.write(self.path, _ordered([*self.rows.values(), *kept_copies], self.bench))


def _to_judge(
    matches: list[_Match],
    file: _File,
    cfg: JudgeConfig,
    client: ChatClient,
    judge: str,
    run: int,
    report: JudgeReport,
) -> list[_Match]:
    """The matches to send: each gets its request key; one whose verdict is in the file with
    that key (and no $ERROR$, no duplicate, no --rejudge) is reused."""
    policy = cfg.policy()
    todo = []
    noted = False
    for m in matches:
        reqs = [
            judge_request(cfg, _messages(m.system, u), file.mode.kind, m.prompt.output_format, run)
            for u in m.users
        ]
        m.key = verdict_key(client.model_id, reqs, policy, file.mode.gate_record(m, cfg))
        k = (m.question.key, *m.models, m.turn, judge)
        old = file.rows.get(k)
        duplicated = k in file.copies
        report.duplicates_replaced += duplicated
        if _reusable(old, m.key, cfg, duplicated, old is not None and file.mode.errored(old)):
            report.kept += 1
            noted |= _note_wording(old, m.wording)
            continue
        todo.append(m)
    if noted and not todo:  # nothing to judge: write the recorded wordings (no call made)
        file.write()
    return todo


def _judge(
    setup: _Setup,
    mode: _Mode,
    cfg: JudgeConfig,
    client: ChatClient,
    judge: str,
    run: int,
    models: list[str],
    report: JudgeReport,
) -> TagengoError | None:
    """Judge one run in ``mode``: the matches, the reused verdicts, then chunk by chunk the
    calls and the rows, the file written after each chunk (a crash loses one chunk). Returns
    the error to stop with when the run made calls and none got a reply (nothing written)."""
    bench = setup.bench
    needed = list(models)
    if cfg.mode == "pairwise-baseline" and cfg.baseline_model not in needed:
        needed.append(cfg.baseline_model)  # type: ignore[arg-type]
    answers = _load_answers(bench, needed, run, report)
    matches = _matches(setup, mode, cfg, models, answers, report)
    report.matches = len(matches)
    file = _File(bench.judgment_path(judge, mode.kind, run), mode, bench)
    todo = _to_judge(matches, file, cfg, client, judge, run, report)
    policy = cfg.policy().name
    sent: list[_Call] = []
    for start in range(0, len(todo), cfg.chunk_size):
        chunk = todo[start : start + cfg.chunk_size]
        calls = []
        for m in chunk:
            if not m.gated:
                m.calls = [_Call(_messages(m.system, u), m.prompt.output_format, mode.kind) for u in m.users]
                calls += m.calls
        _run_calls(calls, client, cfg, run, f"judge {bench.name} ({len(todo)} {mode.unit})", report)
        sent += calls
        now = time.time()
        for m in chunk:
            file.put(mode.row(m, judge, run, policy, now, report, bench.language))
        # Until a call of this run got a reply, nothing is written: a judge that fails every
        # call must not replace the file's verdicts with $ERROR$ rows.
        if report.calls == 0 or report.replies_received or report.kept:
            file.write()
    report.verdicts_in_file = sum(1 for _ in file.path.open()) if file.path.exists() else 0
    if report.calls and not report.replies_received and not report.kept:
        return _no_call_succeeded(bench, report, judge, sent)
    return None


def _no_call_succeeded(bench: Bench, r: JudgeReport, judge: str, calls: list[_Call]) -> NoCallSucceeded:
    first = next((c.error for c in calls if c.error), "see the manifest")
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(r.answer_problems.items()))
    return NoCallSucceeded.of(
        f"the judge {judge}",
        f"{r.calls:,} failed: {kinds}; the first: {first}",
        first,
        f"No verdict was written ({r.path} is left as it was); the counts "
        f"are in {bench.report_dir}/. Re-run once fixed: replies already cached are reused.",
        where=bench.name,
    )


def _load_answers(
    bench: Bench, models: list[str], run: int, report: JudgeReport
) -> dict[str, dict[str, Answer]]:
    """Run r judges answer run r where ``<model>.runR.jsonl`` exists, else the model's answers."""
    report.answer_files = [str(bench.answer_file(m, run)) for m in models]
    return bench.load_answers(models, run)


def _ordered(rows, bench: Bench) -> list:
    order = {q.key: i for i, q in enumerate(bench.questions)}

    def key(r) -> tuple:
        models = (r.model,) if isinstance(r, SingleJudgment) else (r.model_1, r.model_2)
        return (order.get(r.key, len(order)), str(r.question_id), r.turn, models, r.judge)

    return sorted(rows, key=key)


# --------------------------------------------------------------------------------------------


def judge_name_for(cfg: JudgeConfig, client: ChatClient) -> str:
    return cfg.judge_name or getattr(client, "model_name", None) or client.model_id


def judge_bench(
    bench: Bench,
    cfg: JudgeConfig,
    client: ChatClient,
    *,
    console: Console | None = None,
) -> list[JudgeReport]:
    """Judge one bench (every run); returns one report per run, also written as the run's
    manifest ``<bench>/tagengo/judge_<judge>_<single|pair>[.runN].json`` (config, versions,
    counts). Ref-needing turns without a reference are judged with the no-reference prompt,
    counted, and named in one warning (on ``console``, else a Python warning)."""
    judge = safe_name(judge_name_for(cfg, client))
    prompts_path = cfg.prompts or bench.prompts_file()
    prompts = PromptSet.load(prompts_path, cfg.prompt_names)
    models = cfg.models or bench.models()
    if not models:
        raise ConfigError(f"{bench.answer_dir}: no answer files to judge; run `tagengo bench answer` first")
    if cfg.mode == "pairwise-all" and len(models) < 2:
        raise ConfigError(
            f"{bench.name}: pairwise-all needs answers of two models or more (have {', '.join(models)})"
        )
    if cfg.mode == "pairwise-baseline" and cfg.baseline_model in models and len(models) == 1:
        raise ConfigError(f"{bench.name}: pairwise-baseline needs a model besides the baseline")
    setup = _Setup(
        bench,
        prompts,
        bench.references(judge, cfg.reference_model),
        language_name(bench.language),
        cfg.language_check,
        cfg.language_wording,
    )
    ref_file = bench.reference_file(judge, cfg.reference_model)
    if cfg.language_check and bench.language is None and console is not None:
        console.print(
            f"[yellow]{bench.name}: language unknown (give --language); the judge prompt's language check is off[/]"
        )
    reports = []
    for run in range(1, cfg.runs + 1):
        start = time.monotonic()
        started = time.time()
        kind = "single" if cfg.mode == "single" else "pair"
        path = bench.judgment_path(judge, cfg.mode, run)
        report = JudgeReport(bench.name, bench.language, cfg.mode, judge, run, str(path), str(prompts.path))
        report.policy, report.sample = cfg.judge_policy, run - 1
        report.reference_file = str(ref_file) if ref_file else None
        setup.missing_refs.clear()
        stop = _judge(
            setup, SINGLE if cfg.mode == "single" else PAIR, cfg, client, judge, run, models, report
        )
        missing = sorted(setup.missing_refs, key=lambda qt: (qid_sort_key(qt[0]), qt[1]))
        report.no_reference_questions = [f"{q} turn {t}" for q, t in missing]
        report.seconds = round(time.monotonic() - start, 3)
        suffix = "" if run == 1 else f".run{run}"
        write_run_report(
            bench,
            f"judge_{judge}_{kind}{suffix}.json",
            report.to_dict(),
            cfg.model_dump(mode="json"),
            stage="bench judge",
            counts=report.counts(),
            started=started,
        )
        reports.append(report)
        if console is not None:
            _print_report(console, report)
        if stop is not None:
            raise stop
    if reports and reports[-1].no_reference_questions:
        _warn_missing_references(bench, reports[-1], console)
    return reports


def _warn_missing_references(bench: Bench, r: JudgeReport, console: Console | None) -> None:
    where = r.reference_file or f"{bench.question_file} (its 'reference' fields)"
    ids = sorted({q.rsplit(" turn ", 1)[0] for q in r.no_reference_questions}, key=qid_sort_key)
    text = (
        f"{bench.name}: {where} has no reference for {len(r.no_reference_questions)} turn(s) of "
        f"{', '.join(NEED_REF_CATS)} questions ({', '.join(r.no_reference_questions)}); they were judged "
        f"with the no-reference prompt. Question ids: {', '.join(ids)}"
    )
    if console is not None:
        console.print(f"[yellow]{text}[/]")
    else:
        warnings.warn(text, stacklevel=3)


def _no_verdict_words(r: JudgeReport) -> str:
    """The $ERROR$ rows, the calls that failed for good named apart: the progress line's
    "N failed" counts only those (the client's count), so one word, "call errors", for both
    read as a contradiction ("0 failed" beside "11 call errors" that were cut prompts)."""
    failed = r.failed_calls
    text = f"{plural(failed, 'call')} failed for good (the progress line's 'failed')"
    if more := r.api_errors - failed:
        text += f", {plural(more, 'reply', 'replies')} more with no verdict to read"
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(r.answer_problems.items()) if k in _NO_VERDICT)
    return text + f": {plural(r.api_errors, '$ERROR$ row')}" + (f" ({kinds})" if kinds else "")


def _print_report(console: Console, r: JudgeReport) -> None:
    parts = [f"{r.judged} judged", f"{r.kept} reused", f"{r.gated} gated"]
    if r.duplicates_replaced:
        parts.append(f"{r.duplicates_replaced} duplicated verdicts replaced")
    if r.missing_answers:
        parts.append(f"{r.missing_answers} turns not judged (no answer for them)")
    if r.no_reference:
        parts.append(f"{r.no_reference} without a reference")
    wordings = "/".join(sorted(r.language_wordings)) or "-"
    head = f"[bold]{r.bench}[/] ({r.language or '?'}) run {r.run}, {r.policy} policy, language sentence {wordings}"
    line = (
        head + ": " + ", ".join(parts) + f"; unreadable verdicts "
        f"{r.parse_failure_rate:.1%} first, {r.final_failure_rate:.1%} after {r.reasks} re-asks; "
        f"{_no_verdict_words(r)}; {r.calls - r.cached_calls} calls made, {r.cached_calls} from cache"
    )
    if r.out_of_range:
        line += f"; {r.out_of_range} grades outside 1-10 kept (as FastChat keeps them)"
    if r.answer_problems:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(r.answer_problems.items()))
        line += f"; replies with a problem: {kinds}"
    if r.position_consistency is not None:
        line += f"; position consistency {r.position_consistency:.1%} of {r.pairs_without_error} judged pairs"
    console.print(line + f" -> {r.path} ({r.verdicts_in_file} verdicts in the file)")


class NoVerdictRead(TagengoError):
    """The judge replied every time, and no reply held a verdict it could read."""


def stop_when_no_verdict_read(bench: Bench, reports: list[JudgeReport]) -> None:
    """Raise :class:`NoVerdictRead` when a run got replies and read no verdict from any of them
    (none reused either): every score would be -1 or every game an error. The rows are written
    all the same (what the judge said, and a re-run does not ask again); ``bench judge`` exits
    non-zero with the fix."""
    for r in reports:
        if r.replies_received and not r.verdicts_read and not r.kept:
            raise NoVerdictRead(
                f"{bench.name}: none of the judge's {r.replies_received:,} replies held a verdict it could "
                f"read (run {r.run}, {r.policy} policy; the rows are in {r.path}). The judge model does not "
                "keep the prompt's verdict format ([[rating]] or [[A]]/[[B]]/[[C]]): name a stronger judge "
                "(--judge-model), let it be asked again (--judge-policy robust), or force the format "
                "(--constrain-verdict, llama.cpp judges). A changed judge or policy asks again on a re-run; "
                "--rejudge asks the same judge again."
            )
