"""The steps of `tagengo prefer`: the prompt, the answers, the ranking, the pairs.

* ``PromptStep`` (streaming): the conversation up to its last user turn is the prompt;
  trailing assistant turns (a generated dataset's answer) are dropped and kept in
  ``meta.preference.dropped_turns``. No user turn: rejected.
* the per-language sample (``tagengo.run.sampling.PerLanguageCap``, seeded by ``--seed``).
* ``AnswerStep``: every model answers every prompt (one ``chat_many`` per model, the models in
  parallel). An answer that fails the answer contract (tagengo.llm.answer: the call failed, was
  filtered, cut, or is blank once the reasoning is removed ...) is left out of the ranking with
  its reason; a prompt with fewer than two usable answers is rejected. Each answer keeps the
  model's reasoning and the count of characters that were not valid Unicode, where there were any.
* ``RankStep``: the language check (lid.176, as ``bench``'s gate) puts answers confidently in
  another language than the prompt's last; the others are shown to the judge under letters
  A, B, C ... in an order shuffled per prompt by a RNG seeded with (seed, row id), so position
  bias cancels over prompts and a re-run shows the same order. The judge gives brief reasons
  and a ranking line (``ranking.py``), read from the reply after its reasoning is removed; an
  unreadable reply is followed up in the same conversation up to ``reask`` times, then the
  prompt is rejected with the parser's reason. A judge call the answer contract rejects for
  what the server did (failed, filtered, error body, prompt cut, the prompt sent back, a
  template leak, control characters, replacement characters) rejects the prompt at once ("judge
  call failed: ...", "judge echo: ...").
* ``PairStep``: best vs worst (one pair), or every ordered pair whose rank gap is at least
  ``margin``; tied answers never make a pair. A prompt whose ranking gives no pair is rejected.

Kept rows carry ``meta.preference`` (see docs/prefer.md) and ``messages`` = the prompt plus the
chosen answer of the first pair.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tagengo.lang.gate import LanguageGate
from tagengo.llm import ChatClient, ChatRequest, ChatResponse, build_client
from tagengo.llm.accounting import Accounting
from tagengo.llm.answer import (
    CALL_FAILED,
    CONTROL_CHARS,
    ECHO,
    FILTERED,
    PROMPT_TRUNCATED,
    PROVIDER_ERROR,
    REPLACEMENT,
    TEMPLATE_LEAK,
    answer_meta,
    answer_problem,
    language_problem,
)
from tagengo.llm.ranking import RankingError, labels_for, parse_ranking
from tagengo.llm.ranking_prompts import judge_messages, prompt_messages, reask_message
from tagengo.prefer.config import PreferConfig
from tagengo.records import Record, Rejection
from tagengo.run.pairs import build_pairs
from tagengo.run.steps import GlobalStep, Step

REASON_NO_USER = "no user turn"
REASON_FEW_ANSWERS = "fewer than 2 usable answers"
REASON_JUDGE_FAILED = "judge call failed"
REASON_NO_RANKING = "no valid ranking"
REASON_NO_PAIR = "no preference pair"


def _pref(row: Record) -> dict[str, Any]:
    return row.meta.setdefault("preference", {})


class PromptStep(Step):
    """Cuts each record to its prompt (up to the last user turn); no user turn: rejected."""

    name = "prompt"

    def process(self, batch: list[Record]) -> tuple[list[Record], list[Rejection]]:
        kept: list[Record] = []
        rejected: list[Rejection] = []
        for row in batch:
            msgs = prompt_messages(row)
            if not msgs or msgs[-1]["role"] != "user":
                rejected.append(Rejection(row, self.name, REASON_NO_USER))
                continue
            dropped = [m["content"] for m in row.messages[len(msgs) :]]
            if dropped:
                _pref(row)["dropped_turns"] = dropped
            row.messages = msgs
            kept.append(row)
        return kept, rejected


class _LLMStep(GlobalStep):
    """A global step holding clients: built in ``setup`` unless given, closed by ``close``."""

    def __init__(self) -> None:
        self._own: list[ChatClient] = []
        self._summary: dict[str, Any] = {}

    def _build(self, cfg: Any, progress: bool) -> ChatClient:
        client = build_client(cfg, progress=progress)
        self._own.append(client)
        return client

    def close(self) -> None:
        """Close the clients this step built."""
        for c in self._own:
            c.close()
        self._own.clear()

    def summary(self) -> dict[str, Any]:
        out, self._summary = self._summary, {}
        return out


class AnswerStep(_LLMStep):
    """Every model of ``cfg.models`` answers every prompt; answers go to ``meta.preference.answers``."""

    name = "answer"

    def __init__(
        self, cfg: PreferConfig, *, clients: dict[str, ChatClient] | None = None, progress: bool = False
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.clients: dict[str, ChatClient] = dict(clients or {})
        self._given = bool(clients)  # clients handed in answer here, whatever the executor
        self._progress = progress

    def setup(self) -> None:
        for m in self.cfg.models:
            if m.name not in self.clients:
                # No bar per client: several rich bars drawn at once from threads garble the
                # terminal; ``_bars`` draws one line per model instead.
                self.clients[m.name] = self._build(m.llm, False)

    def process(self, batch: list[Record]) -> tuple[list[Record], list[Rejection]]:
        self.setup()
        if not batch:
            return [], []

        requests = {m.name: [m.request(row.messages) for row in batch] for m in self.cfg.models}

        def ask(model: Any) -> list[ChatResponse]:
            return self.clients[model.name].chat_many(requests[model.name], desc=f"answer: {model.name}")

        if self.batch_map is not None and not self._given:
            # --executor ray: every model's calls go out to the actors in one map (each actor
            # builds a client per model); the answers come back in order and are judged here.
            from tagengo.llm.mapped import map_chats

            calls = [(m.name, req) for m in self.cfg.models for req in requests[m.name]]
            flat = map_chats(self.batch_map, {m.name: m.llm for m in self.cfg.models}, calls)
            by_model = [flat[k * len(batch) : (k + 1) * len(batch)] for k in range(len(self.cfg.models))]
        else:
            # One thread per model: each client runs its own event loop, so the models answer in
            # parallel (in-process llama.cpp models each hold their own weights).
            with ThreadPoolExecutor(max_workers=len(self.cfg.models)) as pool, self._bars(len(batch)):
                by_model = list(pool.map(ask, self.cfg.models))
        acc = Accounting()
        kept: list[Record] = []
        rejected: list[Rejection] = []
        for i, row in enumerate(batch):
            answers = []
            for model, responses in zip(self.cfg.models, by_model, strict=True):
                resp = responses[i]
                acc.record(resp, model.name)
                answers.append(self._answer(model.name, requests[model.name][i], resp))
            pref = _pref(row)
            pref["models"] = [m.name for m in self.cfg.models]
            pref["answers"] = answers
            usable = [a for a in answers if "problem" not in a]
            if len(usable) < 2:
                why = "; ".join(f"{a['model']}: {a['problem']}" for a in answers if "problem" in a)
                rejected.append(Rejection(row, self.name, f"{REASON_FEW_ANSWERS} ({why})"))
            else:
                kept.append(row)
        self._summary = {"models": acc.summary(percentiles=False)}
        return kept, rejected

    @contextlib.contextmanager
    def _bars(self, total: int) -> Iterator[None]:
        """One progress line per model (answers done, from each client's accounting), redrawn
        four times a second while the models answer; nothing when progress is off."""
        if not self._progress:
            yield
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from tagengo.io.progress_lines import live_terminal

        def done(client: ChatClient) -> int:
            models = getattr(getattr(client, "accounting", None), "models", {})
            return sum(u.calls + u.cached + u.failed for u in models.values())

        start = {name: done(c) for name, c in self.clients.items()}
        if not live_terminal():
            with self._lines(total, done, start):
                yield
            return
        with Progress(
            TextColumn("[bold]answer: {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        ) as bar:
            tasks = {name: bar.add_task(name, total=total) for name in self.clients}

            def refresh() -> None:
                for name, client in self.clients.items():
                    bar.update(tasks[name], completed=min(total, done(client) - start[name]))

            with _polling(refresh, 0.25):
                yield

    @contextlib.contextmanager
    def _lines(self, total: int, done: Callable[[ChatClient], int], start: dict[str, int]) -> Iterator[None]:
        """``_bars`` off a terminal: a plain line every interval (all models' answers done, rate,
        ETA, each model's count) and one when the batch is answered."""
        from tagengo.io.progress_lines import LineProgress

        counts = dict.fromkeys(self.clients, 0)
        line = LineProgress(
            "prefer answer",
            total * len(self.clients),
            fields=lambda: ", ".join(f"{name} {n:,}/{total:,}" for name, n in counts.items()),
        )

        def refresh() -> None:
            for name, client in self.clients.items():
                counts[name] = min(total, done(client) - start[name])
            line.set(done=sum(counts.values()))

        # A poll a second: the line itself is written only once an interval has passed.
        try:
            with _polling(refresh, min(1.0, line.interval)):
                yield
        finally:
            line.close()

    @staticmethod
    def _answer(name: str, request: ChatRequest, resp: ChatResponse) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": name,
            "served_by": resp.model,
            "finish_reason": resp.finish_reason,
            "output_tokens": resp.output_tokens,
            "cached": resp.cached,
        }
        if (problem := answer_problem(resp, request)) is not None:
            out["problem"] = problem.reason()
        out["content"] = (resp.content or "").strip()
        out.update(answer_meta(resp))  # reasoning, replaced characters: nothing for a clean answer
        return out


def shuffled_order(seed: int, row_id: str, n: int) -> list[int]:
    """The order answers are shown to the judge: ``order[j]`` is the answer shown under the
    j-th label. Seeded by (seed, row id): the same on every run, independent of row order."""
    order = list(range(n))
    random.Random(f"{seed}\x00{row_id}").shuffle(order)
    return order


class RankStep(_LLMStep):
    """Language check, shuffled labels, the judge's ranking (with re-asks)."""

    name = "rank"

    def __init__(
        self,
        cfg: PreferConfig,
        *,
        client: ChatClient | None = None,
        gate: LanguageGate | None = None,
        progress: bool = False,
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.client = client
        self._given = client is not None
        self.gate = gate or LanguageGate(cfg.gate.as_gate_config())
        self._progress = progress

    def setup(self) -> None:
        if self.client is None:
            self.client = self._build(self.cfg.judge, self._progress)

    def process(self, batch: list[Record]) -> tuple[list[Record], list[Rejection]]:
        """Gate, shuffle and rank every row's answers; a row is kept with its ranking, or
        rejected when the judge could not rank it."""
        self.setup()
        assert self.client is not None
        outcome: dict[int, Record | Rejection] = {}
        pending, wrong_lang = self._prompts(batch, outcome)
        calls, reasks = self._rank(batch, pending, outcome)
        kept = [o for i, o in sorted(outcome.items()) if isinstance(o, Record)]
        rejected = [o for i, o in sorted(outcome.items()) if isinstance(o, Rejection)]
        self._summary = {"judge_calls": calls, "reasks": reasks, "wrong_language_answers": wrong_lang}
        return kept, rejected

    def _prompts(
        self, batch: list[Record], outcome: dict[int, Record | Rejection]
    ) -> tuple[dict[int, tuple[list[dict[str, str]], list[str], list[int]]], int]:
        """The language gate on every usable answer, then, per row with two or more answers in
        its language, the judge's prompt (answers shuffled under labels); a row with fewer is
        finished here, into ``outcome``. Returns the prompts and the answers gated out."""
        from tagengo.lang.bench_names import language_name

        # Per row: (judge messages, labels, answer index per label) for rows the judge must rank.
        pending: dict[int, tuple[list[dict[str, str]], list[str], list[int]]] = {}
        wrong_lang = 0
        for i, row in enumerate(batch):
            pref = _pref(row)
            answers = pref["answers"]
            usable = [k for k, a in enumerate(answers) if "problem" not in a]
            checked, gated = [], []
            for k in usable:
                # The one answer-language check of every stage (tagengo.llm.answer): no verdict for a
                # row without a language or in one lid.176 cannot name.
                wrong, found = language_problem(
                    answers[k]["content"], row.language, self.gate, prompt=_last_user(row.messages)
                )
                if found:
                    answers[k]["language"] = found
                if wrong is not None:
                    answers[k]["wrong_language"] = True
                    gated.append(k)
                else:
                    checked.append(k)
            wrong_lang += len(gated)
            pref["wrong_language"] = [answers[k]["model"] for k in gated]
            if len(checked) >= 2:
                order = [checked[j] for j in shuffled_order(self.cfg.seed, row.id, len(checked))]
                labels = labels_for(len(order))
                pref["labels"] = {lab: answers[k]["model"] for lab, k in zip(labels, order, strict=True)}
                pref["permutation"] = order
                lang = language_name(row.language) or row.language or "the user's language"
                msgs = judge_messages(row.messages, [answers[k]["content"] for k in order], labels, lang)
                pending[i] = (msgs, labels, order)
            else:
                # Nothing to compare among the in-language answers: no judge call.
                self._finish(row, [checked] if checked else [], gated, None, "")
                outcome[i] = row

        return pending, wrong_lang

    def _rank(
        self,
        batch: list[Record],
        pending: dict[int, tuple[list[dict[str, str]], list[str], list[int]]],
        outcome: dict[int, Record | Rejection],
    ) -> tuple[int, int]:
        """Ask the judge to rank each pending row, re-asking (--reask) a reply with no valid
        ranking; each row ends in ``outcome``, ranked or rejected. Returns calls and re-asks."""
        calls = reasks = 0
        replies: dict[int, list[str]] = {i: [] for i in pending}
        found: dict[int, list[dict[str, Any]]] = {i: [] for i in pending}  # answer_meta per reply
        for round_no in range(self.cfg.reask + 1):
            if not pending:
                break
            idx = list(pending)
            requests = [self.cfg.judge_request(pending[i][0]) for i in idx]
            responses = self._ask(requests, round_no)
            calls += len(idx)
            reasks += len(idx) if round_no else 0
            for i, req, resp in zip(idx, requests, responses, strict=True):
                row = batch[i]
                msgs, labels, order = pending[i]
                pref = _pref(row)
                found[i].append(answer_meta(resp))
                problem = answer_problem(resp, req)
                if problem is not None and problem.kind in JUDGE_FATAL:
                    # No reply to read, or one to a prompt the server cut: a re-ask would send the
                    # same prompt to the same server. (A cut or empty reply is read, and re-asked
                    # about, like any other.) "judge call failed: HTTP 400 ...", "judge filtered: ..."
                    pref["judge"] = judge_info(resp, replies[i], found[i])
                    outcome[i] = Rejection(row, self.name, f"judge {problem.reason()}")
                    del pending[i]
                    continue
                reply = resp.content or ""  # the text after the reasoning (tagengo.llm.answer)
                replies[i].append(reply)
                try:
                    ranking, reasons = parse_ranking(reply, labels)
                except RankingError as exc:
                    if round_no < self.cfg.reask:
                        pending[i] = (
                            [*msgs, {"role": "assistant", "content": reply}, reask_message(str(exc), labels)],
                            labels,
                            order,
                        )
                        continue
                    pref["judge"] = judge_info(resp, replies[i], found[i])
                    n = len(replies[i]) - 1
                    outcome[i] = Rejection(
                        row, self.name, f"{REASON_NO_RANKING} after {n} re-ask{'s' * (n != 1)}: {exc}"
                    )
                    del pending[i]
                    continue
                del pending[i]
                by_label = dict(zip(labels, order, strict=True))
                tiers = [[by_label[lab] for lab in tier] for tier in ranking.tiers]
                pref["judge"] = judge_info(resp, replies[i], found[i])
                pref["ranking"] = str(ranking)
                self._finish(row, tiers, gated_of(row), ranking, reasons)
                outcome[i] = row
        return calls, reasks

    def _ask(self, requests: list[Any], round_no: int) -> Any:
        """The judge's replies: through the Ray actors (--executor ray), else this client."""
        assert self.client is not None
        if self.batch_map is not None and not self._given:
            from tagengo.llm.mapped import map_chats  # --executor ray: the actors call the judge

            return map_chats(self.batch_map, {"judge": self.cfg.judge}, [("judge", r) for r in requests])
        return self.client.chat_many(requests, desc="rank" if round_no == 0 else f"rank: re-ask {round_no}")

    @staticmethod
    def _finish(row: Record, tiers: list[list[int]], gated: list[int], ranking: Any, reasons: str) -> None:
        """Store the ranking by model: the judge's tiers, then the wrong-language answers tied last."""
        pref = _pref(row)
        answers = pref["answers"]
        all_tiers = [t for t in tiers if t] + ([gated] if gated else [])
        pref["ranked"] = [[answers[k]["model"] for k in tier] for tier in all_tiers]
        pref["reasons"] = reasons


#: Judge problems that end a prompt's ranking: the server gave no reply to read, or read a cut
#: prompt (its ranking would be of answers it did not see); the prompt sent back (its example
#: "Ranking: C>B=A" parses as a verdict nobody gave); and the server's own damage to a reply (a
#: template leak, control characters, letters lost to U+FFFD), which the same server does again
#: when re-asked.
JUDGE_FATAL = (
    CALL_FAILED, FILTERED, PROVIDER_ERROR, PROMPT_TRUNCATED, ECHO, TEMPLATE_LEAK, CONTROL_CHARS, REPLACEMENT,
)  # fmt: skip


def judge_info(resp: ChatResponse, replies: list[str], found: list[dict[str, Any]]) -> dict[str, Any]:
    """``meta.preference.judge``: the judge model, its replies (the text after any reasoning),
    the error of a call that failed; where the answer contract found any, the reasoning of
    each call (None for one without) and the characters replaced over all calls."""
    out: dict[str, Any] = {"model": resp.model, "replies": replies}
    if resp.error is not None:
        out["error"] = resp.error
    if any(m.get("reasoning") for m in found):
        out["reasoning"] = [m.get("reasoning") for m in found]
    if replaced := sum(m.get("replaced_chars", 0) for m in found):
        out["replaced_chars"] = replaced
    return out


def _last_user(messages: list[dict[str, str]]) -> str | None:
    return next((m["content"] for m in reversed(messages) if m["role"] == "user"), None)


def gated_of(row: Record) -> list[int]:
    """Indices of the answers the language check put last."""
    return [k for k, a in enumerate(_pref(row)["answers"]) if a.get("wrong_language")]


class PairStep(GlobalStep):
    """Turns each ranking into preference pairs (``meta.preference.pairs``)."""

    name = "pairs"

    def __init__(self, cfg: PreferConfig) -> None:
        self.cfg = cfg
        self._pairs = 0
        self._same = 0

    def process(self, batch: list[Record]) -> tuple[list[Record], list[Rejection]]:
        kept: list[Record] = []
        rejected: list[Rejection] = []
        self._pairs = 0
        self._same = 0
        for row in batch:
            pref = _pref(row)
            content = {a["model"]: a["content"] for a in pref["answers"]}
            # Ties are broken by a seeded hash of the row (not by --model order), and a pair whose
            # two answers are the same text is no preference (tagengo.run.pairs).
            pairs, same = build_pairs(
                pref["ranked"], content, self.cfg.pairs, self.cfg.margin, seed=self.cfg.seed, row_id=row.id
            )
            self._same += len(same)
            if same:
                pref["same_answer_pairs"] = same
            if not pairs:
                if same:
                    why = same[0]["reason"]
                elif len(pref["ranked"]) >= 2:
                    why = f"no two answers {self.cfg.margin} or more ranks apart"
                elif pref["ranked"] and pref["ranked"][0] == pref.get("wrong_language"):
                    why = "every answer is in another language than the prompt"
                else:
                    why = "every answer ranked equal"
                rejected.append(Rejection(row, self.name, f"{REASON_NO_PAIR}: {why}"))
                continue
            pref["pairs"] = pairs
            row.messages = [*row.messages, {"role": "assistant", "content": content[pairs[0]["chosen"]]}]
            self._pairs += len(pairs)
            kept.append(row)
        return kept, rejected

    def summary(self) -> dict[str, Any]:
        return {"pairs": self._pairs, "same_answer_pairs": self._same}


@contextlib.contextmanager
def _polling(refresh: Callable[[], None], period_s: float) -> Iterator[None]:
    """Call ``refresh`` every ``period_s`` seconds from a daemon thread while the block runs,
    and once more after it (so the last figures are shown), however the block ends."""
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(period_s):
            refresh()

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()
        refresh()
