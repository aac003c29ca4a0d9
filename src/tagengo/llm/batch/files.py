"""The JSONL of a batch: request lines in, output and error lines out.

A request line (OpenAI's Batch API, Azure OpenAI's, vLLM's ``run-batch``)::

    {"custom_id": "<request cache key>", "method": "POST", "url": "/v1/chat/completions", "body": {...}}

The body is what the online backend would POST (``OpenAIHTTPBackend.body``), so a batch answer
and an online answer to the same request are the same call, and the ``custom_id`` is the very
key the request cache stores the answer under. An output or error line::

    {"id": "...", "custom_id": "...", "response": {"status_code": 200, "request_id": "...", "body": {...}},
     "error": null}

(``response`` null and ``error: {"code", "message"}`` where the provider never got an answer).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson


def request_line(key: str, url: str, body: dict[str, Any]) -> bytes:
    """One line of the input file, with its newline."""
    line = {"custom_id": key, "method": "POST", "url": url, "body": body}
    try:
        return orjson.dumps(line) + b"\n"
    except TypeError:  # what orjson refuses (integers past 64 bits in extra fields)
        return json.dumps(line, ensure_ascii=False).encode() + b"\n"


@dataclass
class InputFile:
    """One input file being written: the keys in line order and its size."""

    path: Path
    keys: list[str]
    size: int = 0


def write_split(
    lines: Iterable[tuple[str, bytes]],
    path_for: Any,
    *,
    max_requests: int,
    max_bytes: int,
) -> Iterator[InputFile]:
    """Write ``(key, line)`` pairs into files of at most ``max_requests`` lines and ``max_bytes``
    bytes, one at a time, yielding each file once it is closed. ``path_for(n)`` names the n-th
    file. A line longer than ``max_bytes`` by itself is never written: it is yielded alone, as a
    file of that one key whose path is None (the caller fails that request)."""
    current: InputFile | None = None
    handle = None
    n = 0
    try:
        for key, line in lines:
            if len(line) > max_bytes:
                yield InputFile(None, [key], len(line))  # type: ignore[arg-type]
                continue
            if current is not None and (
                len(current.keys) >= max_requests or current.size + len(line) > max_bytes
            ):
                handle.close()
                handle = None
                yield current
                current = None
            if current is None:
                current = InputFile(Path(path_for(n)), [])
                n += 1
                handle = current.path.open("wb")
            handle.write(line)
            current.keys.append(key)
            current.size += len(line)
        if current is not None:
            handle.close()
            handle = None
            yield current
    finally:
        if handle is not None:
            handle.close()


@dataclass
class OutputLine:
    """What one output or error line says about one request."""

    key: str
    status: int | None  # the HTTP status of the request's answer; None when there was none
    body: Any  # the answer's body (a chat completion, or an error object)
    error: dict[str, Any] | None  # the provider's error where it got no answer


def read_output(path: Path) -> Iterator[OutputLine | str]:
    """The lines of an output (or error) file; a line that cannot be read is yielded as the text
    of why (a torn download), and never stops the rest."""
    with path.open("rb") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                d = orjson.loads(raw)
            except orjson.JSONDecodeError:
                try:
                    d = json.loads(raw)
                except ValueError:
                    yield f"{path.name} line {n} is not JSON"
                    continue
            if not isinstance(d, dict) or not isinstance(d.get("custom_id"), str):
                yield f"{path.name} line {n} has no custom_id"
                continue
            response = d.get("response")
            status = body = None
            if isinstance(response, dict):
                status = response.get("status_code")
                status = status if isinstance(status, int) else None
                body = response.get("body")
            error = d.get("error")
            yield OutputLine(d["custom_id"], status, body, error if isinstance(error, dict) else None)
