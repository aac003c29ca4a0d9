"""Text files as people save them: a leading UTF-8 byte-order mark is not bad input.

Windows editors (Notepad, Excel's "CSV UTF-8") and some export tools start UTF-8 files with
the byte-order mark EF BB BF (U+FEFF). It carries no content, and every reader in tagengo
drops it: JSON and JSONL chat logs, ShareGPT arrays, question, answer and judgment files,
human ratings, YAML configs. Only a mark at the very start of a file is dropped; a U+FEFF
inside a text is content and stays.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from pathlib import Path
from typing import Any

#: The UTF-8 byte-order mark.
BOM = b"\xef\xbb\xbf"
#: Encoding name for ``open``: UTF-8, dropping a leading byte-order mark when there is one.
ENCODING = "utf-8-sig"


def strip_bom(data: bytes) -> bytes:
    """``data`` without a leading UTF-8 byte-order mark (unchanged when it has none)."""
    return data[len(BOM) :] if data.startswith(BOM) else data


def read_text(path: str | os.PathLike[str]) -> str:
    """A whole UTF-8 file as text, without a leading byte-order mark. Raises ``OSError`` and
    ``UnicodeDecodeError`` as ``Path.read_text`` does."""
    return Path(path).read_text(encoding=ENCODING)


def read_labelled_jsonl(
    path: str | os.PathLike[str], fields: tuple[str, ...], kinds: Collection[str]
) -> list[dict[str, Any]]:
    """The rows of a small labelled JSONL file we ship (an evaluation or calibration set).

    Each non-blank line must be a JSON object whose ``fields`` are strings and whose ``kind``
    is one of ``kinds``. Raises ``ValueError`` naming the file, line and field otherwise."""
    p = Path(path)
    rows: list[dict[str, Any]] = []
    with p.open(encoding=ENCODING) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{p}:{n}: not valid JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise ValueError(f"{p}:{n}: expected a JSON object")
            for key in fields:
                if not isinstance(row.get(key), str):
                    raise ValueError(f"{p}:{n}: field {key!r} missing or not a string")
            if row["kind"] not in kinds:
                raise ValueError(f"{p}:{n}: kind must be one of {', '.join(kinds)}, not {row['kind']!r}")
            rows.append(row)
    return rows
