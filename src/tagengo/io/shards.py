"""Sharded inputs: a set of files named ``train-00000-of-00004.parquet`` says how many it has.

Hugging Face's Parquet conversion, ``datasets``' ``save_to_disk``/``push_to_hub`` and most
download tools name shards ``<split>-<index>-of-<count><ext>`` (sometimes with a content hash
after the count: ``train-00000-of-00004-2a1df75c.parquet``). A folder holding three of four
such shards is almost always an interrupted download; reading it as it is would silently
curate three quarters of the data. :func:`missing_shards` names what is missing, for the
source's warnings (printed at the end of the stage and kept in its manifest).

Shard numbers start at 0 (00000-of-00004 ... 00003-of-00004); a set that holds its count as
an index (00004-of-00004) is numbered from 1, as some tools do.
"""

from __future__ import annotations

import re
from pathlib import Path

_SHARD = re.compile(r"^(?P<stem>.*?)(?P<index>\d+)-of-(?P<count>\d+)(?P<tail>.*)$")
#: Missing shard numbers named one by one in a warning; more are counted.
_NAMED = 10


def _extension(tail: str) -> str:
    """``.parquet`` of ``-2a1df75c.parquet`` (the per-shard hash is not part of the set's name)."""
    return tail[tail.find(".") :] if "." in tail else tail


def missing_shards(files: list[Path]) -> list[str]:
    """One warning per set of ``-of-`` shards among ``files`` that lacks some, naming them."""
    sets: dict[tuple[Path, str, str, str], set[int]] = {}
    widths: dict[tuple[Path, str, str, str], int] = {}
    for f in files:
        m = _SHARD.match(f.name)
        if m is None or int(m["count"]) == 0:
            continue
        key = (f.parent, m["stem"], m["count"], _extension(m["tail"]))
        sets.setdefault(key, set()).add(int(m["index"]))
        widths[key] = len(m["index"])
    warnings = []
    for key, present in sets.items():
        parent, stem, count_text, ext = key
        count = int(count_text)
        first = 1 if count in present and 0 not in present else 0
        missing = sorted(set(range(first, first + count)) - present)
        if not missing:
            continue
        numbers = ", ".join(f"{i:0{widths[key]}d}" for i in missing[:_NAMED])
        if len(missing) > _NAMED:
            numbers += f" and {len(missing) - _NAMED:,} more"
        name = f"{stem}*-of-{count_text}{ext}"
        warnings.append(
            f"{parent}: {len(missing):,} of the {count:,} shards {name} {'is' if len(missing) == 1 else 'are'} "
            f"missing (number {numbers}); only the {count - len(missing):,} present were read. Download the "
            "missing shards (an interrupted download leaves such gaps), or ignore this if you left them out "
            "on purpose."
        )
    return warnings
