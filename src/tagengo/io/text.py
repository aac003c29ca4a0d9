r"""Text files as people save them: a leading UTF-8 byte-order mark is not bad input, and a
JSONL line ends at ``\n`` and nowhere else.

Windows editors (Notepad, Excel's "CSV UTF-8") and some export tools start UTF-8 files with
the byte-order mark EF BB BF (U+FEFF). It carries no content, and every reader in tagengo
drops it: JSON and JSONL chat logs, ShareGPT arrays, question, answer and judgment files,
human ratings, YAML configs. The same mark at the start of a text field (a chat turn's content,
a prompt) is dropped by the chat-log readers too (:func:`strip_leading_bom`): it comes from a
cell of a file saved with one (a CSV loaded into a dataframe and written as Parquet, a JSON
value read from such a file), and a prompt kept with it differs, invisibly, from the same prompt
without it. A U+FEFF further inside a text is content (a zero-width no-break space) and stays.

JSON strings may hold U+2028, U+2029 and U+0085 raw (tagengo's own writers emit them with
``ensure_ascii=False``), and ``str.splitlines()`` also ends a line at those (and at ``\x0b``
``\x0c`` ``\x1c``-``\x1e``): a valid 3-line file read that way came out as 6 rows
that were "not JSON". JSONL readers
go through :func:`iter_json_lines` (bytes cut at ``\n`` only, ``\r\n`` tolerated) or, for
bytes they hold already, cut at ``b"\n"`` as ``io/source.py`` does. A line that is not a row
comes back with its reason instead of an object, and each reader applies its own rule (the
dataset readers quarantine it with file and line, the readers of files a user hands in name the
file and line in an error): invalid UTF-8, invalid JSON, and a string holding an unpaired UTF-16
surrogate escape (``"\ud83d"``, which ``json.loads`` accepts but no UTF-8 file, Parquet column or
terminal can hold).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

#: The UTF-8 byte-order mark.
BOM = b"\xef\xbb\xbf"
#: Encoding name for ``open``: UTF-8, dropping a leading byte-order mark when there is one.
ENCODING = "utf-8-sig"


def strip_bom(data: bytes) -> bytes:
    """``data`` without a leading UTF-8 byte-order mark (unchanged when it has none)."""
    return data[len(BOM) :] if data.startswith(BOM) else data


#: The byte-order mark as a character, as it shows at the start of a decoded text.
BOM_CHAR = "\ufeff"


def strip_leading_bom(text: str) -> str:
    """``text`` without the byte-order marks it starts with (unchanged when none): a field
    copied from a file that had one."""
    return text.lstrip(BOM_CHAR) if text[:1] == BOM_CHAR else text


def read_text(path: str | os.PathLike[str]) -> str:
    """A whole UTF-8 file as text, without a leading byte-order mark. Raises ``OSError`` and
    ``UnicodeDecodeError`` as ``Path.read_text`` does."""
    return Path(path).read_text(encoding=ENCODING)


#: The only line end of JSONL (RFC 8259 strings cannot hold it raw, unlike U+2028 and friends).
NEWLINE = "\n"

_SURROGATE = re.compile("[\ud800-\udfff]")


def split_lines(text: str) -> list[str]:
    r"""``text`` cut at ``\n`` only, each line without its ``\n`` (and without a ``\r`` before
    it): unlike ``str.splitlines()``, U+2028, U+2029, U+0085 and other characters a JSON string
    may hold raw stay inside their line."""
    lines = text.split(NEWLINE)
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line opens no line
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _has_surrogate(obj: Any) -> bool:
    if isinstance(obj, str):
        return _SURROGATE.search(obj) is not None
    if isinstance(obj, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in obj.items())
    if isinstance(obj, list):
        return any(_has_surrogate(v) for v in obj)
    return False


def cut_off_reason(raw: bytes) -> str | None:
    """Why a line that is not valid JSON looks cut off, else None: its JSON stops at the end
    of the line, inside a string or before its closing brackets (a partial download or copy).
    Only asked of lines that already failed to parse. The line end is dropped first: with CRLF
    endings a string left open swallows the ``\r``, and the parser then blames a "control
    character in string", which names the symptom and hides the cut."""
    body = raw.rstrip(b"\r\n")
    text = body.decode("utf-8", errors="replace")
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg.startswith("Unterminated string"):
            return "line looks cut off: an unterminated string at the end of the line"
        if exc.pos >= len(text.rstrip()):
            return "line looks cut off: the JSON stops before its closing brackets"
    except RecursionError:
        return None
    return None


def parse_json_line(raw: bytes) -> tuple[Any, str | None]:
    """``(object, None)`` for a line that is one JSON value, else ``(None, reason)``: invalid
    UTF-8 (naming the byte), invalid JSON (``not valid JSON (message at column c)``), or a string
    holding an unpaired surrogate escape. The standard ``json`` module parses it, so numbers
    and the rest read as they always have."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"invalid UTF-8: byte 0x{raw[exc.start]:02x} at column {exc.start + 1}"
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        cut = cut_off_reason(raw)
        if cut is not None:
            return None, f"not valid JSON: {cut}"
        return None, f"not valid JSON ({exc.msg} at column {exc.colno})"
    except RecursionError:
        return None, "not valid JSON (nested too deeply)"
    # Raw surrogates cannot come out of strict UTF-8: only a \uXXXX escape makes one.
    if "\\u" in text and _has_surrogate(obj):
        return None, (
            "invalid JSON string: an unpaired UTF-16 surrogate escape (such as \\ud83d, half an emoji) "
            "is not a Unicode character"
        )
    return obj, None


def iter_json_lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, Any, str | None]]:
    r"""``(line number, object, None)`` or ``(line number, None, reason)`` for every non-blank
    line of a JSONL file (see :func:`parse_json_line`). Lines end at ``\n`` only; a leading
    byte-order mark is dropped. Raises ``OSError`` as ``open`` does."""
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, start=1):  # binary files cut at b"\n" and nowhere else
            if n == 1:
                raw = strip_bom(raw)
            if not raw.strip():
                continue
            obj, problem = parse_json_line(raw)
            yield n, obj, problem


def read_labelled_jsonl(
    path: str | os.PathLike[str], fields: tuple[str, ...], kinds: Collection[str]
) -> list[dict[str, Any]]:
    """The rows of a small labelled JSONL file we ship (an evaluation or calibration set).

    Each non-blank line must be a JSON object whose ``fields`` are strings and whose ``kind``
    is one of ``kinds``. Raises ``ValueError`` naming the file, line and field otherwise."""
    p = Path(path)
    rows: list[dict[str, Any]] = []
    for n, row, problem in iter_json_lines(p):
        if problem is not None:
            raise ValueError(f"{p}:{n}: {problem}")
        if not isinstance(row, dict):
            raise ValueError(f"{p}:{n}: expected a JSON object")
        for key in fields:
            if not isinstance(row.get(key), str):
                raise ValueError(f"{p}:{n}: field {key!r} missing or not a string")
        if row["kind"] not in kinds:
            raise ValueError(f"{p}:{n}: kind must be one of {', '.join(kinds)}, not {row['kind']!r}")
        rows.append(row)
    return rows
