"""Errors of the client layer, sorted by what the caller should do about them.

Inside the client a backend raises ``RetryableError`` (try again later) or
``RequestError`` (this request will never work: the row is rejected with the message).
Only two things stop a whole run, and both leave it resumable from the cache:
``RunAborted`` (the server refuses every call: bad key, unknown model, server down) and
``BudgetExhausted`` (the next call could take spend past ``--budget``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tagengo.errors import TagengoError

if TYPE_CHECKING:
    from tagengo.llm.types import ChatResponse


class LLMError(TagengoError):
    """Base class of every error this package raises. The CLI prints its message as one
    sentence (no traceback unless --debug), so messages name the thing and the fix."""


class LLMConfigError(LLMError):
    """The config cannot work (missing model file, missing price, ...). One clear sentence."""


class RetryableError(LLMError):
    """A transient failure: 429, 5xx, timeout, dropped connection, garbled body."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        rate_limited: bool = False,
        wait_header: str = "Retry-After",
        kind: str = "failed",
    ):
        super().__init__(message)
        self.retry_after = retry_after
        # True for 429: the limit is account-wide, so every worker should wait, not just this one.
        self.rate_limited = rate_limited
        #: The header ``retry_after`` was read from, named in the line that tells the user why the
        #: run waits (``Retry-After``, ``retry-after-ms``, ``x-ratelimit-reset-tokens``).
        self.wait_header = wait_header
        #: What the call counts as once its retries are used up: "failed", or "provider error"
        #: for a 200 whose body is a transient error object (OpenRouter's upstream 502).
        self.kind = kind


class RequestError(LLMError):
    """This request fails whatever we do (400: context too long, content filter...).

    ``kind`` is the word the answer contract counts it under (tagengo.llm.answer): "refused"
    (the server said no to this request), "filtered" (a content filter), "provider error" (a
    200 whose body is an error object)."""

    def __init__(self, message: str, *, kind: str = "refused"):
        super().__init__(message)
        self.kind = kind


class FatalBackendError(LLMError):
    """Every request would fail the same way (401/403/404): stop instead of rejecting all rows."""


class RunAborted(LLMError):
    """The run stopped early; finished calls are cached, so re-running resumes."""

    def __init__(self, message: str, responses: list[ChatResponse | None] | None = None):
        super().__init__(message)
        #: What finished before the stop, in request order (None where no answer yet).
        self.responses = responses or []


class BudgetExhausted(RunAborted):
    """The next call could take spend past the budget. Calls in flight were finished and cached."""
