"""What an OpenAI-compatible server's error answers say, read without any I/O: the wait it asks
for (``Retry-After`` in both forms, ``retry-after-ms``, ``x-ratelimit-reset-*``), the status an
error object in a 200 body stands for, the server's own words for a rejection reason, and whether
a body is a content filter's or an empty account's. The HTTP backend (``openai_http``) and the
batch client (``tagengo.llm.batch.api``) decide with these."""

from __future__ import annotations

import email.utils
import json
import re
import time
from typing import Any

BODY_IN_ERROR = 300  # characters of a server's error body kept in the rejection reason

_FILTER_WORDS = (
    "content_filter",
    "content filter",
    "responsibleaipolicyviolation",
    "content management policy",
    "flagged_input",  # OpenRouter's moderation: a 403 whose metadata quotes the flagged input
)


def is_out_of_quota(payload: bytes) -> bool:
    """True for a 429 whose body says the account has no quota or credit left (OpenAI's
    ``insufficient_quota``), which retrying cannot fix, unlike a rate limit."""
    text = payload[:4000].decode("utf-8", "replace").lower()
    return "insufficient_quota" in text or "exceeded your current quota" in text


def is_filter(payload: bytes) -> bool:
    """True for an error body that says a content filter refused the prompt (Azure: code
    ``content_filter``, inner code ``ResponsibleAIPolicyViolation``)."""
    text = payload[:4000].decode("utf-8", "replace").lower()
    return any(w in text for w in _FILTER_WORDS)


#: Word codes of an error object that mean "try again", as the status they stand for.
_WORD_CODES = {
    "rate_limit_exceeded": 429,
    "rate_limit_error": 429,
    "overloaded": 529,
    "overloaded_error": 529,
    "server_error": 500,
    "internal_error": 500,
    "service_unavailable": 503,
    "timeout": 504,
    "insufficient_quota": 429,  # with the quota words in the message: the quota stop
}


#: What an error without a code says when trying again later would help (a proxy's bare
#: ``{"error": "Model is overloaded, please try again later"}``), as the status it stands for.
_TRANSIENT_WORDS = (
    (re.compile(r"rate.?limit|too many requests", re.I), 429),
    (re.compile(r"overload|try again|temporar|unavailable|capacity|timed? ?out|busy", re.I), 503),
)


#: Words of a request that will fail again however long one waits ("… too long, try again with
#: a shorter prompt"): they win over the transient words.
_PERMANENT_WORDS = re.compile(
    r"context|too long|maximum|max_tokens|invalid|not found|does not exist|unsupported|not supported", re.I
)


def _status_of_words(message: Any) -> int:
    text = message if isinstance(message, str) else ""
    if _PERMANENT_WORDS.search(text):
        return 400
    return next((status for words, status in _TRANSIENT_WORDS if words.search(text)), 400)


def body_status(err: Any) -> int:
    """The status an error object in a 200 body stands for: its ``code`` (or ``status``) when
    that is an HTTP status (OpenRouter's 502, vLLM's 400, a string "503"), else what its word
    code means, else what its message says (an overload, a rate limit: retried); 400 (not
    retried: the same request gets the same body) when it says nothing of the kind."""
    if not isinstance(err, dict):
        return _status_of_words(err)
    for key in ("code", "status"):
        value = err.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float) and 100 <= value <= 599:
            return int(value)
        if isinstance(value, str) and value.strip().isdigit() and 100 <= int(value) <= 599:
            return int(value)
    for key in ("code", "type"):
        value = err.get(key)
        if isinstance(value, str) and value.lower() in _WORD_CODES:
            return _WORD_CODES[value.lower()]
    return _status_of_words(err.get("message"))


def error_detail(payload: bytes) -> str:
    """The server's own words from an error body: the message of a JSON error object (with the
    upstream provider OpenRouter names), an HTML page's title, or the text itself."""
    text = payload.decode("utf-8", "replace").strip()
    try:
        d = json.loads(text)
        err = d.get("error", d) if isinstance(d, dict) else d
        if isinstance(err, dict):
            text = str(err.get("message") or err.get("code") or err)
            meta = err.get("metadata")
            if isinstance(meta, dict) and isinstance(meta.get("provider_name"), str):
                text = f"{text} (upstream: {meta['provider_name']})"
        else:
            text = str(err)
    except ValueError:
        if text[:512].lower().lstrip().startswith(("<!doctype html", "<html")):
            title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
            text = f"an HTML page titled {' '.join(title.group(1).split())!r}" if title else "an HTML page"
    text = " ".join(text.split())
    return text[:BODY_IN_ERROR] + ("..." if len(text) > BODY_IN_ERROR else "")


def retry_after_s(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After``; None when absent or unreadable."""
    wait = retry_wait(headers)
    return wait[0] if wait else None


def retry_wait(headers: Any, *, rate_limited: bool = False) -> tuple[float, str] | None:
    """(seconds to wait, the header that said so) from ``retry-after-ms`` (OpenAI, Azure),
    ``Retry-After`` (seconds or an HTTP date), and for a 429 without those, the reset of the
    exhausted limit in ``x-ratelimit-reset-requests`` / ``-tokens`` (OpenAI, Groq: ``"6m0s"``).
    None when none is there or readable."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0), "retry-after-ms"
        except ValueError:
            pass
    ra = headers.get("retry-after")
    if ra:
        try:
            return max(0.0, float(ra)), "Retry-After"
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(ra)
            return max(0.0, when.timestamp() - time.time()), "Retry-After"
        except (TypeError, ValueError):
            pass
    if not rate_limited:
        return None
    resets: list[tuple[float, str]] = []
    for limit in ("requests", "tokens"):
        seconds = _duration_s(headers.get(f"x-ratelimit-reset-{limit}"))
        if seconds is not None and headers.get(f"x-ratelimit-remaining-{limit}", "0").strip() in ("0", ""):
            resets.append((seconds, f"x-ratelimit-reset-{limit}"))
    return max(resets) if resets else None


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _duration_s(value: str | None) -> float | None:
    """Seconds in a Go-style duration (``"1s"``, ``"6m0s"``, ``"20ms"``) or a plain number."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    return sum(float(n) * _UNIT_S[u] for n, u in parts)
