"""Reading preference pairs: TRL's conversational and standard formats, a `tagengo prefer`
folder, bad rows dropped with file, line and field."""

from __future__ import annotations

import json

import pytest

from tagengo.errors import InputError
from tagengo.train.pairs import load_pairs, pairs_file

from .conftest import FIXTURES

PAIRS = FIXTURES / "tiny_pairs.jsonl"


def test_conversational_pairs_keep_only_the_three_fields():
    data = load_pairs(PAIRS)
    assert data.read == 4 and len(data.train) == 4 and not data.eval and not data.dropped
    assert set(data.train[0]) == {"prompt", "chosen", "rejected"}
    assert data.train[0]["chosen"][0]["role"] == "assistant"


def test_eval_split_is_seeded_and_reconciles():
    a = load_pairs(PAIRS, eval_size=0.25, seed=1)
    b = load_pairs(PAIRS, eval_size=0.25, seed=1)
    assert len(a.eval) == 1 and len(a.train) == 3 and a.eval == b.eval


def test_bad_rows_are_dropped_with_file_line_and_field(tmp_path):
    good = {"prompt": "Say hi.", "chosen": "Hi!", "rejected": "No."}
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({"id": "x", "prompt": "q", "chosen": "a"}),
        json.dumps({"id": "y", "prompt": [{"role": "user", "content": "q"}], "chosen": "a", "rejected": "b"}),
        json.dumps(
            {
                "id": "z",
                "prompt": [{"role": "user", "content": "q"}],
                "chosen": [{"role": "user", "content": "a"}],
                "rejected": [{"role": "assistant", "content": "b"}],
            }
        ),
    ]
    f = tmp_path / "p.jsonl"
    f.write_text("\n".join(lines) + "\n")
    data = load_pairs(f)
    assert data.read == 5 and len(data.train) == 1
    reasons = dict(data.dropped)
    assert reasons[f"{f}:2"].startswith("not valid JSON")
    assert reasons["x"] == f"{f}:3: field 'rejected' is missing"
    assert reasons["y"].endswith(
        "field 'chosen': expected a list of {role, content} messages (conversational format)"
    )
    assert reasons["z"].endswith("field 'chosen': the last message must be the assistant's")


def test_nothing_usable_is_an_error(tmp_path):
    f = tmp_path / "p.jsonl"
    f.write_text(json.dumps({"prompt": "q"}) + "\n")
    with pytest.raises(InputError, match="no usable preference pair in 1 row.*field 'chosen' is missing"):
        load_pairs(f)


def test_a_prefer_folder_means_its_conversational_pairs(tmp_path):
    (tmp_path / "pairs").mkdir()
    (tmp_path / "pairs" / "conversational.jsonl").write_text(PAIRS.read_text())
    assert pairs_file(tmp_path) == tmp_path / "pairs" / "conversational.jsonl"
    with pytest.raises(InputError, match="no pairs/conversational.jsonl"):
        pairs_file(tmp_path / "pairs")
