"""WildChat's own moderation fields drop a row in the moderation step as LMSYS's
``openai_moderation`` does (a newcomer's run kept a row marked ``toxic: true``), through the
real reader and the real curate stage, with a reason that names the field."""

from __future__ import annotations

import json

from tagengo.curate.stage import curate, preset_config
from tagengo.run.dataset import read_table


def _wildchat(h: str, text: str, **extra) -> dict:
    return {
        "conversation_hash": h,
        "model": "gpt-4",
        "conversation": [
            {"role": "user", "content": text, "language": "English", "turn_identifier": 0},
            {"role": "assistant", "content": "Sure.", "language": "English", "turn_identifier": 1},
        ],
        "language": "English",
        "turn": 1,
        "toxic": False,
        "redacted": False,
        **extra,
    }


def _detox(flagged: bool, **cats: bool) -> list[dict]:
    entry = {"categories": cats, "category_scores": {k: 0.9 if v else 0.01 for k, v in cats.items()}}
    return [{**entry, "flagged": flagged}, {**entry, "flagged": False}]


ROWS = [
    _wildchat("clean", "How do I bake a simple loaf of bread at home without a mixer?"),
    _wildchat("toxic", "How do I bake a simple loaf of rye bread at home without a mixer?", toxic=True),
    _wildchat(
        "detox",
        "How do I bake a simple loaf of spelt bread at home without a mixer?",
        detoxify_moderation=_detox(True, insult=True, threat=False),
    ),
    _wildchat(
        "detox-clean",
        "How do I bake a simple loaf of oat bread at home without a mixer?",
        detoxify_moderation=_detox(False, insult=False),
    ),
]


def test_wildchat_toxic_and_detoxify_flags_drop_the_row_naming_the_field(tmp_path) -> None:
    src = tmp_path / "wildchat.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    cfg = preset_config("default", cap={"enabled": False})
    result = curate(src, tmp_path / "out", cfg, workers=1, progress=False)
    rej = {r["id"]: (r["step"], r["reason"]) for r in read_table(result.out, "rejected").to_pylist()}
    assert rej["toxic"] == ("moderation", "moderation: flagged by the source's 'toxic' field")
    assert rej["detox"] == ("moderation", "moderation: flagged by 'detoxify_moderation' (insult)")
    kept_ids = set(read_table(result.out, "data").column("id").to_pylist())
    assert {"clean", "detox-clean"} <= kept_ids
    assert result.manifest["steps"][1]["removed"] == 2
