"""The planted contaminated rows shipped for measuring the checks (data/contamination/planted.jsonl).

Written for tagengo: copies and variants of the bundled mini bench's questions (``tagengo bench
init``), each line ``{id, kind, language, bench, question_id, turn, prompt}``. Kinds:

* ``exact``: a question turn copied as it is;
* ``formatted``: the same text with case, spacing, punctuation or full/half-width forms changed;
* ``quoted``: the question turn inside a longer prompt ("here is my homework: ...");
* ``reworded``: the same request said in other words, same language;
* ``translated``: the question translated into a language the bench does not have (it, pt, ru,
  ko, nl, pl, tr), written by us.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tagengo.records import Record

PLANTED = Path(__file__).resolve().parent.parent / "data" / "contamination" / "planted.jsonl"
KINDS = ("exact", "formatted", "quoted", "reworded", "translated")


def load_planted(path: Path = PLANTED) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def planted_records(path: Path = PLANTED) -> list[Record]:
    """The planted rows as records (source ``planted``, a one-line assistant answer)."""
    return [
        Record(
            id=p["id"],
            source="planted",
            language=p["language"],
            messages=[{"role": "user", "content": p["prompt"]}, {"role": "assistant", "content": "(answer)"}],
            meta={"planted": {k: p[k] for k in ("kind", "bench", "question_id", "turn")}},
        )
        for p in load_planted(path)
    ]
