"""Configuration of `tagengo mix` (language mixtures) and `tagengo export` (training files).

The mixture recipes follow the comparisons of the multilingual instruction-tuning
literature: one language only, every language, the same prompts in every language
(parallel), and every language cut to the same size (sampled), each with or without English.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

Recipe = Literal["monolingual", "multilingual", "parallel", "sampled", "parallel-sampled"]
ExportFormat = Literal["messages", "sharegpt", "parquet", "alpaca"]


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MixConfig(_Cfg):
    recipe: Recipe = Field(
        "multilingual",
        description="monolingual: one language; multilingual: every selected language; parallel: rows "
        "sharing a parallel-group id, kept or dropped as whole groups; sampled: every language cut to "
        "the same size; parallel-sampled: from a parallel set every item once, in one language drawn evenly "
        "(Lima-X's ENDEFRITES-sampled)",
    )
    languages: list[str] = Field(
        default_factory=list,
        validate_default=True,
        description="Language codes to keep, e.g. en,ja,de (empty: every language in the input)",
    )
    english: bool = Field(True, description="Keep English rows (--no-english leaves them out)")
    min_rows: int = Field(
        1,
        ge=1,
        description="Leave out languages with fewer rows than this (so one rare language does not set "
        "the sampled size)",
    )
    per_language: int | None = Field(
        None,
        ge=1,
        description="Rows kept per language at most, as a seeded sample. sampled: the common size "
        "(empty: the smallest selected language's count); parallel: groups kept; others: a cap",
    )
    seed: int = Field(42, description="Seed of every sample (a hash of seed and row id, or of group id)")
    group_key: str = Field(
        "parallel_group",
        description="meta key holding the parallel-group id (dots reach into nested meta: a.b)",
    )
    complete_groups: bool = Field(
        True,
        description="Every recipe, when rows carry a parallel-group id: keep only complete groups (a row in "
        "every group language), so every variant of one parallel set draws from the same items; parallel "
        "recipes also require every selected language. --no-complete-groups keeps incomplete groups",
    )
    group_languages: list[str] = Field(
        default_factory=list,
        description="Languages a parallel group needs to be complete, whatever --languages selects (empty: "
        "on a translate output the translation targets, else every language among the grouped rows)",
    )
    take: list[str] = Field(
        default_factory=list,
        description="Per source (the records' source field): SOURCE=N keeps a seeded N items, SOURCE=0.25 "
        "a seeded quarter; sources not named are kept whole. Items are parallel groups (or rows)",
    )
    size: int | None = Field(
        None,
        ge=1,
        description="Down-sample the mixture to this many items, a seeded sample of whole parallel groups "
        "(a row without a group is an item of its own)",
    )

    # Cross-field checks sit on the later field, so an error names the flag to fix.
    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str], info: ValidationInfo) -> list[str]:
        out = _codes(value)
        if info.data.get("recipe") == "monolingual" and len(out) != 1:
            raise ValueError(
                "the monolingual recipe needs exactly one language, e.g. --languages ja "
                f"(got {','.join(out) or 'none'})"
            )
        return out

    @field_validator("group_languages")
    @classmethod
    def _group_languages(cls, value: list[str]) -> list[str]:
        return _codes(value)

    @field_validator("take")
    @classmethod
    def _take(cls, value: list[str]) -> list[str]:
        parse_take(value)
        return value

    def take_table(self) -> dict[str, float]:
        """``take`` as {source: count (>= 1) or share (< 1)}."""
        return parse_take(self.take)

    @field_validator("english")
    @classmethod
    def _english(cls, value: bool, info: ValidationInfo) -> bool:
        if not value and "en" in info.data.get("languages", []):
            raise ValueError("--languages names en but --no-english leaves English out; drop one of them")
        return value


def _codes(value: list[str]) -> list[str]:
    """Language codes lower-cased, blanks and repeats left out, in the order given."""
    out: list[str] = []
    for code in value:
        code = code.strip().lower()
        if code and code not in out:
            out.append(code)
    return out


def parse_take(entries: list[str]) -> dict[str, float]:
    """{"a=669", "b=0.5"} -> {"a": 669, "b": 0.5}; ValueError naming the bad entry."""
    out: dict[str, float] = {}
    for entry in entries:
        name, sep, amount = entry.rpartition("=")
        name = name.strip()
        try:
            value = float(amount)
        except ValueError:
            value = -1.0
        if not sep or not name or value <= 0 or (value >= 1 and value != int(value)):
            raise ValueError(
                f"{entry!r} should be SOURCE=N (a count, e.g. jpn-pairs=669) or SOURCE=W (a share below 1, e.g. en=0.25)"
            )
        if name in out:
            raise ValueError(f"source {name!r} is given twice")
        out[name] = value
    return out


class ExportConfig(_Cfg):
    #: Old names, accepted with a note until the next release (tagengo.run.options, docs/options.md):
    #: every other stage's --format is the format of the rows it reads; export's is what it writes.
    RENAMED: ClassVar[dict[str, str]] = {"format": "output_format"}

    output_format: ExportFormat = Field(
        "messages",
        description="messages: JSONL of {messages: [{role, content}]} (TRL, Axolotl chat_template); "
        "sharegpt: JSONL of {conversations: [{from, value}]}; parquet: the messages layout as Parquet; "
        "alpaca: JSONL of {instruction, input, output} (single-turn rows only)",
    )
    validation: float = Field(
        0.0, ge=0, lt=1, description="Share of rows written to the validation split (0: train only)"
    )
    seed: int = Field(42, description="Seed of the train/validation split")
    group_key: str | None = Field(
        "parallel_group",
        description="meta key whose rows stay on one side of the split (translations of one prompt); "
        "empty: split row by row",
    )
    columns: list[str] = Field(
        default_factory=lambda: ["id", "language", "source"],
        description="Record fields written next to the conversation (id, language, source, meta)",
    )
    repair: Literal["none", "merge-consecutive"] = Field(
        "none",
        description="Rows that break the chat rules (one optional leading system turn, then user/assistant "
        "alternating, ending with assistant, no empty turn) are skipped with the reason; merge-consecutive: "
        "first join consecutive turns of the same role (blank line between), then check",
    )
    name: str | None = Field(None, description="Dataset name in the card (default: the output folder's name)")
    license: str = Field(
        "other", description="License id for the card's metadata (the rows inherit their sources' terms)"
    )
    license_note: str | None = Field(None, description="Extra license text for the card")

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, value: list[str]) -> list[str]:
        allowed = ("id", "language", "source", "meta")
        bad = [c for c in value if c not in allowed]
        if bad:
            raise ValueError(f"unknown column(s) {', '.join(bad)}; choose from {', '.join(allowed)}")
        return list(dict.fromkeys(value))
