"""``LLMClient``: the one place where model calls are cached, retried, rate-limited,
budgeted, counted and shown.

It wraps a backend (``tagengo.llm.backends``) and implements the ``ChatClient`` protocol.
The event loop runs in a background thread owned by the client, so:

* ``chat_many`` is a plain blocking call that steps and scripts can use as is, even from
  code that already runs an event loop;
* connections (and an in-process model) live as long as the client, not one batch.

Order of work in ``chat_many``: hash every request, replay what the cache has, dedupe
identical requests, then run the rest with at most ``concurrency`` in flight. Each call:
wait out any account-wide 429 pause, take rate-limit tokens, call, retry transient
failures with exponential backoff and full jitter (or the server's Retry-After, up to
``--retry-after-max-s``, said on the terminal when long), then
store the answer in the cache, committed within ``COMMIT_EVERY_S`` (50 ms) in groups of at
most ``concurrency`` answers, and before ``chat_many`` returns or raises (tagengo.llm.cache).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import random
import re
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

from rich.console import Console

from tagengo.llm.accounting import (
    Accounting,
    encoding_for_model,
    estimate_input_tokens,
    mid_sentence_warnings,
    same_answer_warnings,
    served_model_warnings,
)
from tagengo.llm.answer import normalise, same_model
from tagengo.llm.backends.base import Backend
from tagengo.llm.cache import COMMIT_EVERY_S, RequestCache
from tagengo.llm.config import LLMConfig
from tagengo.llm.errors import (
    BudgetExhausted,
    FatalBackendError,
    LLMConfigError,
    RequestError,
    RetryableError,
    RunAborted,
)
from tagengo.llm.progress import CallProgress
from tagengo.llm.ratelimit import RateLimiter
from tagengo.llm.types import ChatRequest, ChatResponse, EndpointRequest
from tagengo.llm.waits import ANNOUNCE_WAIT_S, WaitCap, long_wait_line, long_wait_stop

T = TypeVar("T")


class LLMClient:
    """A ``ChatClient`` over any backend. Build it with ``tagengo.llm.build_client``."""

    def __init__(
        self,
        config: LLMConfig,
        backend: Backend,
        cache: RequestCache | None = None,
        *,
        progress: bool = False,
        console: Console | None = None,
    ):
        self.config = config
        self.backend = backend
        self.model_id = backend.model_id
        self.model_name = backend.model_name
        self.cache = cache
        self.accounting = Accounting(config.budget)
        self.console = console
        self._progress = CallProgress(progress, console)
        self._failed_calls = 0
        limit = backend.max_concurrency
        self.concurrency = min(config.concurrency, limit) if limit else config.concurrency
        self._limiter = RateLimiter(config.rpm, config.tpm)
        self._budget_price = config.price_for(None)
        self._unpriced: set[str] = set()
        self._warned_estimated = False
        self._failures_in_row = 0
        #: Refusals (4xx) among the failures in a row, by their text without numbers: when one
        #: refusal is most of them, the request is wrong, not the server (``_server_down``).
        self._refusals: dict[str, int] = {}
        self._pause_until = 0.0  # monotonic time before which no call starts (after a 429)
        #: The --retry-after-max-s rule (tagengo.llm.waits.WaitCap, shared with the Batch API):
        #: a wait past the cap is waited once by every call; asked past it again, the run stops.
        self._cap = WaitCap(config.retry_after_max_s)
        self._announced_until = 0.0  # the end of the last wait a line was printed for
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._sem: asyncio.Semaphore | None = None
        self._freed: asyncio.Condition | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        self._commit_timer: asyncio.TimerHandle | None = None
        #: ``--batch``: the calls the cache does not hold go through the provider's Batch API
        #: (tagengo.llm.batch); None: online calls.
        self._batch = self._batch_runner() if config.batch else None

    # -- public API ----------------------------------------------------------------------------

    def chat_many(
        self,
        requests: list[ChatRequest],
        *,
        desc: str = "",
        on_answer: Callable[[int, ChatResponse], None] | None = None,
    ) -> list[ChatResponse]:
        """Answers in request order. Failed calls carry ``error``; nothing raises for a row.

        Raises ``BudgetExhausted`` when the budget stops the run and ``RunAborted`` when the
        server refuses everything (bad key, unknown model, down: ``abort_after_failures`` calls
        in a row failed for good, or every call of this batch used up its retries without an
        answer, however few): both after the calls in flight finished and were cached, with the
        finished answers in ``.responses``.

        ``on_answer(i, response)``: called as each answer takes its place (cached ones first),
        on the client's loop thread, so that a caller can work on answers while the others are
        in flight (generate checks them); it must return at once (a queue's put) and not raise."""
        return self._submit(self._chat_many(list(requests), desc, stop_when_down=True, on_answer=on_answer))

    async def achat_many(self, requests: list[ChatRequest], *, desc: str = "") -> list[ChatResponse]:
        """``chat_many`` for async callers (any event loop: the work runs on the client's)."""
        self._ensure_loop()
        coro = self._chat_many(list(requests), desc, stop_when_down=True)
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return await asyncio.wrap_future(fut)

    def call_many(self, requests: list[EndpointRequest], *, desc: str = "") -> list[ChatResponse]:
        """``chat_many`` for other endpoints of the API (embeddings, moderations): the same cache,
        retries (Retry-After honoured), limits, budget and accounting. Each answer's JSON text is
        in ``content``; a call that failed for good carries ``error`` (also when every call of
        the batch found the server down: these callers stop on any failed call themselves, with a
        message naming the endpoint)."""
        return self._submit(self._chat_many(list(requests), desc, stop_when_down=False))

    def chat(self, request: ChatRequest) -> ChatResponse:
        """One request (cache, retries and accounting as for ``chat_many``)."""
        return self.chat_many([request])[0]

    @property
    def progress_enabled(self) -> bool:
        """Whether this client shows its progress (a bar, or plain lines off a terminal)."""
        return self._progress.enabled

    def summary(self) -> dict[str, Any]:
        """Figures per model (calls, cached, failed, tokens, cost, latency, finish reasons)."""
        return self.accounting.summary()

    def print_summary(self, console: Console | None = None, title: str = "LLM calls") -> None:
        console = console or self.console or _wide_console()
        console.print(self.accounting.table(title))
        summary = self.accounting.summary(percentiles=False)
        warnings = [
            *served_model_warnings(summary),
            *same_answer_warnings(summary),
            *mid_sentence_warnings(summary),
        ]
        for warning in warnings:
            console.print(f"warning: {warning}", style="yellow", markup=False, highlight=False)

    def close(self) -> None:
        """Close connections, free the model, stop the loop thread, close the cache."""
        if self._closed:
            return
        self._closed = True
        self._progress.stop()
        if self._loop is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self.backend.aclose(), self._loop).result(timeout=30)
            if self._batch is not None:
                with contextlib.suppress(Exception):
                    asyncio.run_coroutine_threadsafe(self._batch.aclose(), self._loop).result(timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=30)
            self._loop.close()
            self._loop = None
        if self.cache is not None:
            self.cache.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the loop thread --------------------------------------------------------------------

    def _ensure_loop(self) -> None:
        if self._closed:
            raise RuntimeError("this LLM client is closed")
        with self._start_lock:
            if self._loop is not None:
                return
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="tagengo-llm", daemon=True)
            thread.start()
            self._loop, self._thread = loop, thread
            asyncio.run_coroutine_threadsafe(self._start(), loop).result()

    async def _start(self) -> None:
        self._sem = asyncio.Semaphore(self.concurrency)
        self._freed = asyncio.Condition()
        await self.backend.start()

    def _submit(self, coro: Coroutine[Any, Any, T]) -> T:
        self._ensure_loop()
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("chat_many called from the client's own loop: use achat_many")
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return fut.result()
        except BaseException:
            fut.cancel()
            raise

    # -- one chat_many ------------------------------------------------------------------------

    async def _chat_many(
        self,
        requests: list[ChatRequest] | list[EndpointRequest],
        desc: str,
        *,
        stop_when_down: bool,
        on_answer: Callable[[int, ChatResponse], None] | None = None,
    ) -> list[ChatResponse]:
        results: list[ChatResponse | None] = (
            [None] * len(requests) if on_answer is None else _Told(len(requests), on_answer)
        )
        where, canonical = self._group(requests)
        hits = self.cache.get_many(where) if self.cache is not None else {}
        n_cached = self._fill_from_cache(hits, where, results)
        if hits and hasattr(self.backend, "answered"):
            # Answers cached from this endpoint (the cache key holds it) show it speaks the chat API:
            # an HTML page on the one call a resume makes is that call's failure, not a wrong URL.
            self.backend.answered = True
        for key, resp in hits.items():
            if isinstance(requests[where[key][0]], ChatRequest):
                self.accounting.note_answer(resp, self.model_name, requests[where[key][0]])
        todo = [(key, requests[idx[0]]) for key, idx in where.items() if key not in hits]

        self._progress.add(desc, len(requests), n_cached, calls_needed=bool(todo))
        if self._batch is not None and todo and all(isinstance(r, ChatRequest) for _, r in todo):
            return await self._batch_many(todo, where, canonical, results, stop_when_down)
        stop: list[RunAborted] = []
        # Calls made in this batch, and those that never got a usable answer from the server
        # (retries used up on connection errors, timeouts, 5xx, 429): if that is every call,
        # the server is down, however few the calls were (see the end of this method).
        made = [0, 0]
        pending = iter(todo)
        tasks = [
            asyncio.ensure_future(self._worker(pending, where, canonical, results, stop, made))
            for _ in range(min(self.concurrency, len(todo)))
        ]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            # A bug or a full disk in one worker (or the caller giving up): stop the others
            # too, rather than leave them calling in the background.
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            self._commit_now()  # every answer of this batch is durable before it returns or raises
        if stop_when_down and not stop and made[0] >= 1 and made[1] == made[0]:
            # Fewer calls than --abort-after-failures, and not one reached the server: rejecting
            # them would mark the rows finished, and a re-run would never ask again.
            last = next(r.error for r in reversed(results) if r is not None and r.error is not None)
            stop.append(self._server_down(made[0], last))
        if stop:
            stop[0].responses = results
            raise stop[0]
        return results  # type: ignore[return-value]

    def _group(
        self, requests: list[ChatRequest] | list[EndpointRequest]
    ) -> tuple[dict[str, list[int]], dict[str, str]]:
        """The positions of each distinct request (by cache key), and each key's canonical text:
        a request asked twice in one batch is called once."""
        where: dict[str, list[int]] = {}
        canonical: dict[str, str] = {}
        for i, req in enumerate(requests):
            canon = req.canonical(self.model_id)
            key = hashlib.sha256(canon.encode()).hexdigest()  # == req.key(model_id), one JSON dump fewer
            canonical[key] = canon
            where.setdefault(key, []).append(i)
        return where, canonical

    def _fill_from_cache(
        self, hits: dict[str, ChatResponse], where: dict[str, list[int]], results: list[ChatResponse | None]
    ) -> int:
        """Put the cached answers in their places (each a copy, counted in the accounting); how many."""
        n_cached = 0
        for key, resp in hits.items():
            for i in where[key]:
                results[i] = self._served(dataclasses.replace(resp))
                self.accounting.record(resp, self.model_name)
                n_cached += 1
        return n_cached

    async def _worker(
        self,
        pending: Iterator[tuple[str, ChatRequest | EndpointRequest]],
        where: dict[str, list[int]],
        canonical: dict[str, str],
        results: list[ChatResponse | None],
        stop: list[RunAborted],
        made: list[int],
    ) -> None:
        """One of ``concurrency`` workers: take the next call from the shared ``pending`` until
        none is left or a stop (budget, fatal error, server down) was appended to ``stop``."""
        for key, req in pending:
            if stop:
                return
            worst = self._worst_case_cost(req)
            if not await self._reserve(worst):
                stop.append(
                    BudgetExhausted(
                        f"budget {self.config.budget:g} reached: spent {self.accounting.spent:.4f}; "
                        "the next call could pass it. Finished calls are cached: raise --budget and "
                        "re-run to resume."
                    )
                )
                return
            try:
                async with self._sem:
                    resp, gave_up = await self._call(req)
            except FatalBackendError as e:
                if not stop:
                    stop.append(RunAborted(self.backend.redact(str(e))))
                return
            finally:
                await self._unreserve(worst)
            self._place(key, req, resp, where, canonical, results)
            made[0] += 1
            made[1] += gave_up
            down = self._note_outcome(resp)
            if down is not None and not stop:
                stop.append(down)
            for _ in where[key]:
                self._progress.advance(
                    tok_s=self.accounting.tokens_per_s(),
                    spend=self.accounting.spent,
                    failed=self._failed_calls,
                )

    def _place(
        self,
        key: str,
        req: ChatRequest | EndpointRequest,
        resp: ChatResponse,
        where: dict[str, list[int]],
        canonical: dict[str, str],
        results: list[ChatResponse | None],
    ) -> None:
        """Cache a good answer and put it at every position that asked it (the repeats marked cached)."""
        if resp.error is None and self.cache is not None:
            self.cache.put(key, self.model_id, req, resp, canonical=canonical[key], commit=False)
            self._commit_soon()
        for n, i in enumerate(where[key]):
            r = self._served(resp if n == 0 else dataclasses.replace(resp, cached=True))
            results[i] = r
            self.accounting.record(r, self.model_name)
        if isinstance(req, ChatRequest):
            self.accounting.note_answer(resp, self.model_name, req)

    def _served(self, resp: ChatResponse) -> ChatResponse:
        """``resp``, or a copy naming the model asked for when the server says another served it
        (a gateway's fallback: LiteLLM, OpenRouter), before it takes its place: the accounting
        counts it per model (the run's warning), the row's meta keeps it, and with
        --require-served-model the answer contract rejects it (``other model``). The cached
        answer is left as the server sent it: the flag is this run's choice."""
        asked = self.model_name
        if resp.error is not None or not resp.model or not asked or self.config.backend != "openai":
            return resp  # azure: the name asked is a deployment's, never the model's; llamacpp: a file
        if same_model(asked, resp.model):
            return resp
        extra = {"requested_model": asked}
        if self.config.require_served_model:
            extra["require_served_model"] = True
        return dataclasses.replace(resp, raw={**resp.raw, **extra})

    def _note_outcome(self, resp: ChatResponse) -> RunAborted | None:
        """Count a call's outcome in the failures in a row; the stop to raise once there are
        ``abort_after_failures`` of them, else None."""
        if resp.error is None:
            self._failures_in_row = 0
            self._refusals.clear()
            return None
        self._failed_calls += 1
        self._failures_in_row += 1
        if resp.error_kind == "refused":
            self._refusals[_shape(resp.error)] = self._refusals.get(_shape(resp.error), 0) + 1
        if self._failures_in_row >= self.config.abort_after_failures:
            return self._server_down(self._failures_in_row, resp.error)
        return None

    # -- batch mode (tagengo.llm.batch) ----------------------------------------------------------

    def _batch_runner(self) -> Any:
        from tagengo.llm.batch import BatchRunner

        if self.cache is None:
            raise LLMConfigError("--batch needs the request cache: batch answers arrive there")
        return BatchRunner(
            self.config,
            self.backend,
            self.cache,
            self.accounting,
            model_id=self.model_id,
            model_name=self.model_name,
            cost=self._batch_cost,
            say=self._say,
            verbose=self._progress.enabled,
        )

    def _batch_cost(self, resp: ChatResponse) -> float:
        price = self.config.batch_price_for(resp.model)
        if price is None:
            self._unpriced.add(resp.model)
            return 0.0
        return price.cost(resp.input_tokens, resp.output_tokens)

    def _advance_progress(self) -> None:
        self._progress.advance(
            tok_s=self.accounting.tokens_per_s(), spend=self.accounting.spent, failed=self._failed_calls
        )

    def _say(self, text: str) -> None:
        # Through the live bar's console where one is drawn: the line then prints above the bar.
        live = getattr(getattr(self._progress, "_progress", None), "console", None)
        (live or self.console or _wide_console()).print(text, markup=False, highlight=False, soft_wrap=True)

    async def _batch_many(
        self,
        todo: list[tuple[str, ChatRequest]],
        where: dict[str, list[int]],
        canonical: dict[str, str],
        results: list[ChatResponse | None],
        stop_when_down: bool,
    ) -> list[ChatResponse]:
        """``_chat_many``'s calls through batches: the same results, accounting and stops."""
        assert self._batch is not None
        stops: list[RunAborted] = []
        failed: list[str] = []

        def deliver(key: str, resp: ChatResponse) -> None:
            for n, i in enumerate(where[key]):
                r = self._served(resp if n == 0 else dataclasses.replace(resp, cached=True))
                results[i] = r
                self.accounting.record(r, self.model_name)
            self.accounting.note_answer(resp, self.model_name)  # batches carry chat requests only
            if resp.error is not None:
                failed.append(resp.error)
            down = self._note_outcome(resp)
            if down is not None and not stops:
                stops.append(down)
            for _ in where[key]:
                self._advance_progress()

        try:
            await self._batch.answer(todo, canonical, deliver)
        except RunAborted as e:  # BatchPending, BudgetExhausted, a cancelled or refused batch
            stops.insert(0, e)
        finally:
            self._commit_now()
        made = sum(1 for key, _ in todo if results[where[key][0]] is not None)
        if stop_when_down and not stops and made and self._batch.gave_up == made:
            # Every request used up its resubmissions without an answer: the provider is not
            # answering; rejecting the rows would mark them finished (as online, see above).
            stops.append(self._server_down(made, failed[-1]))
        if stops:
            stops[0].responses = results
            raise stops[0]
        return results  # type: ignore[return-value]

    # -- committing the cache in groups -------------------------------------------------------

    def _commit_soon(self) -> None:
        """Commit when ``concurrency`` answers wait, else at most ``COMMIT_EVERY_S`` from now:
        one write system call per group instead of one per answer, and a killed process loses
        no more than the calls in flight and the answers of those last 50 ms."""
        assert self.cache is not None and self._loop is not None
        if self.cache.pending >= self.concurrency:
            self._commit_now()
        elif self._commit_timer is None:
            self._commit_timer = self._loop.call_later(COMMIT_EVERY_S, self._commit_now)

    def _commit_now(self) -> None:
        if self._commit_timer is not None:
            self._commit_timer.cancel()
            self._commit_timer = None
        if self.cache is not None:
            self.cache.commit()

    def _server_down(self, n: int, last: str | None) -> RunAborted:
        refused = max(self._refusals.values(), default=0)
        if last is not None and refused * 2 >= n:
            # Not a down server: it answered every call, with the same refusal. Name it and the fix.
            return RunAborted(
                f"the server refused {refused} of the last {n} calls the same way ({last}); every row "
                f"would be rejected for it, so the run stopped. {refusal_hint(last)} Finished calls "
                "are cached: re-run to resume."
            )
        calls = f"{n} calls in a row" if n > 1 else "1 call"
        where = self.model_id.split("@")[-1]
        if last is not None and getattr(self.backend, "answered", False):
            # This endpoint answered other calls (in this run, or cached from an earlier one): the
            # URL is right and the server was up, so "is it up?" would mislead (a --force re-run
            # makes only the calls that failed before: here, those that timed out again).
            if last.startswith("timeout"):
                return RunAborted(
                    f"{calls} timed out: no answer within --timeout-s {self.config.timeout_s:g} s "
                    f"({self.config.max_attempts} attempt(s) each; last: {last}). The server at {where} "
                    "answered other calls (in this run, or an earlier one's now in the cache), so it is "
                    "up but did not answer these prompts in time; the run stopped rather than reject "
                    "them. Raise --timeout-s (a long answer on a slow server takes minutes) and re-run "
                    "to resume."
                )
            return RunAborted(
                f"{calls} failed for good (last: {last}). The server at {where} answered other calls "
                "(in this run, or an earlier one's now in the cache), so the URL is right: is it still "
                "up, or failing on these prompts? Finished calls are cached: re-run to resume."
            )
        return RunAborted(
            f"{calls} failed for good (last: {last}); is the server at {where} up? Finished calls are "
            "cached: re-run to resume."
        )

    # -- budget ---------------------------------------------------------------------------------

    def _worst_case_cost(self, req: ChatRequest) -> float:
        if self.config.budget is None or self._budget_price is None:
            return 0.0
        return self._budget_price.cost(estimate_input_tokens(req), req.max_tokens)

    async def _reserve(self, worst: float) -> bool:
        """Wait until the call fits the budget next to the calls in flight; False if it never will."""
        acc = self.accounting
        if acc.budget is None:
            return True
        async with self._freed:
            while not acc.can_afford(worst):
                if acc.reserved_calls == 0:  # nothing in flight will free budget
                    return False
                await self._freed.wait()
            acc.reserve(worst)
        return True

    async def _unreserve(self, worst: float) -> None:
        if self.accounting.budget is None:
            return
        async with self._freed:
            self.accounting.release(worst)
            self._freed.notify_all()

    # -- one call, with retries -----------------------------------------------------------------

    async def _call(self, req: ChatRequest) -> tuple[ChatResponse, bool]:
        """The answer, and True when the call failed for good with retries used up (the server
        never answered usefully), False when it answered or refused this one request."""
        ticket = self._progress.in_flight.start()  # for the progress lines while none finishes
        try:
            return await self._call_until_answered(req)
        finally:
            self._progress.in_flight.end(ticket)

    async def _call_until_answered(self, req: ChatRequest) -> tuple[ChatResponse, bool]:
        cfg = self.config
        reserved_tokens = estimate_input_tokens(req) + req.max_tokens if self._limiter.active else 0
        attempt = 0
        first_start = time.perf_counter()
        while True:
            attempt += 1
            await self._wait_pause()
            if reserved_tokens:
                await self._limiter.acquire(reserved_tokens)
            start = time.perf_counter()
            try:
                resp = await self.backend.complete(req, cfg.timeout_s)
            except RetryableError as e:
                if reserved_tokens:
                    self._limiter.settle(reserved_tokens, 0)
                self._stop_if_past_cap_again(e)
                if attempt >= cfg.max_attempts:
                    failed = self._failed(
                        f"{e} (gave up after {attempt} attempts)", attempt, first_start, e.kind
                    )
                    # gave_up counts calls that never reached a working server; a page from one
                    # that answered other calls (openai_http: an HTML error page) is not that.
                    return failed, not getattr(e, "server_answered", False)
                delay = self._server_wait(e) if e.retry_after is not None else self._backoff(attempt)
                if e.rate_limited:
                    self._pause_until = max(self._pause_until, time.monotonic() + delay)
                await asyncio.sleep(delay)
                continue
            except RequestError as e:
                self._cap.clear()  # the server answers again
                return self._failed(str(e), attempt, first_start, kind=e.kind), False
            except FatalBackendError:
                raise
            except Exception as e:  # a bug or a backend surprise: reject the row, keep the run
                return self._failed(f"unexpected {type(e).__name__}: {e}", attempt, first_start), False
            self._cap.clear()  # the server answers again
            normalise(resp)  # the answer contract's first half, for every backend (tagengo.llm.answer)
            resp.latency_s = time.perf_counter() - start
            resp.attempts = attempt
            # Chat calls only: moderation endpoints never report usage, and that is no surprise.
            if resp.tokens_estimated and isinstance(req, ChatRequest) and not self._warned_estimated:
                self._warned_estimated = True
                (self.console or _wide_console()).print(
                    f"[yellow]warning:[/] {self.model_id.split('@')[-1]} sent no token usage; counting "
                    f"tokens here ({encoding_for_model(resp.model)}) for cost and --budget, marked as "
                    "estimated (tokens_estimated) in meta and the summary."
                )
            resp.cost = self._cost(resp)
            if reserved_tokens:
                self._limiter.settle(reserved_tokens, resp.input_tokens + resp.output_tokens)
            return resp, False

    def _failed(self, error: str, attempts: int, start: float, kind: str = "failed") -> ChatResponse:
        return normalise(
            ChatResponse(
                content=None,
                finish_reason=None,
                model=self.model_name,
                latency_s=time.perf_counter() - start,
                attempts=attempts,
                error=self.backend.redact(error),
                error_kind=kind,
            )
        )

    def _backoff(self, attempt: int) -> float:
        cap = min(self.config.backoff_max_s, self.config.backoff_base_s * 2 ** (attempt - 1))
        return random.uniform(0.0, cap)  # "full jitter"

    def _server_wait(self, e: RetryableError) -> float:
        """How long to wait before asking again when the server said how long (``e.retry_after``
        seconds, from ``e.wait_header``), saying so on the terminal when that is long.

        Up to ``--retry-after-max-s`` the wait is the server's. Past it, every call waits the cap
        once, together (a server that asks that long asks every call); a call told to wait past
        the cap again after that stops the run (``_stop_if_past_cap_again``): the server will not
        answer within a wait worth sleeping through, and retrying would only sleep the cap over
        and over."""
        asked = float(e.retry_after or 0.0)
        now = time.monotonic()
        wait, capped = self._cap.wait(asked, now)
        if not capped:
            # A little jitter on top so that 64 workers told "1 s" do not all return at once.
            wait = asked * (1.0 + 0.1 * random.random())
            self._announce(asked, now + wait, e)
            return wait
        until = now + wait + 0.05 * self._cap.cap * random.random()
        self._pause_until = max(self._pause_until, until)  # the cap is the whole client's wait
        self._announce(asked, until, e, cap=self._cap.cap)
        return until - now

    def _stop_if_past_cap_again(self, e: RetryableError) -> None:
        """Raise ``FatalBackendError`` when the server asks for a wait past the cap although the
        client already waited the cap for it (``_server_wait``)."""
        if self._cap.past_cap_again(e.retry_after, time.monotonic()):
            raise FatalBackendError(
                long_wait_stop(self._server(), float(e.retry_after or 0.0), e, self._cap.cap)
            )

    def _announce(self, asked: float, until: float, e: RetryableError, *, cap: float | None = None) -> None:
        """One line for a long wait (or one cut to the cap), once for all the calls told the same."""
        now = time.monotonic()
        if now < self._announced_until or (cap is None and until - now < ANNOUNCE_WAIT_S):
            return  # told already, or short; a wait cut to the cap is always told
        self._announced_until = until
        # Redacted again although the backend redacted its message: this line is not a row's reason
        # and goes to a terminal or a CI log that others read.
        self._say(
            self.backend.redact(long_wait_line(self._server(), asked, e, until - time.monotonic(), cap))
        )

    def _server(self) -> str:
        return self.model_id.split("@")[-1]

    async def _wait_pause(self) -> None:
        while (wait := self._pause_until - time.monotonic()) > 0:
            await asyncio.sleep(wait)

    def _cost(self, resp: ChatResponse) -> float:
        price = self.config.price_for(resp.model)
        if price is None:
            self._unpriced.add(resp.model)
            return 0.0
        return price.cost(resp.input_tokens, resp.output_tokens)

    @property
    def unpriced_models(self) -> set[str]:
        """Models that answered but have no entry in the price table (counted at cost 0)."""
        return set(self._unpriced)


class _Told(list):  # type: ignore[type-arg]
    """``_chat_many``'s answers, telling ``on_answer`` of each as it takes its place: every path
    (the cache, the calls, the Batch API) puts its answers here, so none goes untold."""

    def __init__(self, n: int, on_answer: Callable[[int, ChatResponse], None]) -> None:
        super().__init__([None] * n)
        self._on_answer = on_answer

    def __setitem__(self, i: Any, resp: Any) -> None:
        super().__setitem__(i, resp)
        self._on_answer(i, resp)


def _shape(error: str) -> str:
    """An error's text without its numbers (token counts, request ids differ row by row)."""
    return re.sub(r"\d+", "#", error)[:200]


#: What to change for refusals that servers in use send for a whole run: (words in the
#: refusal, all must appear, lower case) -> the fix.
_REFUSAL_FIXES: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("max_tokens", "max_completion_tokens"),
        "This model takes max_completion_tokens: add --max-tokens-param max_completion_tokens.",
    ),
    (
        ("max_tokens", "unsupported"),
        "This model takes max_completion_tokens: add --max-tokens-param max_completion_tokens.",
    ),
    (
        ("temperature",),
        "This model does not take this temperature: set --temperature to what it accepts (often 1).",
    ),
    (("top_p",), "This model does not take top_p: leave --top-p unset."),
    (("seed",), "This server does not take a seed: leave --seed unset."),
    (
        ("context",),
        "The prompts do not fit the model's context: lower --max-tokens, raise the server's context size, or shorten the prompts.",
    ),
    (("model",), "Check --model: the server does not serve this model under that name."),
)


#: Failures of the server's replies themselves, which no request option changes: (words, all
#: must appear, lower case) -> what to look at. Read before the request fixes.
_SERVER_FAULTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("utf-8",),
        "The server's replies are not valid UTF-8 (a proxy or gateway re-encoding them?): fix the "
        "server or what stands in front of it; no request option changes this.",
    ),
    (
        ("malformed",),
        "The server's replies are not the OpenAI format: check --base-url points at the API "
        "(…/v1) and not at a web page or another service.",
    ),
)
#: An error body the request fixes above did not explain: the server's own error.
_PROVIDER_ERROR = (
    ("provider error",),
    "The server answers every call with its own error (above): read it; a backend down behind a "
    "gateway or a model that failed to load is the usual cause, not the request.",
)


def refusal_hint(error: str) -> str:
    """One sentence with the fix for a refusal the whole run gets, or a generic one."""
    low = error.lower()
    for words, fix in (*_SERVER_FAULTS, *_REFUSAL_FIXES, _PROVIDER_ERROR):
        if all(w in low for w in words):
            return fix
    return (
        "Read the reason: where it names a request option, change that option (see docs/llm.md, "
        "'Refusals'); where it is the server's own fault, fix the server."
    )


def _wide_console() -> Console:
    """stderr console; wide enough for the summary table when not on a terminal (logs, CI)."""
    console = Console(stderr=True)
    return console if console.is_terminal else Console(stderr=True, width=160)
