"""How well language ID keeps clean prompts and rejects mislabelled ones, on a labelled set.

The set (``tagengo/data/langid/eval.jsonl``, written for this project) has one JSON object per
line: ``language`` (the row's label, ISO 639-1), ``kind`` and ``text``. ``kind`` is
``technical`` (short coding, math, shell or SQL prompts), ``ordinary`` (everyday requests)
or ``mislabelled`` (text in another language than its label, named in ``true_language``).

For a language ID config we run the real step (:class:`~tagengo.curate.filters.LanguageIDFilter`)
on every row and report, per labelled language, the share of clean rows lost (technical and
ordinary) and the share of mislabelled rows rejected. ``benchmarks/langid_eval.py`` prints it;
docs/curate.md shows the figures.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from tagengo.curate.config import LangIDConfig

KINDS = ("technical", "ordinary", "mislabelled")


def default_eval_path() -> Path:
    return Path(str(resources.files("tagengo").joinpath("data", "langid", "eval.jsonl")))


def load_eval_set(path: str | Path | None = None) -> list[dict[str, str]]:
    """The labelled rows; a bad line raises ValueError naming file, line and field."""
    from tagengo.io.text import read_labelled_jsonl

    return read_labelled_jsonl(path or default_eval_path(), ("language", "kind", "text"), KINDS)


def evaluate(cfg: LangIDConfig, rows: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """Run language ID over the set. Returns ``{"languages": {lang: figures}, "lost": [...],
    "accepted": [...]}``; figures per language: ``clean``, ``clean_lost``, ``clean_lost_rate``,
    ``technical_lost``, ``ordinary_lost``, ``mislabelled``, ``mislabelled_rejected``,
    ``mislabelled_rejected_rate``. ``lost``/``accepted`` list the rows that went wrong."""
    from tagengo.curate.filters import LanguageIDFilter
    from tagengo.records import Record

    rows = rows if rows is not None else load_eval_set()
    step = LanguageIDFilter(cfg)
    step.setup()
    records = [
        Record(f"eval-{i}", "langid-eval", r["language"], [{"role": "user", "content": r["text"]}], {})
        for i, r in enumerate(rows)
    ]
    verdicts = step.keep_batch(records)
    langs: dict[str, dict[str, Any]] = {}
    lost, accepted = [], []
    for row, rec, (ok, reason) in zip(rows, records, verdicts):
        f = langs.setdefault(
            row["language"],
            {
                "clean": 0,
                "clean_lost": 0,
                "technical_lost": 0,
                "ordinary_lost": 0,
                "mislabelled": 0,
                "mislabelled_rejected": 0,
            },
        )
        if row["kind"] == "mislabelled":
            f["mislabelled"] += 1
            f["mislabelled_rejected"] += not ok
            if ok:
                accepted.append({**row, "kept_by": rec.meta.get("lid_kept_by", "threshold")})
        else:
            f["clean"] += 1
            if not ok:
                f["clean_lost"] += 1
                f[f"{row['kind']}_lost"] += 1
                lost.append({**row, "reason": reason})
    for f in langs.values():
        f["clean_lost_rate"] = f["clean_lost"] / f["clean"] if f["clean"] else 0.0
        f["mislabelled_rejected_rate"] = (
            f["mislabelled_rejected"] / f["mislabelled"] if f["mislabelled"] else float("nan")
        )
    return {"languages": langs, "lost": lost, "accepted": accepted}
