"""Text files as people save them: a leading UTF-8 byte-order mark is not bad input.

Windows editors (Notepad, Excel's "CSV UTF-8") and some export tools start UTF-8 files with
the byte-order mark EF BB BF (U+FEFF). It carries no content, and every reader in tagengo
drops it: JSON and JSONL chat logs, ShareGPT arrays, question, answer and judgment files,
human ratings, YAML configs. Only a mark at the very start of a file is dropped; a U+FEFF
inside a text is content and stays.
"""

from __future__ import annotations

import os
from pathlib import Path

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
