"""Packing: bins respect the length limit, and a packed row gives each example the same logits
as running it alone (no attention across example boundaries)."""

from __future__ import annotations

import random

import pytest

from tagengo.train.data import IGNORE_INDEX, Example, tokenize_conversation
from tagengo.train.packing import collate, pack_bins, shift_labels


def test_pack_bins_fit_and_cover_every_example() -> None:
    rng = random.Random(3)
    lengths = [rng.randint(1, 100) for _ in range(500)]
    bins = pack_bins(lengths, 128, seed=0)
    assert sorted(i for b in bins for i in b) == list(range(500))
    assert all(sum(lengths[i] for i in b) <= 128 for b in bins)
    # best-fit decreasing wastes little: within 10% of the lower bound on the number of rows
    assert len(bins) <= 1.1 * sum(lengths) / 128 + 1
    assert pack_bins(lengths, 128, seed=0) == bins
    with pytest.raises(ValueError, match="max_length"):
        pack_bins([10, 200], 128)


def test_collate_restarts_positions_and_hides_boundaries() -> None:
    a = Example("a", [5, 6, 7], [IGNORE_INDEX, 6, 7])
    b = Example("b", [8, 9], [IGNORE_INDEX, 9])
    batch = collate([a, b], [[0, 1], [1]], pad_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8, 9], [8, 9, 0, 0, 0]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 0, 1], [0, 1, 0, 1, 2]]
    # a's last token must not learn to predict b's first token
    assert shift_labels(batch["labels"]).tolist()[0] == [6, 7, IGNORE_INDEX, 9, IGNORE_INDEX]
    flat = collate([a, b], [[0], [1]], pad_id=0, flatten=True)
    assert flat["input_ids"].tolist() == [[5, 6, 7, 8, 9]]


@pytest.mark.llm
@pytest.mark.slow
def test_packed_row_gives_the_same_logits_as_each_example_alone(smol_dir, smol_tokenizer) -> None:
    import torch

    from tagengo.train.model import Runtime, load_model

    tok = smol_tokenizer
    convs = [
        [{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Blue."}],
        [
            {"role": "user", "content": "Wie viele Beine hat eine Katze?"},
            {"role": "assistant", "content": "Vier."},
        ],
        [{"role": "user", "content": "犬は何と鳴きますか?"}, {"role": "assistant", "content": "ワンワン。"}],
    ]
    exs = [Example(str(i), *tokenize_conversation(tok, c)) for i, c in enumerate(convs)]
    model = load_model(smol_dir, Runtime("cpu", "fp32", False, "sdpa"), tok).eval()
    # one packed row with all three, and a second row with one example and padding
    batch = collate(exs, [[0, 1, 2], [1]], pad_id=tok.pad_token_id)
    with torch.no_grad():
        packed = model(
            input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False
        ).logits
        alone = [model(input_ids=torch.tensor([e.input_ids]), use_cache=False).logits[0] for e in exs]
        leaky = model(input_ids=batch["input_ids"][:1], use_cache=False).logits[0]  # positions not restarted
    # fp32 through 30 layers: differences come from summation order only, far below the logits' scale.
    scale = max(float(x.abs().max()) for x in alone)
    tol = 1e-3 * scale
    off = 0
    for e, ref in zip(exs, alone):
        n = len(e.input_ids)
        got = packed[0, off : off + n]
        assert float((got - ref).abs().max()) < tol
        assert torch.equal(got.argmax(-1), ref.argmax(-1))
        off += n
    n1 = len(exs[1].input_ids)
    assert float((packed[1, :n1] - alone[1]).abs().max()) < tol
    # The check can fail: without restarted positions the second example sees the first.
    n0 = len(exs[0].input_ids)
    assert float((leaky[n0 : n0 + n1] - alone[1]).abs().max()) > 100 * tol
