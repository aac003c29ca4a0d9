"""The extend step: grow every conversation to ``--turns`` user turns, a follow-up and an answer at a time.

Per batch, in rounds; each round is one ``chat_many`` of the writer (every conversation that
ends with an answer and has fewer than ``--turns`` user turns gets a follow-up) and one of the
teacher (every conversation that ends with a user turn gets an answer). So the client's
concurrency spans the batch, a conversation needs 2 × (turns − 1) calls in 2 × (turns − 1)
rounds, and the request cache makes a re-run replay every call already made.

What happens to a record:

* system turns, then user and assistant turns alternating from a user turn: it grows. A
  record that ends with a user turn has it answered first (so curated prompts can be
  extended directly); one that already has ``--turns`` user turns and an answer is kept as it is;
* anything else is rejected ("no user turn", "turns do not alternate: message 3 is user ...").

The follow-up writer (the teacher unless --writer-* say otherwise) sees the chat so far and is
asked, in English, for the user's next message in the conversation's language, of a kind drawn
per conversation and turn (tagengo.extend.prompts). The teacher sees the whole conversation,
as `tagengo generate` sends it (--system-prompt before a conversation that has none).

A conversation is rejected, with the turn in the reason, when a new turn:

* fails the answer contract (tagengo.llm.answer, ``answer_problem``): the call failed for good
  ("call failed (follow-up, turn 2): HTTP 400 ..."), a content filter withheld it ("filtered
  (answer, turn 2): ..."), the server sent an error body ("provider error (answer, turn 2):
  ..."), the server cut the prompt ("prompt truncated (answer, turn 3): ..."), or gave a finish
  reason no server in use means ("unknown finish reason (answer, turn 2): ...");
* was cut ("unfinished answer at turn 3: finish_reason=length", or "... the answer used all
  N tokens of max_tokens ..." when the server said stop; the cut text is kept in meta);
* is empty once the reasoning is removed ("empty follow-up at turn 2", "empty answer at turn 2",
  "empty answer at turn 2: only reasoning, no answer after it");
* (a follow-up) repeats an earlier user turn ("echo follow-up at turn 2: repeats user turn 1
  (similarity 1.00)");
* (a follow-up) carries the writer's prompt rather than a user's words: its transcript markup or
  a run of its instructions ("prompt leak at turn 2 (follow-up): the writer's transcript markup
  'Assistant:'");
* (an answer) repeats the answer before it ("repeated answer at turn 3: repeats the answer of
  turn 2 (similarity 0.93)");
* is not in the conversation's language ("language drift at turn 2 (follow-up): language ID
  says en (p=0.98), the conversation is de").

The language is the record's label. An unlabelled record gets lid.176's label of its user turns
(the same model and near-language groups as curate): the output row carries it in ``language``
(``meta.extend.language_from: lid``, ``meta.extend.language_score``), so that the writer is asked
for that language and every new turn is checked against it; a record whose language lid.176 is
not sure of (score of the top label and its near group below --min-lid-score) is rejected
("unknown language: no label, and language ID is not sure: ... (p=0.31)") unless
--no-check-language.

Kept and rejected rows alike get ``meta.extend``: the target turns, the language, and one entry
per new turn (turn number, role, task type of a follow-up, its LID label and score, the call:
request key, model, finish reason, tokens, cached; the model's reasoning, split from the turn,
and how many characters were not valid Unicode, where there were any); a rejected row also
``failed`` (phase, turn, message index, the text that failed, the detected language). A rejected
row's ``messages`` are the turns that passed.
"""

from __future__ import annotations

from typing import Any

from tagengo.extend.checks import LanguageCheck, echo_of, order_problem, repeat_of, user_turns
from tagengo.extend.config import ExtendConfig
from tagengo.extend.prompts import clean_follow_up, draw_task, leaked_instructions, writer_messages
from tagengo.invisible import is_blank
from tagengo.lang.langid import LanguageIdentifier
from tagengo.lang.languages import near_group
from tagengo.lang.verdict import knows
from tagengo.llm import ChatClient, ChatRequest, ChatResponse, build_client
from tagengo.llm.accounting import Accounting
from tagengo.llm.answer import (
    EMPTY,
    FILTERED,
    UNFINISHED,
    UNKNOWN_FINISH,
    Problem,
    answer_meta,
    answer_problem,
    call_meta,
)
from tagengo.records import Record, Rejection
from tagengo.run.steps import Step

FOLLOW_UP = "follow-up"
ANSWER = "answer"


class _Conversation:
    """One record's way through the rounds."""

    def __init__(self, row: Record, turns: int) -> None:
        self.row = row
        self.messages = [dict(m) for m in row.messages]
        self.info: dict[str, Any] = {"turns": turns, "added": []}
        self.problem: str | None = None

    @property
    def language(self) -> str | None:
        return self.info.get("language")

    @property
    def last_role(self) -> str:
        return self.messages[-1]["role"]

    @property
    def user_turns(self) -> int:
        return user_turns(self.messages)

    def fail(self, reason: str, **failed: Any) -> None:
        self.problem = reason
        if failed:
            self.info["failed"] = failed


class ExtendStep(Step):
    """Adds follow-ups and answers to each record. Build the clients once (``setup``)."""

    name = "extend"
    runtime_attrs = ("client", "writer", "lid")

    def __init__(
        self,
        cfg: ExtendConfig,
        *,
        client: ChatClient | None = None,
        writer: ChatClient | None = None,
        lid: LanguageIdentifier | None = None,
        progress: bool = False,
    ) -> None:
        self.cfg = cfg
        self.client = client
        self.writer = writer
        self.lid = lid
        self._own_client = client is None
        self._own_writer = writer is None and cfg.separate_writer()
        self._progress = progress
        self._reset()

    def _reset(self) -> None:
        self._acc = Accounting()
        self._counts: dict[str, Any] = {}

    def setup(self) -> None:
        if self.client is None:
            self.client = build_client(self.cfg.llm_config(), progress=self._progress)
        if self.writer is None:
            if self.cfg.separate_writer():
                self.writer = build_client(self.cfg.writer_llm_config(), progress=self._progress)
            else:
                self.writer = self.client
        if self.lid is None:
            self.lid = LanguageIdentifier()

    def close(self) -> None:
        """Close the clients this step built."""
        if self.writer is not None and self._own_writer:
            self.writer.close()
            self.writer = None
        if self.client is not None and self._own_client:
            if self.writer is self.client:
                self.writer = None
            self.client.close()
            self.client = None

    def _count(self, key: str, sub: str | None = None) -> None:
        if sub is None:
            self._counts[key] = self._counts.get(key, 0) + 1
        else:
            d = self._counts.setdefault(key, {})
            d[sub] = d.get(sub, 0) + 1

    # -- the step ---------------------------------------------------------------------------

    def process(self, batch: list[Record]) -> tuple[list[Record], list[Rejection]]:
        if self.client is None or self.writer is None or self.lid is None:
            self.setup()
        cfg = self.cfg
        check = LanguageCheck(self.lid, cfg.min_lid_score, cfg.lid_min_chars) if cfg.check_language else None
        convs = [_Conversation(row, cfg.turns) for row in batch]
        for c in convs:
            if problem := order_problem(c.messages):
                c.fail(problem)
                continue
            if problem := self._language(c):
                c.fail(problem)
                continue
            if cfg.system_prompt and not any(m["role"] == "system" for m in c.messages):
                c.info["system_prompt"] = cfg.system_prompt

        # Each round adds a turn to every live conversation or rejects it: 2 × turns rounds at most.
        for _ in range(2 * cfg.turns + 1):
            live = [c for c in convs if c.problem is None]
            asking = [c for c in live if c.last_role == "assistant" and c.user_turns < cfg.turns]
            if asking:
                self._follow_ups(asking, check)
            answering = [c for c in convs if c.problem is None and c.last_role == "user"]
            if answering:
                self._answers(answering, check)
            if not asking and not answering:
                break
        else:
            raise RuntimeError(f"extend: conversations still growing after {2 * cfg.turns + 1} rounds")

        kept: list[Record] = []
        rejected: list[Rejection] = []
        for c in convs:
            row = c.row
            row.messages = c.messages
            row.meta["extend"] = c.info
            if c.problem is None:
                self._count("kept_turns", str(c.user_turns))
                kept.append(row)
            else:
                self._count("rejected", reason_kind(c.problem))
                rejected.append(Rejection(row, self.name, c.problem))
        return kept, rejected

    def _language(self, c: _Conversation) -> str | None:
        """Set the conversation's language (its label, else lid.176's); the reason to reject an
        unlabelled one whose language is not sure, or None."""
        if c.row.language:
            c.info["language"], c.info["language_from"] = c.row.language, "label"
            return None
        assert self.lid is not None
        text = "\n".join(m["content"] for m in c.messages if m["role"] == "user")
        c.info["language"], c.info["language_from"] = None, "none"
        if is_blank(text):
            problem = "unknown language: no label, and no text in the user turns to identify"
        else:
            pred = self.lid.detect(text, k=3)
            # As curate assigns a label: the top language with its near group (bs with hr ...).
            score = pred.group_score(near_group(pred.top)) if pred.top else 0.0
            if pred.top and score >= self.cfg.min_lid_score:
                c.row.language = pred.top
                c.info["language"], c.info["language_from"] = pred.top, "lid"
                c.info["language_score"] = round(score, 4)
                return None
            problem = (
                f"unknown language: no label, and language ID is not sure: {pred.top or '-'} (p={score:.2f}) "
                f"< --min-lid-score {self.cfg.min_lid_score:g}"
            )
        if not self.cfg.check_language:
            return None  # left unlabelled: the writer is asked for "the conversation's language"
        self._count("unknown_language")
        return problem

    # -- the two kinds of call --------------------------------------------------------------

    def _ask(self, client: ChatClient, requests: list[ChatRequest], desc: str) -> list[ChatResponse]:
        responses = client.chat_many(requests, desc=desc)
        for resp in responses:
            self._acc.record(resp, resp.model)
        return responses

    def _follow_ups(self, convs: list[_Conversation], check: LanguageCheck | None) -> None:
        cfg = self.cfg
        assert self.writer is not None
        tasks = [draw_task(cfg.task_seed, c.row.id, c.user_turns + 1, tuple(cfg.task_types)) for c in convs]
        requests = [
            cfg.writer_request(writer_messages(c.messages, task, c.language, cfg.context_chars))
            for c, task in zip(convs, tasks, strict=True)
        ]
        responses = self._ask(self.writer, requests, "extend: follow-ups")
        model_id = self.writer.model_id
        for c, task, req, resp in zip(convs, tasks, requests, responses, strict=True):
            turn = c.user_turns + 1
            entry: dict[str, Any] = {"turn": turn, "role": "user", "task_type": task.id}
            entry["call"] = call_meta(resp, req.key(model_id))
            c.info["added"].append(entry)
            self._count("follow_ups")
            self._count("task_types", task.id)
            text = clean_follow_up(resp.content)
            problem = self._call_problem(req, resp, FOLLOW_UP, turn, text, entry)
            if problem is None and is_blank(text):  # nothing left once the label and quotes are cut
                problem = f"empty follow-up at turn {turn}"
            if problem is None and (leak := leaked_instructions(text)):
                entry["leak"] = leak
                problem = f"prompt leak at turn {turn} (follow-up): {leak}"
            if problem is None:
                earlier = [m["content"] for m in c.messages if m["role"] == "user"]
                if echo := echo_of(text, earlier, cfg.echo_similarity):
                    j, ratio = echo
                    entry["echo_of"] = {"turn": j + 1, "similarity": round(ratio, 4)}
                    problem = (
                        f"echo follow-up at turn {turn}: repeats user turn {j + 1} (similarity {ratio:.2f})"
                    )
            if problem is None:
                problem = self._drift(c, check, text, FOLLOW_UP, turn, entry)
            if problem is not None:
                c.fail(problem, phase=FOLLOW_UP, turn=turn, message=len(c.messages), text=text, **_lid(entry))
            else:
                c.messages.append({"role": "user", "content": text})

    def _answers(self, convs: list[_Conversation], check: LanguageCheck | None) -> None:
        cfg = self.cfg
        assert self.client is not None
        requests = [cfg.answer_request(self._teacher_messages(c.messages)) for c in convs]
        responses = self._ask(self.client, requests, "extend: answers")
        model_id = self.client.model_id
        for c, req, resp in zip(convs, requests, responses, strict=True):
            turn = c.user_turns
            entry: dict[str, Any] = {"turn": turn, "role": "assistant"}
            entry["call"] = call_meta(resp, req.key(model_id))
            c.info["added"].append(entry)
            self._count("answers")
            text = (resp.content or "").strip()
            problem = self._call_problem(req, resp, ANSWER, turn, text, entry)
            if problem is None:
                previous = next(
                    (m["content"] for m in reversed(c.messages) if m["role"] == "assistant"), None
                )
                if previous is not None and (ratio := repeat_of(text, previous, cfg.repeat_similarity)):
                    entry["repeat_of"] = {"turn": turn - 1, "similarity": round(ratio, 4)}
                    problem = (
                        f"repeated answer at turn {turn}: repeats the answer of turn {turn - 1} "
                        f"(similarity {ratio:.2f})"
                    )
            if problem is None:
                problem = self._drift(c, check, text, ANSWER, turn, entry)
            if problem is not None:
                c.fail(problem, phase=ANSWER, turn=turn, message=len(c.messages), text=text, **_lid(entry))
            else:
                c.messages.append({"role": "assistant", "content": text})

    def _teacher_messages(self, msgs: list[dict[str, str]]) -> list[dict[str, str]]:
        if self.cfg.system_prompt and not any(m["role"] == "system" for m in msgs):
            return [{"role": "system", "content": self.cfg.system_prompt}, *msgs]
        return msgs

    # -- checks -----------------------------------------------------------------------------

    def _call_problem(
        self,
        request: ChatRequest,
        resp: ChatResponse,
        phase: str,
        turn: int,
        text: str,
        entry: dict[str, Any],
    ) -> str | None:
        """The answer contract's verdict on one new turn (tagengo.llm.answer), in extend's words
        (the phase and the turn in the reason), or None. What the contract found (reasoning,
        replaced characters) goes to the turn's entry whatever the verdict."""
        entry.update(answer_meta(resp))
        problem = answer_problem(resp, request, require_stop=self.cfg.require_stop)
        if problem is None:
            return None
        if resp.error is not None:
            entry["error"] = resp.error
        return turn_reason(problem, phase, turn, text, entry)

    def _drift(
        self,
        c: _Conversation,
        check: LanguageCheck | None,
        text: str,
        phase: str,
        turn: int,
        entry: dict[str, Any],
    ) -> str | None:
        if check is None or not c.language or not knows(c.language):
            # A language lid.176 cannot name would drift at every turn: not checked (as --gate does).
            return None
        verdict = check.check(text, c.language)
        if not verdict.checked:
            entry["lid"] = None  # too short to judge
            return None
        entry["lid"], entry["lid_score"] = verdict.detected, round(verdict.prob, 4)
        if verdict.ok:
            return None
        self._count("drift", phase)
        return (
            f"language drift at turn {turn} ({phase}): language ID says {verdict.detected} "
            f"(p={verdict.prob:.2f}), the conversation is {c.language}"
        )

    def summary(self) -> dict[str, Any]:
        """Calls per model (teacher and writer), follow-ups and answers asked for, task types
        drawn, language drifts per phase, rejections per kind and kept rows per user-turn count,
        for the batches since the last call."""
        out: dict[str, Any] = dict(self._counts)
        if models := self._acc.summary(percentiles=False):
            out["models"] = models
        self._reset()
        return out


def _lid(entry: dict[str, Any]) -> dict[str, Any]:
    """The detected language of a failed turn, for meta.extend.failed."""
    if entry.get("lid"):
        return {"detected": entry["lid"], "prob": entry.get("lid_score")}
    return {}


def turn_reason(problem: Problem, phase: str, turn: int, text: str, entry: dict[str, Any]) -> str:
    """The rejection reason of a new turn that failed the answer contract: "unfinished answer at
    turn 3: finish_reason=length" and "empty follow-up at turn 2" as extend has always written
    them, "call failed (follow-up, turn 2): ..." for the others (filtered, provider error,
    prompt truncated, unknown finish reason). The text of a cut turn is kept in the entry."""
    if text and problem.kind in (UNFINISHED, UNKNOWN_FINISH, FILTERED):
        entry["partial"] = text
    if problem.kind == UNFINISHED:
        return f"unfinished {phase} at turn {turn}: {problem.detail}"
    if problem.kind == EMPTY:
        return f"empty {phase} at turn {turn}" + (f": {problem.detail}" if problem.detail else "")
    return problem.reason(f"{phase}, turn {turn}")


def reason_kind(reason: str) -> str:
    """The kind of a rejection reason, without its details: "language drift", "echo follow-up",
    "unfinished answer", "call failed", "turns do not alternate" ..."""
    return reason.split(" at turn")[0].split(":")[0].split(" (")[0]
