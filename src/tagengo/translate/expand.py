"""The input of `tagengo translate`: every source row once per target language.

A step must return as many rows as it was given (the runner reconciles counts per step),
so the one-to-many part of translation happens here, in the source: each chunk of the
input is read and converted as usual (unreadable rows stay quarantined with file and
line), then every record becomes one row per target language (plus the source row itself
with ``include_source``). All rows of one item share ``meta.<group_key>``, the item's
parallel-group id. Counts in the manifest are of these expanded rows.

The source language of an item is ``--source-language``, else the row's own label, else
language ID of all its messages, trusted only at ``--source-min-lid-score`` (the summed
probability of the top label and its near languages). An item language ID is unsure of is
expanded all the same (so counts reconcile), its rows marked ``meta.source_lid.accepted =
False`` and left unlabelled; the ``source_language`` step rejects them, naming the guess and
the fix. A guessed label would make the source row the member of the wrong language ("Espresso
or latte?" at it 0.49 became the Italian row of its group, and no Italian translation was made).

``--group-key`` is a path: dots reach into nested meta (``a.b`` is ``meta["a"]["b"]``), as
``tagengo mix`` reads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tagengo.errors import InputError
from tagengo.io.source import Chunk, Source, parse_chunk
from tagengo.lang.langid import LanguageIdentifier, detector_text
from tagengo.records import Record, records_to_table
from tagengo.run.steps import Filter
from tagengo.translate.config import TranslateConfig

#: Characters of an item's text that language ID reads (its messages joined): plenty for a
#: confident answer, and a bound on the cost of long items.
LID_CHARS = 4_000


def source_lid(lid: LanguageIdentifier, text: str) -> tuple[str, float]:
    """(label, confidence) of language ID for a source text: the top label of lid.176 (code,
    URLs, identifiers and math left out, shouted text read in small letters, as curate reads
    prompts) and the summed probability of its near-language group among the top 5."""
    from tagengo.lang.languages import near_group

    pred = lid.predict(detector_text(text[:LID_CHARS], True, True, True), 5)
    return pred.top, pred.group_score(near_group(pred.top))


def get_path(meta: dict[str, Any], dotted: str) -> Any:
    """The value at ``dotted`` in ``meta`` (``a.b`` reaches into nested dicts), None when absent."""
    value: Any = meta
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def set_path(meta: dict[str, Any], dotted: str, value: Any, row_id: str) -> None:
    """Set ``dotted`` in ``meta``, making the dicts on the way; ``InputError`` when a value on
    the way is not a dict (it would be overwritten)."""
    *head, last = dotted.split(".")
    target = meta
    for i, part in enumerate(head):
        nxt = target.setdefault(part, {})
        if not isinstance(nxt, dict):
            where = ".".join(head[: i + 1])
            raise InputError(
                f"row {row_id!r}: meta.{where} is a {type(nxt).__name__}, so --group-key {dotted} cannot "
                "be written inside it; give another --group-key"
            )
        target = nxt
    target[last] = value


@dataclass
class ParallelSource(Source):
    """``base`` with each row repeated per target language, as tagengo records."""

    base: Source | None = None
    config: TranslateConfig | None = None
    lid: LanguageIdentifier | None = None
    #: Items expanded, and items whose source language came from language ID (this process).
    counts: dict[str, int] = field(default_factory=lambda: {"source_rows": 0, "no_language": 0})

    @classmethod
    def over(cls, base: Source, config: TranslateConfig, lid: LanguageIdentifier | None) -> ParallelSource:
        # base's warnings list itself: the damage base finds while read shows in this run's manifest
        return cls(
            path=base.path,
            files=base.files,
            format="tagengo",
            warnings=base.warnings,
            base=base,
            config=config,
            lid=lid,
        )

    def fingerprint(self) -> str:
        assert self.base is not None
        return self.base.fingerprint()

    def iter_chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        assert self.base is not None
        for chunk in self.base.iter_chunks(chunk_rows):
            records, bad = parse_chunk(chunk, self.base.format, self.base.name_for(Path(chunk.file)))
            rows = [r for rec in records for r in self.expand(rec)]
            yield Chunk(
                chunk.key,
                chunk.file,
                chunk.first_line,
                table=records_to_table(rows),
                problems=bad,
                input_lines=len(chunk) + len(chunk.problems),
            )

    def source_language(self, rec: Record) -> tuple[str | None, dict[str, Any] | None]:
        """(the item's source language or None, what language ID said when it was asked)."""
        cfg = self.config
        assert cfg is not None
        if cfg.source_language:
            return cfg.source_language, None
        if rec.language:
            return rec.language, None
        text = "\n".join(m["content"] for m in rec.messages if m["content"].strip())
        if self.lid is None or not text:
            return None, None
        self.counts["no_language"] += 1
        label, score = source_lid(self.lid, text)
        ok = bool(label) and score >= cfg.source_min_lid_score
        return (label if ok else None), {"label": label, "score": round(score, 4), "accepted": ok}

    def expand(self, rec: Record) -> list[Record]:
        """The rows of one item: the source (optional) and one untranslated copy per target."""
        cfg = self.config
        assert cfg is not None
        self.counts["source_rows"] += 1
        src, guess = self.source_language(rec)
        group = get_path(rec.meta, cfg.group_key)
        group = group if group not in (None, "") else rec.id
        out: list[Record] = []

        def member(row: Record) -> Record:
            set_path(row.meta, cfg.group_key, group, rec.id)
            if guess is not None:
                row.meta["source_lid"] = guess
            return row

        # A target equal to the source language is served by the source row itself.
        if cfg.include_source or src in cfg.to:
            keep = _copy(rec)
            keep.language = src or keep.language
            out.append(member(keep))
        for target in cfg.to:
            if target == src:
                continue
            row = _copy(rec)
            row.id = f"{rec.id}-{target}"
            row.language = target
            info: dict[str, Any] = {"from": src, "to": target, "source_id": rec.id}
            row.meta["translation"] = info
            out.append(member(row))
        return out


class SourceLanguage(Filter):
    """Rejects the rows of an item whose source language nobody gave and language ID is unsure
    of (``meta.source_lid.accepted`` false, set by ``ParallelSource``): the reason names the
    guess, its score and the fix."""

    name = "source_language"

    def __init__(self, cfg: TranslateConfig) -> None:
        self.cfg = cfg

    def keep(self, row: Record) -> tuple[bool, str]:
        guess = row.meta.get("source_lid")
        if not isinstance(guess, dict) or guess.get("accepted", True):
            return True, ""
        return False, (
            f"source language unsure: the row has no language label and language ID says "
            f"{guess.get('label') or 'nothing'} ({guess.get('score', 0):.2f}, below --source-min-lid-score "
            f"{self.cfg.source_min_lid_score:g}); give --source-language or label the rows"
        )


def _copy(rec: Record) -> Record:
    """A deep copy (meta through orjson: several times faster than copy.deepcopy)."""
    return Record(
        rec.id,
        rec.source,
        rec.language,
        [dict(m) for m in rec.messages],
        orjson.loads(orjson.dumps(rec.meta, default=str)),
    )
