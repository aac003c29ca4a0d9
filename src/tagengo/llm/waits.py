"""A wait a server asked for: the decision (:class:`WaitCap`: how long, up to
``--retry-after-max-s``, and when asking past it again stops the run), the line the client prints
while it waits, and the sentence a run ends with when the server still asks past the cap. The
chat client (``LLMClient``) and the Batch API's Files and Batches calls (tagengo.llm.batch.api)
both decide with one :class:`WaitCap`, so the two cannot drift apart (they were twins once)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tagengo.llm.errors import RetryableError

#: A wait the server asks for from this long on gets a line on the terminal: the run would
#: otherwise look hung (a 429 with ``Retry-After: 3600`` used to wait in silence).
ANNOUNCE_WAIT_S = 15.0


class WaitCap:
    """The ``--retry-after-max-s`` rule of one client. A wait the server asks for within the cap
    is the server's. Past it, the caller waits the cap once (every call asked during it waits to
    the same end: a server that asks that long asks every call); a server still asking past the
    cap once that wait is over will not answer within a wait worth sleeping through, so the run
    stops (:meth:`past_cap_again`) instead of sleeping the cap over and over. Any answer, or a
    wait within the cap, starts afresh (:meth:`clear`)."""

    def __init__(self, cap: float) -> None:
        self.cap = cap
        #: The monotonic end of the capped wait under way (or just over); None: none.
        self.capped_until: float | None = None

    def clear(self) -> None:
        """The server answered (or asked for a wait within the cap): no capped wait stands."""
        self.capped_until = None

    def past_cap_again(self, asked: float | None, now: float) -> bool:
        """Whether a server asking for ``asked`` seconds now must stop the run: past the cap,
        after the capped wait for an earlier ask ended."""
        if asked is None or asked <= self.cap or self.capped_until is None:
            return False
        return now >= self.capped_until

    def wait(self, asked: float, now: float) -> tuple[float, bool]:
        """(seconds to wait from ``now``, whether that is the cap's wait rather than ``asked``)."""
        if asked <= self.cap:
            self.capped_until = None
            return asked, False
        if self.capped_until is None:
            self.capped_until = now + self.cap
            return self.cap, True
        return max(0.0, self.capped_until - now), True


def _seconds(s: float) -> str:
    text = f"{s:.0f} s" if s >= 10 else f"{s:.2g} s"
    if s >= 2 * 3600:
        return f"{text} ({s / 3600:.1f} h)"
    return f"{text} ({s / 60:.0f} min)" if s >= 120 else text


def _utc_in(seconds: float, fmt: str = "%H:%M:%S UTC") -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime(fmt)


def _why(e: RetryableError) -> str:
    return str(e) if len(str(e)) <= 120 else str(e)[:117] + "..."


def long_wait_line(server: str, asked: float, e: RetryableError, wait: float, cap: float | None) -> str:
    """The terminal line for a long wait the server asked for (``cap``: the wait was cut to it)."""
    head = f"{server} asked to wait {_seconds(asked)} ({e.wait_header}; it answered {_why(e)})"
    if cap is None:
        return f"{head}; waiting until {_utc_in(wait)}."
    return (
        f"{head}; waiting {_seconds(cap)}, the cap (--retry-after-max-s), until {_utc_in(wait)}, then "
        "asking again. If it still asks for more than the cap, the run stops (resumable)."
    )


def long_wait_stop(server: str, asked: float, e: RetryableError, cap: float) -> str:
    """The sentence a run ends with when the server still asks for a wait past the cap."""
    return (
        f"{server} still asks to wait {_seconds(asked)} ({e.wait_header}; it answered {_why(e)}) after "
        f"the run waited {_seconds(cap)}, the cap (--retry-after-max-s), so the run stopped instead of "
        f"sleeping. Finished calls are cached: re-run after {_utc_in(asked, '%Y-%m-%d %H:%M UTC')} to "
        "resume, or raise --retry-after-max-s to wait it out."
    )
