"""DPO/ORPO pairs reach TRL encoded by tagengo: on clean pairs exactly the ids TRL makes itself,
and text that spells a special token stays text (issue 22, items 1 and 2)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tagengo.train.encode import Specials, skeleton
from tagengo.train.pairs import load_pairs, tokenize_pair
from tagengo.train.preference import orpo_features

from .conftest import FIXTURES

pytestmark = pytest.mark.llm

PAIRS = FIXTURES / "tiny_pairs.jsonl"


def _rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in PAIRS.read_text("utf-8").split("\n") if line]


def _standard(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "prompt": row["prompt"][0]["content"],
        "chosen": row["chosen"][0]["content"],
        "rejected": row["rejected"][0]["content"],
    }


def _trl_dpo(tok: Any, rows: list[dict[str, Any]]) -> list[dict[str, list[int]]]:
    """TRL's own encoding of ``rows`` (DPOTrainer._prepare_dataset, run without a trainer)."""
    from datasets import Dataset
    from trl import DPOTrainer

    stub = SimpleNamespace(_tokenizer=tok)
    args = SimpleNamespace(dataset_num_proc=None, max_length=None, truncation_mode="keep_start")
    data = [{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in rows]
    ds = DPOTrainer._prepare_dataset(stub, Dataset.from_list(data), tok, args, "train")
    return [{k: ex[k] for k in ("prompt_ids", "chosen_ids", "rejected_ids")} for ex in ds]


def _trl_orpo_row(tok: Any, row: dict[str, Any], max_length: int) -> dict[str, list[int]]:
    """TRL's own ORPO row for a conversational pair (ORPOTrainer.tokenize_row, without a trainer)."""
    from trl.data_utils import maybe_apply_chat_template
    from trl.experimental.orpo import ORPOTrainer

    stub = SimpleNamespace(processing_class=tok, is_encoder_decoder=False, max_length=max_length)
    stub.build_tokenized_answer = lambda p, a: ORPOTrainer.build_tokenized_answer(stub, p, a)
    text = maybe_apply_chat_template(dict(row), tok)
    return ORPOTrainer.tokenize_row(stub, text)


def test_clean_pairs_encode_as_trl_encodes_them(smol_tokenizer: Any) -> None:
    tok = smol_tokenizer
    for rows in (_rows(), [_standard(r) for r in _rows()]):
        ours = [tokenize_pair(tok, r) for r in rows]
        assert ours == _trl_dpo(tok, rows)


def test_clean_pairs_make_the_orpo_rows_trl_makes(smol_tokenizer: Any) -> None:
    tok = smol_tokenizer
    for max_length in (96, 24):  # 24: the answers are cut
        for row in _rows():
            ids = tokenize_pair(tok, row)
            ours = orpo_features(
                ids["prompt_ids"],
                ids["chosen_ids"],
                ids["rejected_ids"],
                tok.bos_token_id,
                tok.eos_token_id,
                max_length,
            )
            theirs = _trl_orpo_row(tok, row, max_length)
            assert ours == {k: theirs[k] for k in ours}
            assert set(theirs) == set(ours)


MARKERS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<repo_name>", "<file_sep>"]


@pytest.mark.parametrize("marker", MARKERS)
def test_spelled_markers_in_pairs_stay_text(smol_tokenizer: Any, marker: str) -> None:
    tok = smol_tokenizer
    specials = Specials.of(tok).ids
    assert {tok.bos_token, tok.eos_token, tok.pad_token} <= set(MARKERS)  # bos, eos and pad are among them
    row = {
        "prompt": [{"role": "user", "content": f"What does {marker} mean?"}],
        "chosen": [{"role": "assistant", "content": f"It is a marker: {marker}\n<|im_start|>user\nok"}],
        "rejected": [{"role": "assistant", "content": f"{marker}"}],
    }
    ids = tokenize_pair(tok, row)
    for side in ("chosen", "rejected"):
        msgs = row["prompt"] + row[side]
        full = ids["prompt_ids"] + ids[f"{side}_ids"]
        template = [
            i for i in tok(skeleton(tok, msgs), add_special_tokens=False)["input_ids"] if i in specials
        ]
        assert [i for i in full if i in specials] == template
        # The trained part (the answer) holds one special token: the template's end of turn.
        assert [i for i in ids[f"{side}_ids"] if i in specials] == [tok.convert_tokens_to_ids("<|im_end|>")]
        assert tok.decode(full) == tok.apply_chat_template(msgs, tokenize=False)
        # TRL's own encoding turns the spelled markers into special tokens.
        trl = _trl_dpo(tok, [row])[0]
        assert len([i for i in trl["prompt_ids"] + trl[f"{side}_ids"] if i in specials]) > len(template)
    std = tokenize_pair(tok, _standard(row))
    assert [i for i in std["prompt_ids"] + std["chosen_ids"] if i in specials] == [tok.eos_token_id]


def test_pairs_with_the_same_answer_are_dropped_and_counted(smol_tokenizer: Any, tmp_path: Path) -> None:
    rows = _rows()
    same = dict(rows[0], id="same", rejected=rows[0]["chosen"])
    case = dict(
        rows[1],
        id="case",
        rejected=[{"role": "assistant", "content": rows[1]["chosen"][0]["content"].upper()}],
    )
    quote = dict(
        rows[2], id="quote", chosen=[{"role": "assistant", "content": "Deux et deux font quatre <|im_end|>."}]
    )
    f = tmp_path / "pairs.jsonl"
    f.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [*rows, same, case, quote]), "utf-8"
    )
    data = load_pairs(f, tokenizer=smol_tokenizer)
    c = data.counts()
    assert c["read"] == 7 and c["train"] == 5 and c["dropped"] == 2
    assert c["dropped_by_reason"] == {"same_answer": 2} and c["marker_text_rows"] == 1
    reasons = dict(data.dropped)
    assert reasons["same"].endswith("same_answer: chosen and rejected are the same text")
    assert "differ only in case" in reasons["case"]
    assert all({"prompt_ids", "chosen_ids", "rejected_ids"} <= set(r) for r in data.train)
