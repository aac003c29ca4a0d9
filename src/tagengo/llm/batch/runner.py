"""The batch runner: what ``LLMClient.chat_many`` does with the calls the cache does not hold
when ``--batch`` is on.

1. Every submission recorded next to the cache (``state.py``) for this model and endpoint that
   holds any of the requests is polled, not paid for again: that is how a re-run, or a run after
   a crash, Ctrl-C or ``--batch-detach``, picks up its batches.
2. The other requests are written as request lines (``custom_id`` = the request cache key, the
   body the online backend would send), split at ``--batch-max-requests`` and ``--batch-max-mb``,
   uploaded (``POST /files``, ``purpose=batch``) and made a batch (``POST /batches``); with
   ``--batch-dir`` they are written for vLLM's ``run-batch`` instead.
3. The batches are polled every ``--batch-poll-s`` (their ``request_counts`` are the progress),
   or, with ``--batch-detach``, looked at once: what is still running stops the run with
   :class:`BatchPending` (status 75 on the command line), to be collected by a re-run.
4. A finished batch's output and error files are read line by line. A line's answer goes
   through the online backend's own body parsing (``OpenAIHTTPBackend._parse``: error bodies,
   filters, finish reasons) and ``tagengo.llm.answer.normalise``, is priced at the batch price
   and stored in the request cache: an online re-run pays nothing, and the stage checks every
   answer with ``answer_problem`` as it checks online ones. A line that failed for a passing
   reason (429, 5xx, the batch expired before reaching it) is submitted again, up to
   ``--batch-resubmits`` times; a refusal (400) fails that request as online.
5. A batch cancelled at the provider stops the run (its answers kept, the rest not resubmitted:
   someone cancelled it); one that failed validation fails the requests its errors name by line
   and submits the rest again, or stops the run when the errors name no line.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from tagengo.llm.accounting import Accounting, count_usage, estimate_input_tokens
from tagengo.llm.answer import normalise
from tagengo.llm.batch.api import BatchAPI, BatchAPIError
from tagengo.llm.batch.files import OutputLine, read_output, request_line, write_split
from tagengo.llm.batch.state import COLLECTED, FINAL, PREPARED, UPLOADED, WRITTEN, BatchState, Submission
from tagengo.llm.cache import RequestCache
from tagengo.llm.config import LLMConfig
from tagengo.llm.errors import BudgetExhausted, FatalBackendError, RequestError, RetryableError, RunAborted
from tagengo.llm.types import ChatRequest, ChatResponse

#: Error codes of an output line's ``error`` that are worth another submission.
RETRY_CODES = frozenset(
    {
        "batch_expired",
        "rate_limit_exceeded",
        "server_error",
        "internal_error",
        "timeout",
        "service_unavailable",
        "overloaded",
    }
)


class BatchPending(RunAborted):
    """Batches are still running at the provider (``--batch-detach``), or the requests wait for
    vLLM's ``run-batch`` (``--batch-dir``). Nothing is lost: re-running the same command polls
    them (or reads the output file) and pays for nothing twice. ``exit_code``: what the command
    line exits with (75, EX_TEMPFAIL: try again later)."""

    exit_code = 75


class BatchRunner:
    """One per client; see the module doc. ``cost``: the client's price of an answer at the batch
    price; ``say``: a line for the user (stderr)."""

    def __init__(
        self,
        config: LLMConfig,
        backend: Any,
        cache: RequestCache,
        accounting: Accounting,
        *,
        model_id: str,
        model_name: str,
        cost: Callable[[ChatResponse], float],
        say: Callable[[str], None],
        verbose: bool,
    ) -> None:
        self.config = config
        self.backend = backend
        self.cache = cache
        self.accounting = accounting
        self.model_id = model_id
        self.model_name = model_name
        self.cost = cost
        self.say = say
        self.verbose = verbose
        self.redact = backend.redact
        self.local_dir = Path(config.batch_dir).resolve() if config.batch_dir is not None else None
        self.api = None if self.local_dir is not None else BatchAPI(config, say)
        self.where = f"dir:{self.local_dir}" if self.local_dir is not None else self.api.root  # type: ignore[union-attr]
        self.line_url = self.api.line_url if self.api is not None else "/v1/chat/completions"
        self.body_model = (config.azure_deployment or config.model) if config.backend == "azure" else None
        self.state = BatchState.next_to(config.resolved_cache_path())
        self._last_report = 0.0
        self.gave_up = 0
        self._canonical: dict[str, str] = {}

    async def start(self) -> None:
        if self.api is not None:
            await self.api.start()

    async def aclose(self) -> None:
        if self.api is not None:
            await self.api.aclose()

    # -- one chat_many ----------------------------------------------------------------------------

    async def answer(
        self,
        todo: list[tuple[str, ChatRequest]],
        canonical: dict[str, str],
        deliver: Callable[[str, ChatResponse], None],
    ) -> None:
        """Answer ``todo`` (cache key, request) through batches: ``deliver(key, response)`` once
        for every request that finished (an answer, or a failure for good) as soon as its batch
        is read, also when this then raises ``BatchPending``, ``BudgetExhausted`` or ``RunAborted``."""
        await self.start()
        out = _Delivered(deliver)
        self.gave_up = 0  # requests of this call that failed for good after every resubmission
        mine = dict(todo)
        self._canonical = canonical
        watching: list[Submission] = []
        covered: set[str] = set()
        for sub in self.state.open(self.model_id, self.where):
            if sub.status == PREPARED:  # a run died while writing it: nothing reached the provider
                self.state.forget(sub)
                continue
            keys = set(sub.keys)
            if keys & mine.keys():
                watching.append(sub)
                covered |= keys
        if watching:
            n = sum(1 for k in mine if k in covered)
            self.say(
                f"batch: {n:,} of these requests are in {len(watching)} batch(es) submitted earlier "
                f"({', '.join(s.name for s in watching)}); polling them instead of paying again"
            )
        new = [k for k in mine if k not in covered]
        new, over_budget = self._within_budget(new, mine)
        if new:
            watching += await self._submit(new, mine, 0, out)
        cancelled: list[str] = []
        while watching:
            still: list[Submission] = []
            for sub in watching:
                await self._refresh(sub)
                if sub.status not in FINAL:
                    still.append(sub)
                    continue
                retry = await self._collect(sub, mine, out, cancelled)
                again: list[str] = []
                for key, reason in retry.items():
                    if key not in mine or key in out:
                        continue
                    if sub.round + 1 > self.config.batch_resubmits:
                        out[key] = self._failed(
                            f"{reason} (gave up after {sub.round + 1} submissions)", sub.round + 1
                        )
                        self.gave_up += 1
                    else:
                        again.append(key)
                self.state.collected(sub)
                if again:
                    self.say(
                        f"batch {sub.name}: submitting {len(again):,} requests again "
                        f"(submission {sub.round + 2} of at most {self.config.batch_resubmits + 1})"
                    )
                    still += await self._submit(again, mine, sub.round + 1, out)
            watching = still
            if not watching:
                break
            self._report(watching)
            if self.local_dir is not None or self.config.batch_detach:
                raise BatchPending(self._pending_message(watching, mine))
            await asyncio.sleep(self.config.batch_poll_s)
        if cancelled:
            raise RunAborted(
                f"a batch was cancelled at the provider with {len(cancelled):,} requests unanswered; the "
                "answers it had are cached. Re-run to submit the rest again (or run without --batch to "
                "ask them online)."
            )
        if over_budget:
            raise BudgetExhausted(
                f"budget {self.config.budget:g} reached: the worst case of {len(over_budget):,} more "
                "requests at the batch price could pass it, so they were not submitted; the answers of "
                "the batches that fit are cached: raise --budget and re-run to resume."
            )

    # -- submitting -------------------------------------------------------------------------------

    def _within_budget(self, keys: list[str], mine: dict[str, ChatRequest]) -> tuple[list[str], list[str]]:
        acc = self.accounting
        price = self.config.batch_price_for(None)
        if acc.budget is None or price is None:
            return keys, []
        room = acc.budget - acc.spent - acc.reserved
        total = 0.0
        for n, key in enumerate(keys):
            req = mine[key]
            total += price.cost(estimate_input_tokens(req), req.max_tokens)
            if total > room:
                return keys[:n], keys[n:]
        return keys, []

    def _body(self, req: ChatRequest) -> dict[str, Any]:
        body = self.backend.body(req)
        if self.body_model:
            body["model"] = self.body_model
        return body

    async def _submit(
        self, keys: list[str], mine: dict[str, ChatRequest], round_: int, out: dict[str, ChatResponse]
    ) -> list[Submission]:
        """Write, split, upload and create the batches of ``keys``; their submissions, recorded."""
        subs: list[Submission] = []
        made: dict[int, Submission] = {}

        def path_for(n: int) -> Path:
            sub = self.state.new(self.model_id, self.where, [], round_)
            self.state.save(sub)  # prepared: forgotten by the next run if this one dies now
            made[n] = sub
            if self.local_dir is not None:
                self.local_dir.mkdir(parents=True, exist_ok=True)
                return self.local_dir / f"{sub.local_id}.input.jsonl"
            return self.state.input_path(sub)

        lines = ((k, request_line(k, self.line_url, self._body(mine[k]))) for k in keys)
        max_bytes = int(self.config.batch_max_mb * 1_000_000)
        n_file = 0
        for f in write_split(
            lines, path_for, max_requests=self.config.batch_max_requests, max_bytes=max_bytes
        ):
            if f.path is None:
                key = f.keys[0]
                out[key] = self._failed(
                    f"the request is {f.size / 1e6:.1f} MB, more than a batch file may hold "
                    f"(--batch-max-mb {self.config.batch_max_mb:g})",
                    round_ + 1,
                    kind="refused",
                )
                continue
            sub = made[n_file]
            n_file += 1
            sub.keys = f.keys
            sub.input_bytes = f.size
            if self.local_dir is not None:
                sub.status = WRITTEN
                sub.submitted = time.time()
                self.state.save(sub)
                self.say(f"batch: wrote {len(f.keys):,} requests to {f.path} for vLLM's run-batch")
            else:
                await self._upload_and_create(sub, f.path)
            subs.append(sub)
        return subs

    async def _upload_and_create(self, sub: Submission, path: Path) -> None:
        assert self.api is not None
        try:
            info = await self.api.upload(path)
        except (BatchAPIError, FatalBackendError) as e:
            self.state.forget(sub)
            raise RunAborted(
                f"uploading a batch file failed: {self.redact(str(e))}. Nothing was submitted; re-run to try again."
            ) from None
        sub.input_file_id = str(info.get("id"))
        sub.status = UPLOADED
        self.state.save(sub)
        path.unlink(missing_ok=True)
        await self._create(sub)
        self.say(
            f"batch {sub.name}: submitted {len(sub.keys):,} requests ({sub.input_bytes / 1e6:.1f} MB) "
            f"to {self.where}"
        )

    async def _create(self, sub: Submission) -> None:
        """Make the batch of an uploaded file (or adopt the one a crashed run made from it)."""
        assert self.api is not None and sub.input_file_id is not None
        try:
            found = await self.api.find_by_input(sub.input_file_id) if sub.submitted is None else None
            batch = found or await self.api.create(sub.input_file_id, {"tagengo_submission": sub.local_id})
        except (BatchAPIError, FatalBackendError) as e:
            raise RunAborted(
                f"creating a batch from the uploaded file {sub.input_file_id} failed: {self.redact(str(e))}. "
                "Re-run to try again (the file is not uploaded twice)."
            ) from None
        sub.submitted = time.time()
        self._update(sub, batch)
        self.state.save(sub)

    # -- polling ----------------------------------------------------------------------------------

    def _update(self, sub: Submission, batch: dict[str, Any]) -> bool:
        before = (sub.status, sub.request_counts)
        sub.batch_id = str(batch.get("id") or sub.batch_id)
        sub.status = str(batch.get("status") or sub.status)
        sub.output_file_id = batch.get("output_file_id") or sub.output_file_id
        sub.error_file_id = batch.get("error_file_id") or sub.error_file_id
        counts = batch.get("request_counts")
        if isinstance(counts, dict):
            sub.request_counts = {k: int(v) for k, v in counts.items() if isinstance(v, int | float)}
        errors = batch.get("errors")
        if isinstance(errors, dict):
            sub.errors = [e for e in errors.get("data") or [] if isinstance(e, dict)]
        return (sub.status, sub.request_counts) != before

    async def _refresh(self, sub: Submission) -> None:
        if sub.status in FINAL:
            return
        if self.local_dir is not None:
            if self._local_output(sub).exists():
                sub.status = "completed"
            return
        assert self.api is not None
        try:
            if sub.status == UPLOADED and sub.batch_id is None:
                await self._create(sub)
                return
            batch = await self.api.retrieve(str(sub.batch_id))
        except (BatchAPIError, FatalBackendError) as e:
            raise RunAborted(
                f"looking at batch {sub.name} failed: {self.redact(str(e))}. It is recorded; re-run to poll it again."
            ) from None
        if self._update(sub, batch):
            self.state.save(sub)

    def _local_output(self, sub: Submission) -> Path:
        assert self.local_dir is not None
        return self.local_dir / f"{sub.local_id}.output.jsonl"

    def _report(self, watching: list[Submission]) -> None:
        from tagengo.io.progress_lines import progress_interval

        now = time.monotonic()
        if self._last_report and (not self.verbose or now - self._last_report < progress_interval()):
            return
        self._last_report = now
        for sub in watching:
            c = sub.request_counts
            if c:
                self.say(
                    f"batch {sub.name}: {sub.status} · {c.get('completed', 0):,}/{c.get('total', len(sub.keys)):,} "
                    f"answered · {c.get('failed', 0):,} failed"
                )
            else:
                self.say(f"batch {sub.name}: {sub.status} · {len(sub.keys):,} requests")

    def _pending_message(self, watching: list[Submission], mine: dict[str, ChatRequest]) -> str:
        n = sum(1 for s in watching for k in s.keys if k in mine)
        if self.local_dir is not None:
            model = self.body_model or self.config.model or "MODEL"
            runs = "\n".join(
                f"  python -m vllm.entrypoints.openai.run_batch -i {self.local_dir / (s.local_id + '.input.jsonl')} "
                f"-o {self._local_output(s)} --model {model}"
                for s in watching
            )
            return (
                f"{n:,} requests wait for vLLM's run-batch. Run\n{runs}\nthen re-run this command: it reads "
                "the output files, checks every answer and fills the request cache."
            )
        statuses = ", ".join(f"{s.name} {s.status}" for s in watching)
        return (
            f"{n:,} requests are in {len(watching)} batch(es) still running at {self.where} ({statuses}). "
            "Re-run the same command to collect them: it polls these batches and pays for nothing twice "
            f"(recorded in {self.state.folder})."
        )

    # -- collecting -------------------------------------------------------------------------------

    async def _collect(
        self,
        sub: Submission,
        mine: dict[str, ChatRequest],
        out: dict[str, ChatResponse],
        cancelled: list[str],
    ) -> dict[str, str]:
        """Read a finished batch: answers to the cache (and ``out``), failures for good to ``out``;
        returns the requests worth submitting again, with why."""
        keys = set(sub.keys)
        retry: dict[str, str] = {}
        if sub.status == "failed":
            return self._failed_validation(sub, mine, out)
        files: list[tuple[Path, bool]] = []
        if self.local_dir is not None:
            files.append((self._local_output(sub), False))
        else:
            assert self.api is not None
            for fid in (sub.output_file_id, sub.error_file_id):
                if not fid:
                    continue
                dest = self.state.folder / f"{sub.name}.{fid}.jsonl"
                try:
                    await self.api.download(fid, dest)
                except (BatchAPIError, FatalBackendError) as e:
                    raise RunAborted(
                        f"downloading file {fid} of batch {sub.name} failed: {self.redact(str(e))}. "
                        "The batch is recorded; re-run to download it again."
                    ) from None
                files.append((dest, True))
        seen: set[str] = set()
        for path, remove in files:
            for item in read_output(path):
                if isinstance(item, str):
                    self.say(f"batch {sub.name}: {item}; its request is submitted again")
                    continue
                if item.key not in keys or item.key in seen:
                    continue
                seen.add(item.key)
                resp, why = self._outcome(item, mine.get(item.key), sub)
                if why is not None:
                    retry[item.key] = why
                elif resp is not None:
                    self._deliver(item.key, resp, mine, out, sub)
            if remove:
                path.unlink(missing_ok=True)
        self.cache.commit()
        missing = [k for k in sub.keys if k not in seen]
        if sub.status == "cancelled":
            cancelled.extend(k for k in [*missing, *retry] if k in mine and k not in out)
            return {}
        for k in missing:
            retry[k] = f"batch {sub.name} {sub.status} before answering it"
        n_read = len(seen) - len(retry.keys() & seen)
        self.say(
            f"batch {sub.name}: {sub.status}; {n_read:,} lines read, {len(retry):,} requests to submit again"
        )
        return retry

    def _failed_validation(
        self, sub: Submission, mine: dict[str, ChatRequest], out: dict[str, ChatResponse]
    ) -> dict[str, str]:
        by_line: dict[str, str] = {}
        general: list[str] = []
        for e in sub.errors:
            text = f"{e.get('code') or 'error'}: {e.get('message') or ''}".strip(": ")
            line = e.get("line")
            if isinstance(line, int) and 1 <= line <= len(sub.keys):
                by_line[sub.keys[line - 1]] = f"line {line}: {text}"
            else:
                general.append(text)
        if not by_line:
            self.state.collected(sub)
            raise RunAborted(
                f"batch {sub.name} failed validation at the provider ({'; '.join(general) or 'no reason given'}); "
                "none of it was answered or charged. Fix what it names and re-run: its requests are submitted again."
            )
        for key, text in by_line.items():
            if key in mine and key not in out:
                out[key] = self._failed(
                    f"the batch file failed validation: {self.redact(text)}", sub.round + 1, kind="refused"
                )
        self.say(
            f"batch {sub.name}: failed validation on {len(by_line):,} line(s); those requests fail, "
            "the others are submitted again"
        )
        return {k: "its batch failed validation on other lines" for k in sub.keys if k not in by_line}

    def _latency(self, sub: Submission) -> float:
        return max(0.0, time.time() - (sub.submitted or sub.created))

    def _outcome(
        self, item: OutputLine, req: ChatRequest | None, sub: Submission
    ) -> tuple[ChatResponse | None, str | None]:
        """(the response, None), or (None, why it is worth submitting again)."""
        attempts = sub.round + 1
        if item.status == 200:
            if not isinstance(item.body, dict):
                return None, "a 200 line without a body"
            try:
                resp = self.backend._parse(_dumps(item.body))  # the online calls' own parsing
            except RetryableError as e:
                return None, str(e)
            except RequestError as e:
                return self._failed(str(e), attempts, kind=e.kind), None
            if resp.tokens_estimated and req is not None:
                resp.input_tokens, resp.output_tokens = count_usage(req, resp.content, resp.model)
            normalise(resp)
            resp.latency_s = self._latency(sub)
            resp.attempts = attempts
            resp.raw["batch_id"] = sub.name
            resp.cost = self.cost(resp)
            return resp, None
        if item.status is not None:
            payload = _dumps(item.body) if item.body is not None else b""
            try:
                self.backend._raise_for_status(item.status, {}, payload)
            except RetryableError as e:
                return None, str(e)
            except RequestError as e:
                return self._failed(str(e), attempts, kind=e.kind), None
            except FatalBackendError as e:
                return self._failed(str(e), attempts, kind="refused"), None
            return None, f"HTTP {item.status}"
        err = item.error or {}
        code = str(err.get("code") or "")
        text = f"batch error {code or 'unknown'}: {err.get('message') or ''}".rstrip(": ")
        if code in RETRY_CODES or code.startswith("5"):
            return None, text
        kind = "filtered" if "content_filter" in json.dumps(err).lower() else "refused"
        return self._failed(text, attempts, kind=kind), None

    def _deliver(
        self,
        key: str,
        resp: ChatResponse,
        mine: dict[str, ChatRequest],
        out: dict[str, ChatResponse],
        sub: Submission,
    ) -> None:
        if resp.error is None:
            canon = self._canonical.get(key) or json.dumps(
                {"custom_id": key, "answered_in_batch": sub.name}, separators=(",", ":")
            )
            self.cache.put(key, self.model_id, mine.get(key), resp, canonical=canon, commit=False)  # type: ignore[arg-type]
        if key in mine:
            if key not in out:
                out[key] = resp
        elif resp.error is None:
            # Paid for in a batch of an earlier run, for a request this run does not ask: cached,
            # and counted in this client's spend (it is paid now).
            self.accounting.record(resp, self.model_name)

    def _failed(self, error: str, attempts: int, *, kind: str = "failed") -> ChatResponse:
        """A failure for good, shaped as the client shapes an online one."""
        return normalise(
            ChatResponse(
                content=None,
                finish_reason=None,
                model=self.model_name,
                attempts=attempts,
                error=self.redact(error),
                error_kind=kind,
            )
        )


def _dumps(body: Any) -> bytes:
    """A line's body as the JSON a server would have sent; json where orjson refuses (a lone
    surrogate, which a JSON escape carries and the answer contract then replaces)."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body).encode()


class _Delivered(dict):
    """The requests of one call that finished, each handed to the client once, when it finished."""

    def __init__(self, deliver: Callable[[str, ChatResponse], None]) -> None:
        super().__init__()
        self._deliver = deliver

    def __setitem__(self, key: str, resp: ChatResponse) -> None:
        if key in self:
            return
        super().__setitem__(key, resp)
        self._deliver(key, resp)


__all__ = ["COLLECTED", "BatchPending", "BatchRunner"]
