"""Sample packing without attention across examples.

Several tokenized conversations share one row of at most ``max_length`` tokens, so no compute
is spent on padding. Packing must not change what each example sees: positions restart at 0
for every example (``position_ids``), and attention is block-diagonal and causal, so a token
attends only to earlier tokens of its own example. This is the padding-free format of
transformers and TRL: no attention mask is passed, and transformers derives the example
boundaries from the restarting position ids (``masking_utils.find_packed_sequence_indices``):
a block-diagonal causal mask for SDPA, eager and flex attention, varlen kernels for
flash-attention (where the micro batch is also flattened into one row, ``flatten=True``).
Padding at the end of a row restarts its positions too, so it forms a block of its own and
never joins an example's attention (nor does any query row end up fully masked).

Packing follows the multipack idea (bins filled best-fit, lengths sorted per bin), with a
seeded shuffle of bins so batches are not ordered by length.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from typing import Any

from tagengo.train.data import IGNORE_INDEX, Example


def pack_bins(lengths: Sequence[int], max_length: int, *, seed: int = 0) -> list[list[int]]:
    """Group example indices into bins whose lengths sum to at most ``max_length``.

    Best-fit decreasing: the longest examples are placed first, each into the open bin with
    the least room that still fits it. Bins come back in a seeded random order.
    Raises ValueError if one example is longer than ``max_length``.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    rooms: list[tuple[int, int]] = []  # sorted (room left, bin id)
    bins: list[list[int]] = []
    for i in order:
        n = lengths[i]
        if n > max_length:
            raise ValueError(f"example {i} has {n} tokens > max_length {max_length}")
        k = bisect.bisect_left(rooms, (n, -1))
        if k < len(rooms):
            room, b = rooms.pop(k)
            bins[b].append(i)
            bisect.insort(rooms, (room - n, b))
        else:
            bins.append([i])
            bisect.insort(rooms, (max_length - n, len(bins) - 1))
    random.Random(seed).shuffle(bins)
    return bins


def unpacked_bins(n: int, *, seed: int = 0) -> list[list[int]]:
    """One example per row, in a seeded random order (packing off)."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return [[i] for i in order]


def collate(
    examples: Sequence[Example], bins: Sequence[Sequence[int]], *, pad_id: int, flatten: bool = False
) -> dict[str, Any]:
    """Tensors for one micro batch of bins: ``input_ids``, ``labels`` and ``position_ids``
    (long, ``(rows, length)``; with ``flatten``, one row holding every example of the micro
    batch). No attention mask: see the module doc. Labels are aligned with ``input_ids``
    (``shift_labels`` makes next-token targets); each example's first label is -100, so the
    last token of one example never has the next example's first token as its target.
    """
    import torch

    rows: list[tuple[list[int], list[int], list[int]]] = []
    for bin_ in [[i for b in bins for i in b]] if flatten else bins:
        ids: list[int] = []
        labels: list[int] = []
        pos: list[int] = []
        for i in bin_:
            ex = examples[i]
            ids.extend(ex.input_ids)
            labels.extend([IGNORE_INDEX, *ex.labels[1:]])
            pos.extend(range(len(ex.input_ids)))
        rows.append((ids, labels, pos))
    length = max(len(r[0]) for r in rows)
    n = len(rows)
    input_ids = torch.full((n, length), pad_id, dtype=torch.long)
    labels_t = torch.full((n, length), IGNORE_INDEX, dtype=torch.long)
    position_ids = torch.zeros((n, length), dtype=torch.long)
    for r, (ids, labels, pos) in enumerate(rows):
        k = len(ids)
        input_ids[r, :k] = torch.tensor(ids)
        labels_t[r, :k] = torch.tensor(labels)
        position_ids[r, :k] = torch.tensor(pos)
        position_ids[r, k:] = torch.arange(length - k)  # padding: a block of its own
    return {"input_ids": input_ids, "labels": labels_t, "position_ids": position_ids}


def shift_labels(labels: Any) -> Any:
    """Targets for next-token prediction: position t predicts labels[t+1]; the last has none."""
    import torch

    return torch.nn.functional.pad(labels[:, 1:], (0, 1), value=IGNORE_INDEX)
