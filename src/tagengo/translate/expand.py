"""The input of `tagengo translate`: every source row once per target language.

A step must return as many rows as it was given (the runner reconciles counts per step),
so the one-to-many part of translation happens here, in the source: each chunk of the
input is read and converted as usual (unreadable rows stay quarantined with file and
line), then every record becomes one row per target language (plus the source row itself
with ``include_source``). All rows of one item share ``meta.<group_key>``, the item's
parallel-group id. Counts in the manifest are of these expanded rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tagengo.curate.langid import LanguageIdentifier
from tagengo.io.source import Chunk, Source, parse_chunk
from tagengo.records import Record, records_to_table
from tagengo.translate.config import TranslateConfig


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
        return cls(path=base.path, files=base.files, format="tagengo", base=base, config=config, lid=lid)

    def fingerprint(self) -> str:
        assert self.base is not None
        return self.base.fingerprint()

    def iter_chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        assert self.base is not None
        for chunk in self.base.iter_chunks(chunk_rows):
            records, bad = parse_chunk(chunk, self.base.format, self.base.name_for(Path(chunk.file)))
            rows = [r for rec in records for r in self.expand(rec)]
            yield Chunk(chunk.key, chunk.file, chunk.first_line, table=records_to_table(rows), problems=bad)

    def source_language(self, rec: Record) -> str | None:
        cfg = self.config
        assert cfg is not None
        if cfg.source_language:
            return cfg.source_language
        if rec.language:
            return rec.language
        if self.lid is not None and rec.first_user().strip():
            self.counts["no_language"] += 1
            return self.lid.detect(rec.first_user()).top or None
        return None

    def expand(self, rec: Record) -> list[Record]:
        """The rows of one item: the source (optional) and one untranslated copy per target."""
        cfg = self.config
        assert cfg is not None
        self.counts["source_rows"] += 1
        src = self.source_language(rec)
        group = rec.meta.get(cfg.group_key) or rec.id
        out: list[Record] = []
        # A target equal to the source language is served by the source row itself.
        if cfg.include_source or src in cfg.to:
            keep = _copy(rec)
            keep.language = src or keep.language
            keep.meta[cfg.group_key] = group
            out.append(keep)
        for target in cfg.to:
            if target == src:
                continue
            row = _copy(rec)
            row.id = f"{rec.id}-{target}"
            row.language = target
            row.meta[cfg.group_key] = group
            info: dict[str, Any] = {"from": src, "to": target, "source_id": rec.id}
            row.meta["translation"] = info
            out.append(row)
        return out


def _copy(rec: Record) -> Record:
    """A deep copy (meta through orjson: several times faster than copy.deepcopy)."""
    return Record(
        rec.id,
        rec.source,
        rec.language,
        [dict(m) for m in rec.messages],
        orjson.loads(orjson.dumps(rec.meta, default=str)),
    )
