"""The generation step: ask the teacher for the next assistant turn of every record.

One batch is one ``chat_many`` call, so the client's concurrency spans the whole batch
(a runner chunk), and its cache makes a re-run replay every answer already paid for.

What happens to a record:

* it ends with a user turn: the whole conversation (system turns included) is the
  prompt; the answer is appended as an assistant turn;
* it ends with an assistant turn (a ShareGPT log, say): see
  ``GenerateConfig.trailing_assistant``; by default those turns are dropped, kept in
  ``meta.generation.dropped_turns``, and the user turn before them is answered;
* it has no user turn: rejected ("no user turn").

Rejected (the paper's "remove uncompleted/unanswered") when the answer fails the answer
contract (tagengo.llm.answer, ``answer_problem``), with its reason: the call failed for good
("call failed: ..."), a content filter withheld the prompt or the answer ("filtered: ..."),
the server sent an error body ("provider error: ..."), the answer was cut
("unfinished: finish_reason=length", or "unfinished: the answer used all N tokens of
max_tokens ..." when the server said stop; the cut text is kept in
``meta.generation.partial_answer``), the server gave a finish reason no server in use means
("unknown finish reason: ..."), the server cut the prompt ("prompt truncated: ..."), or the
answer is empty/blank once the reasoning is removed ("empty answer"). Finish reasons are
normalised by the backend (tagengo.llm.finish: TGI's ``eos_token`` is a ``stop``); the
server's spelling is kept in ``meta.generation.finish_reason_raw`` when it differs.

Kept and rejected rows alike get ``meta.generation``: model, finish_reason, input and
output tokens (``tokens_estimated: true`` when the server sent no usage and they were
counted here), latency, cost, attempts and whether the answer came from the cache; and
what the contract found (``answer_meta``): the model's reasoning, split from the answer
(``reasoning``), and how many characters were not valid Unicode (``replaced_chars``).
Neither is there for a clean answer.
"""

from __future__ import annotations

import inspect
import queue
import threading
import weakref
from collections import Counter
from typing import Any

from tagengo.generate.config import GenerateConfig
from tagengo.invisible import is_blank
from tagengo.llm import ChatClient, ChatRequest, ChatResponse, build_client
from tagengo.llm.accounting import Accounting
from tagengo.llm.answer import (
    CALL_FAILED,
    EMPTY,
    FILTERED,
    UNFINISHED,
    UNKNOWN_FINISH,
    AnswerLanguage,
    answer_meta,
    answer_problem,
)
from tagengo.llm.finish import STOP
from tagengo.llm.routed import RoutedClient
from tagengo.records import Record, Rejection
from tagengo.run.routing_table import RoutingTable
from tagengo.run.steps import Step
from tagengo.run.warm import warm_imports_in_background

REASON_FAILED = CALL_FAILED
REASON_UNFINISHED = UNFINISHED
REASON_UNKNOWN_FINISH = UNKNOWN_FINISH
REASON_EMPTY = EMPTY
REASON_NO_USER = "no user turn"
REASON_EMPTY_PROMPT = "empty prompt: the last user turn has no visible text"
REASON_ANSWERED = "already ends with an assistant turn"


class GenerateStep(Step):
    """Appends the teacher's answer to each record. Build the client once (``setup``)."""

    name = "generate"
    #: Not shipped to Ray actors: each builds its own client from the config (tagengo.run.ray_executor).
    runtime_attrs = ("client", "routed", "_language")

    def __init__(
        self,
        cfg: GenerateConfig,
        *,
        client: ChatClient | None = None,
        progress: bool = False,
        warm_up: bool = False,
    ):
        self.cfg = cfg
        self.client = client
        self._own_client = client is None
        #: With --batch the step sees every row at once (the runner's global phase), so that one
        #: chat_many submits all of them: batches of 5,000-row chunks would wait one after another.
        self.is_global = cfg.batch
        #: --routing: the table (language -> teacher) and one client per teacher, built on first use.
        self.routing = RoutingTable.load(cfg.routing) if cfg.routing is not None else None
        self.routed: RoutedClient | None = None
        self._progress = progress
        #: Import what the end of the run needs while the calls are in flight (tagengo.run.warm);
        #: only for a process that forks no workers afterwards (the generate stage run locally).
        self.warm_up = warm_up
        self._summary: dict[str, Any] = {}

    #: What the runner's global phase reads of a global step (tagengo.run.steps.GlobalStep):
    #: set by it under Ray, and no Arrow fast path.
    batch_map: Any = None

    def select(self, table: Any) -> None:
        return None

    def setup(self) -> None:
        if self.client is None:
            self.client = build_client(self.cfg.llm_config(), progress=self._progress)

    def close(self) -> None:
        """Close the client if this step built it, and the teachers' clients."""
        if self.client is not None and self._own_client:
            self.client.close()
            self.client = None
        if self.routed is not None:
            self.routed.close()
            self.routed = None

    def _routed_client(self) -> RoutedClient:
        """The teachers' clients (--routing), drawing their progress together; closed by
        ``close()``, or when the step is dropped (the stage does not close its steps)."""
        if self.routed is None:
            progress = bool(getattr(self.client, "progress_enabled", self._progress))
            self.routed = RoutedClient(self.cfg.teacher_configs(), progress=progress)
            weakref.finalize(self, self.routed.close)
        return self.routed

    # -- preparing prompts ------------------------------------------------------------------

    def prompt_for(self, row: Record) -> tuple[list[dict[str, str]] | None, list[str], str | None]:
        """(messages to send, dropped assistant turns, rejection reason). Messages None and no
        reason means: leave the row as it is (``trailing_assistant='skip'``)."""
        msgs = list(row.messages)
        dropped: list[str] = []
        if msgs and msgs[-1]["role"] == "assistant":
            policy = self.cfg.trailing_assistant
            if policy == "reject":
                return None, [], REASON_ANSWERED
            if policy == "skip":
                return None, [], None
            while msgs and msgs[-1]["role"] == "assistant":
                dropped.insert(0, msgs.pop()["content"])
        if not msgs or msgs[-1]["role"] != "user":
            return None, dropped, REASON_NO_USER
        if is_blank(msgs[-1]["content"]):  # zero-width characters only: nothing to answer, no call
            return None, dropped, REASON_EMPTY_PROMPT
        return msgs, dropped, None

    def _request_messages(self, msgs: list[dict[str, str]]) -> list[dict[str, str]]:
        if self.cfg.system_prompt and not any(m["role"] == "system" for m in msgs):
            return [{"role": "system", "content": self.cfg.system_prompt}, *msgs]
        return msgs

    # -- the step ---------------------------------------------------------------------------

    def process(self, batch: list[Record]) -> tuple[list[Record], list[Rejection]]:
        if self.client is None:
            self.setup()
        assert self.client is not None
        outcome: list[Record | Rejection | None] = [None] * len(batch)
        todo: list[tuple[int, list[dict[str, str]], list[str]]] = []
        for i, row in enumerate(batch):
            msgs, dropped, problem = self.prompt_for(row)
            if problem is not None:
                outcome[i] = Rejection(row, self.name, problem)
            elif msgs is None:
                outcome[i] = row  # already answered, kept as it is ('skip')
            else:
                todo.append((i, msgs, dropped))

        requests = [self.cfg.request(self._request_messages(msgs)) for _, msgs, _ in todo]
        teachers: list[str | None] = [None] * len(todo)
        if self.routing is not None:
            if requests:
                self._warm_up()
            teachers = [self.routing.teacher_for(batch[i].language) for i, _, _ in todo]
            routed = self._routed_client()
            responses = routed.chat_many(requests, teachers, desc="generate") if requests else []  # type: ignore[arg-type]
        else:
            responses = self._answers_judged(batch, todo, requests, outcome) if requests else []

        acc = Accounting()
        for (i, msgs, dropped), req, resp, teacher in zip(todo, requests, responses, teachers, strict=True):
            if outcome[i] is None:  # not judged as it arrived (--routing, a client that does not tell)
                outcome[i] = self._judge(batch[i], msgs, dropped, req, resp, teacher)
            # The answers many prompts got alike (a canned reply) are counted over kept rows only:
            # the warning tells the user to read those rows, and rejected ones are already out.
            acc.record(resp, resp.model, req if isinstance(outcome[i], Record) else None)
        self._summary = {"models": acc.summary(percentiles=False)} if todo else {}
        if self.routing is not None and todo:
            self._summary["routing"] = {
                "table": str(self.routing.path),
                "sha256": self.routing.sha256,
                "rows_by_teacher": dict(Counter(t for t in teachers if t is not None)),
            }

        kept = [o for o in outcome if isinstance(o, Record)]
        rejected = [o for o in outcome if isinstance(o, Rejection)]
        return kept, rejected

    def _answers_judged(
        self,
        batch: list[Record],
        todo: list[tuple[int, list[dict[str, str]], list[str]]],
        requests: list[ChatRequest],
        outcome: list[Record | Rejection | None],
    ) -> list[ChatResponse]:
        """The client's answers to ``requests``; each judged into ``outcome`` as it arrives, by a
        thread of its own, while the other calls are in flight.

        Judging an answer (the answer contract, lid.176 on it) takes 0.25-0.9 ms of CPU: 0.6-2.2 s
        per 2,000 answers on loaded cores that the user waited for after the last one came back,
        on a core the event loop leaves mostly idle during the calls (docs/benchmarks.md, "generate").
        Each row's verdict depends on its own answer only, so the rows, reasons and order are
        the ones judging after the calls gives. The main thread keeps waiting in ``chat_many``,
        where Ctrl-C and a stop (budget, server down) reach it as before; on either, what was
        judged is dropped (the chunk is not written) and the thread stops at the next answer.
        It hands the GIL to the event loop when the interpreter asks it to (every 5 ms): a
        ``time.sleep(0)`` after each answer, tried, cost about 10 % more CPU in twice the context
        switches and gained nothing measurable on loaded cores (docs/benchmarks.md)."""
        assert self.client is not None
        if not _tells_each_answer(self.client):
            self._warm_up()
            return self.client.chat_many(requests, desc="generate")
        answers: queue.SimpleQueue[tuple[int, ChatResponse] | None] = queue.SimpleQueue()
        abandon = threading.Event()
        failed: list[BaseException] = []

        def judge_each() -> None:
            first = True
            while (item := answers.get()) is not None:
                if first:  # the first round of calls has left: the warm-up no longer delays it
                    first = False
                    self._warm_up()
                if abandon.is_set() or failed:
                    continue
                k, resp = item
                i, msgs, dropped = todo[k]
                try:
                    outcome[i] = self._judge(batch[i], msgs, dropped, requests[k], resp)
                except BaseException as e:  # a bug: raised in the main thread once the calls are done
                    failed.append(e)

        judge = threading.Thread(target=judge_each, name="tagengo-generate-judge", daemon=True)
        judge.start()
        done = False
        try:
            responses = self.client.chat_many(
                requests, desc="generate", on_answer=lambda k, resp: answers.put((k, resp))
            )
            done = True
        finally:
            if not done:
                abandon.set()
            answers.put(None)
            judge.join()
        if failed:
            raise failed[0]
        return responses

    def _warm_up(self) -> None:
        """Load, in a background thread, what the rest of the run needs (lid.176 for the
        answer-language check, pyarrow, pandas, matplotlib: tagengo.run.warm), if this step
        warms up. Called once an answer is back when answers are judged as they arrive: started
        before the calls, its 1 s of CPU (0.3 s of it holding the GIL, loading lid.176) came
        between the stage's set-up and its first request (docs/benchmarks.md, "generate")."""
        if self.warm_up:
            warm_imports_in_background(*([self.language.warm] if self.cfg.gate.enabled else []))

    def _judge(
        self,
        row: Record,
        msgs: list[dict[str, str]],
        dropped: list[str],
        request: ChatRequest,
        resp: ChatResponse,
        teacher: str | None = None,
    ) -> Record | Rejection:
        raw_finish = resp.raw.get("finish_reason", resp.finish_reason)
        gen: dict[str, Any] = {
            "model": resp.model,
            **({"teacher": teacher} if teacher is not None else {}),
            "finish_reason": resp.finish_reason,
            "input_tokens": resp.input_tokens,
            "output_tokens": resp.output_tokens,
            "latency_s": round(resp.latency_s, 3),
            "cost": resp.cost,
            "cached": resp.cached,
            "attempts": resp.attempts,
            "temperature": self.cfg.temperature,
            "max_tokens": self.cfg.max_tokens,
        }
        if resp.error is None and raw_finish != resp.finish_reason:
            gen["finish_reason_raw"] = raw_finish  # the server's spelling (tagengo.llm.finish)
        if resp.tokens_estimated:
            gen["tokens_estimated"] = True  # no usage from the server: counted here
        if self.cfg.system_prompt and not any(m["role"] == "system" for m in msgs):
            gen["system_prompt"] = self.cfg.system_prompt
        if dropped:
            gen["dropped_turns"] = dropped
        gen.update(answer_meta(resp))  # reasoning, replaced characters: nothing for a clean answer
        row.meta["generation"] = gen
        answer = (resp.content or "").strip()
        problem = answer_problem(resp, request, require_stop=self.cfg.require_stop)
        if problem is None and self.cfg.gate.enabled:
            problem, found = self.language.problem(answer, row.language, prompt=msgs[-1]["content"])
            if found:
                gen["language"] = found  # what lid.176 said: {detected, prob, expected}
        if problem is None:
            row.messages = [*msgs, {"role": "assistant", "content": answer}]
            return row
        if resp.error is not None:
            gen["error"] = resp.error
        elif answer and problem.kind in (UNFINISHED, UNKNOWN_FINISH, FILTERED):
            gen["partial_answer"] = answer  # what the server sent before it was cut
        elif answer:
            gen["rejected_answer"] = answer  # a finished answer that cannot be used: for a person to read
        if problem.kind == UNFINISHED and resp.finish_reason != STOP:
            # Cut by the finish reason: the reason generate has always written (the server's own
            # word is in finish_reason_raw), so that runs stay comparable with earlier ones. An
            # answer cut although the server said stop gets the contract's words.
            return Rejection(row, self.name, f"{REASON_UNFINISHED}: finish_reason={resp.finish_reason}")
        return Rejection(row, self.name, problem.reason())

    @property
    def language(self) -> AnswerLanguage:
        """The answer-language check (--gate), built on first use: lid.176 loads in the process
        that checks (a Ray actor's own), not in the driver."""
        check = self.__dict__.get("_language")
        if check is None:
            check = self.__dict__["_language"] = AnswerLanguage(self.cfg.gate)
        return check

    def summary(self) -> dict[str, Any]:
        """Figures of the last batch (the runner adds them up over chunks): per model calls,
        cached, failed, tokens, cost, latency sum, finish reasons, errors."""
        return self._summary


def _tells_each_answer(client: ChatClient) -> bool:
    """Whether ``client.chat_many`` takes ``on_answer`` (tagengo.llm.client.LLMClient does; a
    caller's own client may not: its answers are then judged once all are back)."""
    try:
        return "on_answer" in inspect.signature(client.chat_many).parameters
    except (TypeError, ValueError):  # no signature to read (a C callable)
        return False
