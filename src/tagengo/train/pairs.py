"""Reading preference pairs for `tagengo train --method dpo|orpo`.

Input: the output folder of `tagengo prefer` (its ``pairs/conversational.jsonl``), or any
JSONL file of rows in TRL's preference format, conversational (``prompt`` a list of
``{role, content}`` messages, ``chosen`` / ``rejected`` one-assistant-message lists) or standard
(three strings). A line that is not JSON, or a row whose ``prompt``, ``chosen`` or ``rejected``
is missing or of the wrong shape, is left out with its file, line and field (``dropped.jsonl``
of the run); counts reconcile: read = train + eval + dropped.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tagengo.errors import InputError
from tagengo.io.text import read_text

FIELDS = ("prompt", "chosen", "rejected")


@dataclass
class PreferenceData:
    train: list[dict[str, Any]]
    eval: list[dict[str, Any]]
    read: int
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (id or file:line, reason)

    def counts(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "train": len(self.train),
            "eval": len(self.eval),
            "dropped": len(self.dropped),
        }


def pairs_file(data: str | Path) -> Path:
    """The JSONL file to read: ``data`` itself, or a `tagengo prefer` folder's conversational pairs."""
    p = Path(data)
    if p.is_dir():
        f = p / "pairs" / "conversational.jsonl"
        if not f.exists():
            raise InputError(
                f"{p}: no pairs/conversational.jsonl; give the output folder of `tagengo prefer` "
                "or a JSONL file of prompt/chosen/rejected rows"
            )
        return f
    if not p.exists():
        raise InputError(f"{p}: no such file or folder")
    if p.suffix not in (".jsonl", ".json"):
        raise InputError(f"{p}: preference pairs are read from JSONL (prompt, chosen, rejected per line)")
    return p


def _messages(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in value
        )
    )


def row_problem(row: Any) -> str | None:
    """Why a parsed row is no preference pair (naming the field), or None."""
    if not isinstance(row, dict):
        return "the line is not a JSON object"
    for name in FIELDS:
        if name not in row:
            return f"field '{name}' is missing"
    conversational = isinstance(row["prompt"], list)
    for name in FIELDS:
        value = row[name]
        if conversational and not _messages(value):
            return f"field '{name}': expected a list of {{role, content}} messages (conversational format)"
        if not conversational and not (isinstance(value, str) and value.strip()):
            return f"field '{name}': expected a non-empty string (standard format)"
    if conversational:
        for name in ("chosen", "rejected"):
            if row[name][-1]["role"] != "assistant":
                return f"field '{name}': the last message must be the assistant's"
        if row["prompt"][-1]["role"] != "user":
            return "field 'prompt': the last message must be the user's"
    return None


def load_pairs(data: str | Path, *, eval_size: float = 0.0, seed: int = 42) -> PreferenceData:
    """Rows ``{prompt, chosen, rejected}`` (other fields dropped: TRL's collators want only these),
    split into train and eval (``eval_size``: a fraction below 1, a count from 1) by a seeded
    shuffle. Raises ``InputError`` when no row is usable."""
    path = pairs_file(data)
    rows: list[dict[str, Any]] = []
    dropped: list[tuple[str, str]] = []
    read = 0
    for n, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        read += 1
        where = f"{path}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            dropped.append((where, f"not JSON: {exc.msg} at column {exc.colno}"))
            continue
        problem = row_problem(row)
        if problem is not None:
            dropped.append(
                (str(row.get("id", where)) if isinstance(row, dict) else where, f"{where}: {problem}")
            )
            continue
        rows.append({k: row[k] for k in FIELDS})
    if not rows:
        raise InputError(
            f"{path}: no usable preference pair in {read} row(s)"
            + (f"; first problem: {dropped[0][1]}" if dropped else "")
        )
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    n_eval = int(round(eval_size * len(rows))) if eval_size < 1 else int(eval_size)
    n_eval = min(n_eval, len(rows) - 1)
    held = set(order[:n_eval])
    return PreferenceData(
        train=[r for i, r in enumerate(rows) if i not in held],
        eval=[r for i, r in enumerate(rows) if i in held],
        read=read,
        dropped=dropped,
    )
