"""Reading preference pairs for `tagengo train --method dpo|orpo`.

Input: the output folder of `tagengo prefer` (its ``pairs/conversational.jsonl``), or any
JSONL file of rows in TRL's preference format, conversational (``prompt`` a list of
``{role, content}`` messages, ``chosen`` / ``rejected`` one-assistant-message lists) or standard
(three strings). Left out, with file, line and reason (``dropped.jsonl`` of the run, counted by
reason in the manifest):

* ``unreadable``: a line that is not JSON, not UTF-8, or holds an unpaired surrogate escape
  (lines end at ``\\n`` only: io/text.py);
* ``bad_row``: a row whose ``prompt``, ``chosen`` or ``rejected`` is missing or of the wrong shape;
* ``same_answer``: chosen and rejected say the same thing (``tagengo.pairs_check``: identical
  after normalisation, or near-identical), so the pair holds no preference;
* ``marker_text``: (when tokenized) a text spells a special token in a template whose layout
  around it cannot be found (train/encode.py).

Counts reconcile: read = train + eval + dropped. Given the tokenizer, ``load_pairs`` encodes each
pair as TRL's DPO trainer would, except that message text never becomes a control token.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tagengo.errors import InputError
from tagengo.io.text import iter_json_lines
from tagengo.pairs_check import same_answer
from tagengo.train.encode import MarkerTextError, Specials, encode_chat, encode_plain

FIELDS = ("prompt", "chosen", "rejected")


@dataclass
class PreferenceData:
    train: list[dict[str, Any]]
    eval: list[dict[str, Any]]
    read: int
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (id or file:line, reason)
    dropped_by_reason: Counter = field(default_factory=Counter)  # unreadable, bad_row, same_answer ...
    #: Pairs whose text spells a special token (encoded as plain text, or dropped as marker_text).
    marker_text_rows: int = 0

    def drop(self, where: str, kind: str, reason: str) -> None:
        self.dropped.append((where, reason))
        self.dropped_by_reason[kind] += 1

    def counts(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "train": len(self.train),
            "eval": len(self.eval),
            "dropped": len(self.dropped),
            "dropped_by_reason": dict(self.dropped_by_reason),
            "marker_text_rows": self.marker_text_rows,
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


def answer_text(value: str | list[dict[str, str]]) -> str:
    """The text of a ``chosen`` or ``rejected`` field (its messages' contents, joined)."""
    return value if isinstance(value, str) else "\n".join(m["content"] for m in value)


def load_pairs(
    data: str | Path, *, eval_size: float = 0.0, seed: int = 42, tokenizer: Any = None
) -> PreferenceData:
    """Rows ``{prompt, chosen, rejected}`` (other fields dropped: TRL's collators want only these),
    split into train and eval (``eval_size``: a fraction below 1, a count from 1) by a seeded
    shuffle. With a ``tokenizer``, each row also gets its ids (:func:`tokenize_pair`) and
    ``marker_text_rows`` counts the pairs whose text spells a special token. Raises
    ``InputError`` when no row is usable."""
    path = pairs_file(data)
    rows: list[dict[str, Any]] = []
    out = PreferenceData(train=[], eval=[], read=0)
    for n, row, unreadable in iter_json_lines(path):
        out.read += 1
        where = f"{path}:{n}"
        if unreadable is not None:
            out.drop(where, "unreadable", unreadable)
            continue
        problem = row_problem(row)
        if problem is not None:
            out.drop(
                str(row.get("id", where)) if isinstance(row, dict) else where,
                "bad_row",
                f"{where}: {problem}",
            )
            continue
        name = str(row.get("id", where))
        same = same_answer(answer_text(row["chosen"]), answer_text(row["rejected"]))
        if same is not None:
            out.drop(name, "same_answer", f"{where}: {same}")
            continue
        pair = {k: row[k] for k in FIELDS}
        if tokenizer is not None:
            out.marker_text_rows += spells_marker(tokenizer, pair)
            try:
                pair.update(tokenize_pair(tokenizer, pair))
            except MarkerTextError as exc:
                out.drop(
                    name, "marker_text", f"{where}: marker_text: the text spells a special token, and {exc}"
                )
                continue
        rows.append(pair)
    if not rows:
        raise InputError(
            f"{path}: no usable preference pair in {out.read} row(s)"
            + (f"; first problem: {out.dropped[0][1]}" if out.dropped else "")
        )
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    n_eval = int(round(eval_size * len(rows))) if eval_size < 1 else int(eval_size)
    n_eval = min(n_eval, len(rows) - 1)
    held = set(order[:n_eval])
    out.train = [r for i, r in enumerate(rows) if i not in held]
    out.eval = [r for i, r in enumerate(rows) if i in held]
    return out


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def tokenize_pair(tokenizer: Any, row: dict[str, Any]) -> dict[str, list[int]]:
    """``prompt_ids``, ``chosen_ids``, ``rejected_ids`` of one pair, laid out as TRL's
    ``DPOTrainer`` lays them out (TRL 1.x ``_prepare_dataset``): the conversation is rendered
    with the chat template (the prompt alone with the generation prompt), the completion starts
    where prompt and prompt + answer encodings part, and a standard (plain text) pair gets the
    eos token after each answer. Unlike TRL's own encoding, message text is encoded as text
    (train/encode.py): a spelled ``<|im_end|>`` is no end of turn. Raises ``MarkerTextError``."""
    if isinstance(row["prompt"], list):
        prompt = encode_chat(tokenizer, row["prompt"], add_generation_prompt=True).ids
        chosen = encode_chat(tokenizer, row["prompt"] + row["chosen"]).ids
        rejected = encode_chat(tokenizer, row["prompt"] + row["rejected"]).ids
    else:
        eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
        prompt = encode_plain(tokenizer, row["prompt"])
        chosen = encode_plain(tokenizer, row["prompt"] + row["chosen"]) + eos
        rejected = encode_plain(tokenizer, row["prompt"] + row["rejected"]) + eos
    n = min(_common_prefix(prompt, chosen), _common_prefix(prompt, rejected))
    return {"prompt_ids": prompt[:n], "chosen_ids": chosen[n:], "rejected_ids": rejected[n:]}


def spells_marker(tokenizer: Any, row: dict[str, Any]) -> bool:
    """Whether any text of the pair spells a special token of ``tokenizer``."""
    specials = Specials.of(tokenizer)
    return any(specials.spelled_in(answer_text(row[k])) for k in FIELDS)
