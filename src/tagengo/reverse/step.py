"""The reverse-instruction step: for each fragment, an instruction it answers, judged.

Per batch, in rounds (each round one ``chat_many``, so the client's concurrency spans the
batch and its cache replays every finished call on a re-run):

1. ``roundtrip`` mode, non-English corpus: the fragment is translated into English;
2. a task type is drawn (seeded per row) and the model writes the instruction; an answer
   that is empty, far too long or a copy of the fragment is asked for again (``--reask``
   times, as a follow-up turn), then the row is rejected with the reason;
3. the judge scores the pair 1-5 on tagengo's rubric; an answer without a score is asked for
   again, then the row is rejected ("judge score unparseable"); a score below λ
   (``--min-score``) rejects the row with its score;
4. ``roundtrip``: the instruction is translated back into the corpus language and checked
   (not empty; language ID finds the language).

Three roles, one model unless told otherwise: the writer (``--model``) writes the instruction,
the judge (``--judge-*``) scores it, the translator (``--translator-*``) makes both translations.
By default all three are ``--model``, so the model grades instructions it wrote itself.

The kept record is ``[user: instruction, assistant: fragment]`` (the fragment unchanged).
Every answer passes the answer contract first (tagengo.llm.answer): the model's reasoning is
split off (the instruction, the score and the translations are read from the text after it),
the text is made valid Unicode, and an answer that failed, was filtered, was cut (finish
reason, or the whole ``max_tokens`` used), whose prompt the server cut, or that is empty once
the reasoning is removed rejects the row with the contract's reason, naming the phase. The
translations lose the chatter a translator adds around them (tagengo.llm.translation.chatter
``screen_chatter``); what was cut is kept in ``meta.reverse.chatter_removed`` per phase, and
chatter that cannot be cut (a sign-off run into the last sentence) rejects the row.

``meta.reverse`` holds every intermediate text (English fragment, English instruction, the
raw answers that failed to parse), the task type, the score, the judge's reasoning and each
call's request key (its cache key) and what the contract found (reasoning, replaced
characters), on kept and rejected rows alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tagengo.lang.langid import LanguageIdentifier
from tagengo.llm import ChatClient, ChatRequest, ChatResponse, build_client
from tagengo.llm.accounting import Accounting
from tagengo.llm.answer import EMPTY, AnswerLanguage, answer_meta, answer_problem, call_meta
from tagengo.llm.translation.chatter import chatter_reason, screen_chatter
from tagengo.llm.translation.check import CheckConfig, TranslationCheck
from tagengo.llm.translation.prompts import language_name, translation_messages
from tagengo.records import Record, Rejection
from tagengo.reverse.config import ReverseConfig
from tagengo.reverse.prompts import (
    INSTRUCT_SYSTEM,
    INSTRUCT_USER,
    JUDGE_SYSTEM,
    JUDGE_USER,
    REASK_INSTRUCTION,
    REASK_SCORE,
    draw_task,
    parse_instruction,
    parse_score,
)
from tagengo.reverse.select import fragment_text
from tagengo.run.steps import Step


class _Row:
    """One fragment's way through the rounds."""

    def __init__(self, row: Record) -> None:
        self.row = row
        self.fragment = fragment_text(row)
        self.info: dict[str, Any] = {"calls": {}}
        self.problem: str | None = None

    def call(self, phase: str, resp: ChatResponse, key: str) -> None:
        self.info["calls"].setdefault(phase, []).append({**call_meta(resp, key), **answer_meta(resp)})

    def translation(self, phase: str, answer: str | None, source: str) -> tuple[str, dict[str, str]]:
        """(the translation in an answer, the chatter cut from around it); what was cut is
        kept in meta under the phase."""
        found = screen_chatter(answer or "", source)
        text, removed = found.text, found.removed
        if removed:
            self.info.setdefault("chatter_removed", {})[phase] = removed
        if found.problem and self.problem is None:  # chatter that cannot be cut rejects the row
            self.problem = chatter_reason(found.problem, phase)
        return text, removed


class ReverseStep(Step):
    """Writes and judges an instruction for each fragment. Build the clients once (``setup``):
    ``client`` writes, ``judge`` scores, ``translator`` translates; a role not given is built
    from the config (its --judge-* / --translator-* options), or is ``client`` when the config
    names no model of its own."""

    name = "reverse"
    #: What a Ray actor builds again in its own ``setup`` (live clients and models do not pickle).
    runtime_attrs = ("client", "judge", "translator", "lid", "_language")

    def __init__(
        self,
        cfg: ReverseConfig,
        *,
        client: ChatClient | None = None,
        judge: ChatClient | None = None,
        translator: ChatClient | None = None,
    ) -> None:
        self.cfg = cfg
        self.client = client
        self.judge = judge
        self.translator = translator
        #: The roles whose client this step built in ``setup`` (and closes in ``close``).
        self._own: set[str] = set()
        self.lid: LanguageIdentifier | None = None
        #: The answer-language check (--gate), built on the first instruction checked.
        self._language: AnswerLanguage | None = None
        self._acc = Accounting()
        self._scores: dict[str, int] = {}
        self._chatter: dict[str, int] = {}

    def setup(self) -> None:
        if self.client is None:
            self.client = build_client(self.cfg.llm_config())
            self._own.add("client")
        for role in ("judge", "translator"):
            if getattr(self, role) is None:
                if self.cfg.separate(role):
                    setattr(self, role, build_client(self.cfg.role_llm_config(role)))
                    self._own.add(role)
                else:
                    setattr(self, role, self.client)
        if self.lid is None and self.cfg.check_back_translation:
            self.lid = LanguageIdentifier()

    def close(self) -> None:
        closed = [c for c in (getattr(self, role) for role in self._own) if c is not None]
        for c in closed:
            c.close()
        for role in ("client", "judge", "translator"):
            if any(getattr(self, role) is c for c in closed):
                setattr(self, role, None)
        self._own = set()

    @property
    def translates(self) -> bool:
        return self.cfg.mode == "roundtrip" and self.cfg.language != "en"

    # -- calls ------------------------------------------------------------------------------

    def _client(self, phase: str) -> ChatClient:
        """Who answers a phase: the translator translates, the judge scores, --model writes."""
        client = {
            "judge": self.judge,
            "translate_fragment": self.translator,
            "translate_instruction": self.translator,
        }.get(phase, self.client)
        assert client is not None
        return client

    def _ask(self, phase: str, items: list[_Row], requests: list[ChatRequest]) -> list[ChatResponse]:
        client = self._client(phase)
        responses = client.chat_many(requests, desc=f"reverse: {phase}") if requests else []
        model_id = client.model_id
        for item, req, resp in zip(items, requests, responses, strict=True):
            self._acc.record(resp, resp.model)
            item.call(phase, resp, req.key(model_id))
        return responses

    def _translation(self, it: _Row, phase: str, answer: str | None, source: str) -> str:
        """The translation in an answer, its chatter cut, kept in meta and counted per phase."""
        text, removed = it.translation(phase, answer, source)
        if removed:
            self._chatter[phase] = self._chatter.get(phase, 0) + 1
        return text

    def _ask_checked(
        self, phase: str, what: str, items: list[_Row], requests: list[ChatRequest]
    ) -> list[ChatResponse | None]:
        """Ask; an answer that fails the answer contract sets its row's problem (naming
        ``what``) and comes back as None."""
        out: list[ChatResponse | None] = []
        for it, req, resp in zip(items, requests, self._ask(phase, items, requests), strict=True):
            if (problem := answer_problem(resp, req)) is not None:
                it.problem = problem.reason(what)
                out.append(None)
            else:
                out.append(resp)
        return out

    def _ask_parsed(
        self,
        phase: str,
        items: list[_Row],
        messages: list[list[dict[str, str]]],
        parse: Callable[[_Row, str | None], tuple[Any, str]],
        reask: Callable[[_Row, str], str],
        max_tokens: int,
    ) -> list[Any]:
        """Ask, parse, re-ask the unparseable as a follow-up turn; None where it never parsed
        (the row then carries the problem). An answer that fails the answer contract rejects
        its row at once, except an empty one (nothing, or only reasoning), which is asked for
        again like any other unparseable answer; empty at the last ask, the row is rejected
        as an empty answer."""
        values: list[Any] = [None] * len(items)
        pending = list(range(len(items)))
        convo = [list(m) for m in messages]
        for attempt in range(self.cfg.reask + 1):
            if not pending:
                break
            reqs = [self.cfg.request(convo[i], max_tokens=max_tokens) for i in pending]
            resps = self._ask(phase, [items[i] for i in pending], reqs)
            still: list[int] = []
            for i, req, resp in zip(pending, reqs, resps, strict=True):
                item = items[i]
                problem = answer_problem(resp, req)
                if problem is not None and problem.kind != EMPTY:
                    item.problem = problem.reason(phase)
                    continue
                value, why = (None, "empty") if problem is not None else parse(item, resp.content)
                if value is not None:
                    values[i] = value
                    continue
                item.info.setdefault(f"{phase}_unparsed", []).append(resp.content)
                if attempt == self.cfg.reask:
                    if problem is not None:
                        item.problem = problem.reason(f"{phase}, after {attempt + 1} ask(s)")
                        continue
                    shown = " ".join((resp.content or "").split())[:120]
                    item.problem = f"{phase} unparseable after {attempt + 1} ask(s) ({why}): {shown!r}"
                    continue
                convo[i] += [
                    {"role": "assistant", "content": resp.content or ""},
                    {"role": "user", "content": reask(item, why)},
                ]
                still.append(i)
            pending = still
        return values

    # -- the step ---------------------------------------------------------------------------

    def process(self, batch: list[Record]) -> tuple[list[Record], list[Rejection]]:
        """The paper's rounds over a batch, each on the rows the rounds before left alive."""
        if self.client is None or self.judge is None or self.translator is None:
            self.setup()
        lang = self.cfg.language or "en"
        items = [_Row(r) for r in batch]
        for it in items:
            it.info.update(mode=self.cfg.mode, language=lang)
        if self.translates:
            self._fragments_in_english(items, lang)
        work_lang = "en" if self.translates else lang
        text_of = (lambda it: it.info["fragment_en"]) if self.translates else (lambda it: it.fragment)
        live = self._instructions([it for it in items if it.problem is None], text_of, work_lang)
        live = self._judged(live, text_of)
        if self.translates:
            self._instructions_back(live, lang)
        return self._kept_and_rejected(items)

    def _fragments_in_english(self, items: list[_Row], lang: str) -> None:
        """1. The fragment in English (``info["fragment_en"]``), roundtrip mode."""
        live = [it for it in items if it.problem is None]
        reqs = [self.cfg.request(translation_messages(it.fragment, lang, "en")) for it in live]
        what = "translation of the fragment into English"
        for it, resp in zip(live, self._ask_checked("translate_fragment", what, live, reqs), strict=True):
            if resp is None:
                continue
            text = self._translation(it, "translate_fragment", resp.content, it.fragment)
            if not text:
                it.problem = "empty translation of the fragment into English"
            else:
                it.info["fragment_en"] = text

    def _instructions(self, live: list[_Row], text_of: Callable[[_Row], str], work_lang: str) -> list[_Row]:
        """2. The instruction each fragment answers, for a task type drawn per row; the rows
        that got one and are still alive."""
        cfg = self.cfg
        msgs = []
        for it in live:
            task = draw_task(cfg.task_seed, it.row.id, tuple(cfg.task_types))
            it.info["task_type"] = task.id
            user = INSTRUCT_USER.format(text=text_of(it), hint=task.hint, language=language_name(work_lang))
            msgs.append([{"role": "system", "content": INSTRUCT_SYSTEM}, {"role": "user", "content": user}])
        instructions = self._ask_parsed(
            "instruction",
            live,
            msgs,
            lambda it, answer: parse_instruction(answer, text_of(it)),
            lambda it, why: REASK_INSTRUCTION.format(problem=why, language=language_name(work_lang)),
            cfg.instruction_max_tokens,
        )
        for it, text in zip(live, instructions, strict=True):
            if text is not None:
                it.info["instruction_en" if self.translates else "instruction"] = text
                self._check_language(
                    it, text, work_lang if self.translates else cfg.language or it.row.language
                )
        return [
            it for it, text in zip(live, instructions, strict=True) if text is not None and it.problem is None
        ]

    def _check_language(self, it: _Row, text: str, expected: str | None) -> None:
        """The answer-language check of every stage (--gate, tagengo.llm.answer) on a written
        instruction: in the language it was asked in. What lid.176 found goes to meta."""
        if not self.cfg.gate.enabled:
            return
        if self._language is None:
            self._language = AnswerLanguage(self.cfg.gate)
        problem, found = self._language.problem(text, expected, "instruction")
        if found:
            it.info["instruction_language"] = found
        if problem is not None:
            it.problem = problem.reason("instruction")

    def _judged(self, live: list[_Row], text_of: Callable[[_Row], str]) -> list[_Row]:
        """3. The judge's 1-5 score of each (instruction, fragment) pair; the rows scored at
        least --min-score."""
        cfg = self.cfg
        msgs = [
            [
                {"role": "system", "content": JUDGE_SYSTEM},
                {
                    "role": "user",
                    "content": JUDGE_USER.format(
                        instruction=it.info["instruction_en" if self.translates else "instruction"],
                        response=text_of(it),
                    ),
                },
            ]
            for it in live
        ]

        def parse_judge(it: _Row, answer: str | None) -> tuple[Any, str]:
            score, reasoning = parse_score(answer)
            if score is None:
                return None, "no score 1-5 found"
            it.info["judge_reasoning"] = reasoning
            it.info["judge_answer"] = answer
            return score, ""

        scores = self._ask_parsed(
            "judge", live, msgs, parse_judge, lambda it, why: REASK_SCORE, cfg.judge_max_tokens
        )
        for it, score in zip(live, scores, strict=True):
            if score is None:
                continue
            it.info["score"] = score
            self._scores[str(score)] = self._scores.get(str(score), 0) + 1
            if score < cfg.min_score:
                it.problem = f"judge score {score} below --min-score {cfg.min_score}"
        return [it for it in live if it.problem is None and "score" in it.info]

    def _instructions_back(self, live: list[_Row], lang: str) -> None:
        """4. The instruction back in the corpus language, checked as a translation (roundtrip)."""
        check = TranslationCheck(
            CheckConfig(check_language=self.cfg.check_back_translation, protect=False), self.lid
        )
        reqs = [self.cfg.request(translation_messages(it.info["instruction_en"], "en", lang)) for it in live]
        what = "translation of the instruction"
        for it, resp in zip(live, self._ask_checked("translate_instruction", what, live, reqs), strict=True):
            if resp is None:
                continue
            text = self._translation(it, "translate_instruction", resp.content, it.info["instruction_en"])
            back: dict[str, Any] = {}
            reason = check.check(
                it.info["instruction_en"],
                text,
                lang,
                back,
                "the back-translated instruction",
                source_language="en",
            )
            if back:
                it.info["back_translation_check"] = back
            if reason:
                it.info["instruction_raw"] = text
                it.problem = reason
            else:
                it.info["instruction"] = text

    def _kept_and_rejected(self, items: list[_Row]) -> tuple[list[Record], list[Rejection]]:
        """Each row as (instruction, fragment), kept, or rejected with what it has and why."""
        kept: list[Record] = []
        rejected: list[Rejection] = []
        for it in items:
            row = it.row
            row.meta["reverse"] = it.info
            instruction = it.info.get("instruction")
            if it.problem is None and instruction:
                row.messages = [
                    {"role": "user", "content": instruction},
                    {"role": "assistant", "content": it.fragment},
                ]
                kept.append(row)
            else:
                first = instruction or it.info.get("instruction_en")
                row.messages = ([{"role": "user", "content": first}] if first else []) + [
                    {"role": "assistant", "content": it.fragment}
                ]
                rejected.append(Rejection(row, self.name, it.problem or "no instruction"))
        return kept, rejected

    def summary(self) -> dict[str, Any]:
        """Calls per model, the judge's scores (count per score) and the translations whose
        chatter was cut (count per phase) of the batches since the last call."""
        out: dict[str, Any] = {}
        if models := self._acc.summary(percentiles=False):
            out["models"] = models
        if self._scores:
            out["scores"] = dict(self._scores)
        if self._chatter:
            out["chatter_removed"] = dict(self._chatter)
        self._acc, self._scores, self._chatter = Accounting(), {}, {}
        return out
