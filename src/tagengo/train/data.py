"""From conversation records to token ids with a loss mask on assistant tokens only.

A conversation is rendered once with the chat template; each assistant turn's span in the
rendered text is found by rendering the conversation up to that turn (with and without the
turn), and a token is trained on when its characters fall inside such a span (the turn's text
and the template's end-of-turn marker, not the header that opens the turn). Everything else
(system, user, headers) gets label -100, the ignore index of ``torch.nn.CrossEntropyLoss``.

Message text never becomes a control token: a text that spells one of the tokenizer's special
tokens (``<|im_end|>``, ``<|endoftext|>`` ...) is encoded as plain text, and only the template's
own markers get special ids (``encode.py``). Such rows are counted (``marker_text_rows``).

Rows that cannot train (no assistant turn, longer than ``max_length``, a template that does not
render prefixes consistently, a spelled marker in a template whose layout cannot be found) are
dropped with their reason; unreadable input lines are quarantined by the reader. Counts
reconcile: read = train + eval + dropped.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tagengo.errors import InputError
from tagengo.records import Quarantined, Record
from tagengo.train.encode import MarkerTextError, encode_rendered, spells_marker

IGNORE_INDEX = -100


@dataclass
class Example:
    """One tokenized conversation: ``input_ids`` and ``labels`` of the same length (tokens)."""

    id: str
    input_ids: list[int]
    labels: list[int]

    @property
    def trained_tokens(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE_INDEX)


@dataclass
class Prepared:
    train: list[Example]
    eval: list[Example]
    read: int
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (id, reason)
    quarantined: list[Quarantined] = field(default_factory=list)
    #: Rows whose text spells a special token (encoded as plain text, or dropped as marker_text).
    marker_text_rows: int = 0

    def counts(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "train": len(self.train),
            "eval": len(self.eval),
            "dropped": len(self.dropped),
            "dropped_by_reason": dict(Counter(r.split(":")[0] for _, r in self.dropped)),
            "quarantined": len(self.quarantined),
            "marker_text_rows": self.marker_text_rows,
            "train_tokens": sum(len(e.input_ids) for e in self.train),
            "train_assistant_tokens": sum(e.trained_tokens for e in self.train),
        }


def read_conversations(path: str | Path, fmt: str | None = None) -> tuple[list[Record], list[Quarantined]]:
    """Every record of a dataset folder or a JSONL/Parquet file (any format ``tagengo`` reads)."""
    from tagengo.io.source import open_source, parse_chunk

    source = open_source(path, fmt)
    records: list[Record] = []
    bad: list[Quarantined] = []
    for chunk in source.iter_chunks(10_000):
        recs, q = parse_chunk(chunk, source.format, source.name_for(Path(chunk.file)))
        records.extend(recs)
        bad.extend(q)
    return records, bad


def assistant_spans(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans ``[start, end)`` of its assistant turns.

    Raises ValueError when the template does not render a conversation's prefixes as prefixes
    of the whole (then no token-exact mask can be derived from it).
    """

    def render(msgs: list[dict[str, str]], gen: bool) -> str:
        return tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen)

    text = render(messages, False)
    spans: list[tuple[int, int]] = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        head = render(messages[:i], True) if i else ""
        upto = render(messages[: i + 1], False)
        if not (text.startswith(upto) and upto.startswith(head)):
            raise ValueError("template: prefixes do not render as prefixes of the conversation")
        spans.append((len(head), len(upto)))
    return text, spans


def tokenize_conversation(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[list[int], list[int]]:
    """``(input_ids, labels)``: labels are the ids on assistant tokens and -100 elsewhere. Message
    text is encoded as text (``encode.py``); raises ``MarkerTextError`` for a row that spells a
    special token in a template whose layout cannot be found."""
    text, spans = assistant_spans(tokenizer, messages)
    enc = encode_rendered(tokenizer, messages, text)
    ids: list[int] = enc.ids
    labels = [IGNORE_INDEX] * len(ids)
    for k, (a, b) in enumerate(enc.offsets):
        if b <= a:
            continue
        # A token belongs to a turn when it starts inside the turn's span.
        if any(s <= a < e for s, e in spans):
            labels[k] = ids[k]
    return ids, labels


def _in_eval(rec_id: str, seed: int, fraction: float) -> bool:
    h = hashlib.blake2b(f"{seed}:{rec_id}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2**64 < fraction


def prepare(
    records: list[Record],
    tokenizer: Any,
    *,
    max_length: int,
    truncate: bool = False,
    eval_size: float = 0.0,
    seed: int = 42,
    quarantined: list[Quarantined] | None = None,
) -> Prepared:
    """Tokenize, mask and split ``records``. ``eval_size`` < 1 is a fraction, >= 1 a row count;
    the split is a seeded hash of the record id, so it does not move when rows are added."""
    out = Prepared(train=[], eval=[], read=len(records), quarantined=list(quarantined or []))
    kept: list[tuple[Record, Example]] = []
    for rec in records:
        out.marker_text_rows += spells_marker(tokenizer, rec.messages)
        if not any(m["role"] == "assistant" and m["content"].strip() for m in rec.messages):
            out.dropped.append((rec.id, "no_assistant_turn: nothing to train on"))
            continue
        try:
            ids, labels = tokenize_conversation(tokenizer, rec.messages)
        except MarkerTextError as exc:
            out.dropped.append((rec.id, f"marker_text: the text spells a special token, and {exc}"))
            continue
        except Exception as exc:  # jinja errors (e.g. roles a template refuses) are per row
            out.dropped.append((rec.id, f"template_error: {exc}"))
            continue
        if len(ids) > max_length:
            if not truncate:
                out.dropped.append((rec.id, f"too_long: {len(ids)} tokens > max_length {max_length}"))
                continue
            ids, labels = ids[:max_length], labels[:max_length]
        if all(x == IGNORE_INDEX for x in labels[1:]):
            out.dropped.append((rec.id, "no_assistant_tokens: every assistant token was cut"))
            continue
        kept.append((rec, Example(rec.id, ids, labels)))
    if eval_size >= 1:
        n = min(int(eval_size), len(kept))
        order = sorted(
            range(len(kept)), key=lambda i: hashlib.blake2b(f"{seed}:{kept[i][0].id}".encode()).digest()
        )
        eval_idx = set(order[:n])
    else:
        eval_idx = {i for i, (r, _) in enumerate(kept) if eval_size > 0 and _in_eval(r.id, seed, eval_size)}
    for i, (_, ex) in enumerate(kept):
        (out.eval if i in eval_idx else out.train).append(ex)
    return out


def load_dataset(
    path: str | Path, tokenizer: Any, *, max_length: int, truncate: bool, eval_size: float, seed: int
) -> Prepared:
    records, bad = read_conversations(path)
    prepared = prepare(
        records,
        tokenizer,
        max_length=max_length,
        truncate=truncate,
        eval_size=eval_size,
        seed=seed,
        quarantined=bad,
    )
    if not prepared.train:
        reasons = prepared.counts()["dropped_by_reason"]
        raise InputError(
            f"{path}: no conversation left to train on ({prepared.read} read, {len(bad)} unreadable, "
            f"dropped: {reasons or 'none'}); see the dropped reasons, or raise --max-length."
        )
    return prepared
