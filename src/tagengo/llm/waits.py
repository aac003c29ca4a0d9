"""The words for a long wait a server asked for: the line the client prints while it waits, and
the sentence a run ends with when the server still asks past ``--retry-after-max-s`` (the
decisions are ``LLMClient._server_wait`` and ``_stop_if_past_cap_again``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tagengo.llm.errors import RetryableError

#: A wait the server asks for from this long on gets a line on the terminal: the run would
#: otherwise look hung (a 429 with ``Retry-After: 3600`` used to wait in silence).
ANNOUNCE_WAIT_S = 15.0


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
