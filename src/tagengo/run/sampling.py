"""The seeded per-language sample: curate's step 7 (cap the rows per language), prefer's prompt
sample, and the key mix and route sample with.

Each row gets a pseudo-random key from a hash of (seed, id); a language keeps the
``max_per_language`` rows with the smallest keys. The sample is therefore reproducible,
independent of row order and of how many workers ran, and stable when rows are added:
a row kept from a larger input is kept from any subset that still contains it (until the
subset fits under the cap).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from tagengo.records import NO_LANGUAGE, Record, Rejection
from tagengo.run.steps import GlobalStep


class CapConfig(BaseModel):
    """The cap's options (curate's --cap-…; prefer builds one from --per-language and --seed)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Keep at most max_per_language rows per language")
    max_per_language: int = Field(25_000, ge=1, description="Rows kept per language at most")
    seed: int = Field(42, description="Seed of the per-language sample")


def sample_key(seed: int, row_id: str) -> bytes:
    return hashlib.blake2b(f"{seed}\x00{row_id}".encode(), digest_size=8).digest()


class PerLanguageCap(GlobalStep):
    name = "per_language_cap"
    select_columns = ("id", "language")

    def __init__(self, cfg: CapConfig) -> None:
        self.cfg = cfg
        self._summary: dict = {}

    def reasons(self, ids: list[str], languages: list[str | None]) -> list[str | None]:
        """One entry per row: None to keep it, else why it was dropped."""
        by_lang: dict[str | None, list[int]] = defaultdict(list)
        for i, lang in enumerate(languages):
            by_lang[lang].append(i)
        cap = self.cfg.max_per_language
        out: list[str | None] = [None] * len(ids)
        capped = {}
        for lang, idx in by_lang.items():
            if len(idx) <= cap:
                continue
            ranked = sorted(idx, key=lambda i: sample_key(self.cfg.seed, ids[i]))
            reason = f"per-language cap: {lang} has {len(idx):,} rows; a seeded sample of {cap:,} was kept"
            for i in ranked[cap:]:
                out[i] = reason
            capped[lang or NO_LANGUAGE] = {"rows": len(idx), "kept": cap}
        self._summary = {"capped_languages": capped} if capped else {}
        return out

    def select(self, table: pa.Table) -> list[str | None]:
        return self.reasons(table.column("id").to_pylist(), table.column("language").to_pylist())

    def process(self, batch: list[Record]) -> tuple[list[Record], list[Rejection]]:
        kept, rejected = [], []
        for row, reason in zip(
            batch, self.reasons([r.id for r in batch], [r.language for r in batch]), strict=True
        ):
            if reason is None:
                kept.append(row)
            else:
                rejected.append(Rejection(row, self.name, reason))
        return kept, rejected

    def summary(self) -> dict:
        out, self._summary = self._summary, {}
        return out
