"""Tokenizing conversations: labels on assistant tokens only, drops with reasons, the split."""

from __future__ import annotations

import pytest

from tagengo.records import Record
from tagengo.train.data import IGNORE_INDEX, prepare, read_conversations, tokenize_conversation

from .conftest import TINY

pytestmark = pytest.mark.llm

TWO_TURNS = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "What is ice?"},
    {"role": "assistant", "content": "Frozen water."},
    {"role": "user", "content": "Und Dampf?"},
    {"role": "assistant", "content": "Wasser als Gas."},
]


def test_labels_are_masked_everywhere_but_assistant_tokens(smol_tokenizer) -> None:
    tok = smol_tokenizer
    ids, labels = tokenize_conversation(tok, TWO_TURNS)
    assert len(ids) == len(labels)
    trained = [i for i, lab in zip(ids, labels) if lab != IGNORE_INDEX]
    assert all(lab in (IGNORE_INDEX, i) for i, lab in zip(ids, labels))
    # Exactly the two assistant turns, each with the template's end-of-turn marker, are trained.
    assert tok.decode(trained) == "Frozen water.<|im_end|>\nWasser als Gas.<|im_end|>\n"
    masked = tok.decode([i for i, lab in zip(ids, labels) if lab == IGNORE_INDEX])
    for text in ("Answer briefly.", "What is ice?", "Und Dampf?", "<|im_start|>assistant"):
        assert text in masked
    # Each trained run of tokens starts right after an assistant header.
    starts = [k for k in range(len(labels)) if labels[k] != IGNORE_INDEX and labels[k - 1] == IGNORE_INDEX]
    assert len(starts) == 2
    for k in starts:
        assert tok.decode(ids[:k]).endswith("<|im_start|>assistant\n")


def test_prepare_drops_with_reasons_and_counts_reconcile(smol_tokenizer) -> None:
    records, bad = read_conversations(TINY)
    assert len(records) == 14 and not bad
    long = Record(
        "long", "t", "en", [{"role": "user", "content": "x"}, {"role": "assistant", "content": "word " * 300}]
    )
    p = prepare([*records, long], smol_tokenizer, max_length=128, eval_size=3, seed=1)
    reasons = dict(p.dropped)
    assert reasons["noanswer"].startswith("no_assistant_turn")
    assert reasons["long"].startswith("too_long")
    c = p.counts()
    assert c["read"] == 15 == c["train"] + c["eval"] + c["dropped"]
    assert c["eval"] == 3 and c["dropped"] == 2
    # The split is a hash of the id: the same on every run, and disjoint.
    again = prepare(records, smol_tokenizer, max_length=128, eval_size=3, seed=1)
    assert [e.id for e in again.eval] == [e.id for e in p.eval]
    assert not {e.id for e in p.eval} & {e.id for e in p.train}
    # truncate keeps the long one, cut to max_length, still with assistant tokens.
    cut = prepare([long], smol_tokenizer, max_length=128, truncate=True)
    assert len(cut.train) == 1 and len(cut.train[0].input_ids) == 128 and cut.train[0].trained_tokens > 0
