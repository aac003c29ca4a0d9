"""Preference pairs in TRL's formats, written beside a `tagengo prefer` dataset folder.

TRL's preference trainers (DPOTrainer, ORPOTrainer; also Axolotl's ``chat_template.default``
DPO loader) read rows with ``prompt``, ``chosen`` and ``rejected``, in one of two formats:

* conversational (``pairs/conversational.jsonl``): ``prompt`` is a list of ``{role, content}``
  messages (system and earlier turns included), ``chosen`` and ``rejected`` are one-message lists
  ``[{"role": "assistant", "content": ...}]``; the trainer applies the model's chat template.
  This is what ``tagengo train --method dpo|orpo`` reads;
* standard (``pairs/standard.jsonl``): plain strings. Only prompts that are a single user
  turn (no system turn) can be written so without losing a turn; others are left out of this
  file and counted in ``pairs/pairs.json``.

Every row also has ``id`` (the record id, ``#n`` for its n-th pair), ``language`` and
``meta``: the models, ranks, the judge's ranking and reasons, and the label permutation.

A pair carries a preference only when its two answers differ (``tagengo.pairs_check``: not the
same text after normalisation, not near-identical). :func:`build_pairs` makes the pairs of one
ranking that way, with ties broken by :func:`~tagengo.llm.ranking.tie_order`; the files are
written with the same check, and the pairs it leaves out are counted (``same_answer`` in
``pairs/pairs.json``).

It lives in run/, below the stages, because two stages use it: prefer writes the files and mix's
pair export reads them back (:func:`pair_rows`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tagengo.llm.ranking import tie_order
from tagengo.pairs_check import same_answer
from tagengo.records import Record
from tagengo.run.dataset import atomic_write_json, atomic_write_text, iter_records

PAIRS_DIR = "pairs"
CONVERSATIONAL = "conversational.jsonl"
STANDARD = "standard.jsonl"


def build_pairs(
    ranked: list[list[str]],
    answers: dict[str, str],
    mode: str,
    margin: int,
    *,
    seed: int,
    row_id: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(pairs, same)`` from tiers of model names (best first) and each model's answer.

    ``best-worst``: one pair, a model of the top tier vs a model of the bottom tier; ``all``:
    every (better, worse) pair whose rank gap (tier index difference) is at least ``margin``.
    Tied models are taken in :func:`tie_order` (seeded by ``seed`` and ``row_id``), so among
    several wrong-language answers, or a tied top, no ``--model`` position is picked more often.
    A pair whose answers are the same text (``pairs_check.same_answer``) is no preference: it
    goes to ``same`` with its ``reason``, and ``best-worst`` tries the next combination of the
    two tiers. Ranks in the output count from 1."""
    if len(ranked) < 2:
        return [], []
    tiers = [tie_order(list(tier), seed, row_id) for tier in ranked]
    if mode == "best-worst":
        candidates = [(a, 0, b, len(tiers) - 1) for a in tiers[0] for b in tiers[-1]]
    else:
        candidates = [
            (a, i, b, j)
            for i, better in enumerate(tiers)
            for j in range(i + margin, len(tiers))
            for a in better
            for b in tiers[j]
        ]
    pairs: list[dict[str, Any]] = []
    same: list[dict[str, Any]] = []
    for a, i, b, j in candidates:
        pair = {"chosen": a, "rejected": b, "chosen_rank": i + 1, "rejected_rank": j + 1}
        reason = same_answer(answers[a], answers[b])
        if reason is not None:
            same.append({**pair, "reason": reason})
            continue
        pairs.append(pair)
        if mode == "best-worst":
            break
    return pairs, same


def pair_rows(row: Record) -> list[dict[str, Any]]:
    """The conversational pair rows of one kept record of `tagengo prefer`."""
    pref = row.meta["preference"]
    content = {a["model"]: a["content"] for a in pref["answers"]}
    prompt = [m for m in row.messages[:-1]]  # the last message is the chosen answer (PairStep)
    out = []
    for n, pair in enumerate(pref["pairs"]):
        meta = {
            "chosen_model": pair["chosen"],
            "rejected_model": pair["rejected"],
            "chosen_rank": pair["chosen_rank"],
            "rejected_rank": pair["rejected_rank"],
            "ranked": pref["ranked"],
            "ranking": pref.get("ranking"),
            "labels": pref.get("labels"),
            "permutation": pref.get("permutation"),
            "reasons": pref.get("reasons", ""),
            "wrong_language": pref.get("wrong_language", []),
            "models": pref["models"],
        }
        out.append(
            {
                "id": f"{row.id}#{n}",
                "language": row.language,
                "prompt": prompt,
                "chosen": [{"role": "assistant", "content": content[pair["chosen"]]}],
                "rejected": [{"role": "assistant", "content": content[pair["rejected"]]}],
                "meta": meta,
            }
        )
    return out


def to_standard(pair: dict[str, Any]) -> dict[str, Any] | None:
    """The standard (plain text) form of a conversational pair, or None when its prompt is not
    one user turn."""
    prompt = pair["prompt"]
    if len(prompt) != 1 or prompt[0]["role"] != "user":
        return None
    return {
        **pair,
        "prompt": prompt[0]["content"],
        "chosen": pair["chosen"][0]["content"],
        "rejected": pair["rejected"][0]["content"],
    }


def pair_problem(pair: dict[str, Any]) -> str | None:
    """Why a conversational pair row holds no preference (``same_answer: ...``), or None."""
    return same_answer(pair["chosen"][-1]["content"], pair["rejected"][-1]["content"])


def write_pairs(folder: str | Path) -> dict[str, int]:
    """Write ``folder/pairs/{conversational,standard}.jsonl`` from the dataset folder's rows and
    ``pairs.json`` (counts). A pair whose answers are the same text is left out and counted
    (``same_answer``): made = pairs + same_answer. Returns the counts."""
    folder = Path(folder)
    conv: list[str] = []
    std: list[str] = []
    prompts = 0
    same = 0
    for row in iter_records(folder):
        prompts += 1
        for pair in pair_rows(row):
            if pair_problem(pair) is not None:
                same += 1
                continue
            conv.append(json.dumps(pair, ensure_ascii=False))
            s = to_standard(pair)
            if s is not None:
                std.append(json.dumps(s, ensure_ascii=False))
    out = folder / PAIRS_DIR
    atomic_write_text(out / CONVERSATIONAL, "".join(line + "\n" for line in conv))
    atomic_write_text(out / STANDARD, "".join(line + "\n" for line in std))
    counts = {
        "prompts": prompts,
        "pairs": len(conv),
        "standard": len(std),
        "not_standard": len(conv) - len(std),
        "same_answer": same,
    }
    atomic_write_json(out / "pairs.json", counts)
    return counts
