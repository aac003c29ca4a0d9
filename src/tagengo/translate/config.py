"""Configuration of `tagengo translate`: the translator (every ``LLMConfig`` field as a
top-level flag: --backend, --model, --base-url ...), the target languages and the checks a
translation must pass.

Defaults follow Lima-X (arXiv 2402.13703): every message of every item translated into each
target language, code kept as it is; the checks (language ID, length ratio, protected
spans) are tagengo's.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from tagengo.llm.sampling import SamplingConfig


def _codes(value: list[str]) -> list[str]:
    out: list[str] = []
    for code in value:
        code = code.strip().lower()
        if code and code not in out:
            out.append(code)
    return out


class TranslateConfig(SamplingConfig):
    """What `tagengo translate` does to each row, on top of the translator's settings."""

    to: list[str] = Field(
        default_factory=list,
        description="Target language codes, e.g. de,fr,it,es (Lima-X's four); any code the language "
        "table knows",
    )
    source_language: str | None = Field(
        None,
        description="Language of the input rows (default: each row's language label; language ID "
        "of its messages where it has none, trusted at --source-min-lid-score)",
    )
    source_min_lid_score: float = Field(
        0.8,
        ge=0,
        le=1,
        description="Without --source-language, a row with no language label takes language ID's label "
        "only at this probability (the label's near-language group summed); below, its item is "
        "rejected: a wrong label would make the source row the member of another language",
    )
    include_source: bool = Field(
        True,
        description="Write the source row too (unchanged, in its own language) as a member of its "
        "parallel group, as Lima-X keeps its English original",
    )
    group_key: str = Field(
        "parallel_group",
        description="meta key holding the parallel-group id (what mix --recipe parallel reads)",
    )
    check_language: bool = Field(
        True, description="Reject a translation whose language ID is not the target language"
    )
    min_lid_score: float = Field(
        0.5, ge=0, le=1, description="Least LID probability of the target language (or a near language)"
    )
    lid_min_chars: int = Field(
        20,
        ge=0,
        description="Messages shorter than this (after removing protected spans) skip the language and "
        "length checks: LID and ratios mean little on a few words",
    )
    min_length_ratio: float = Field(
        0.3, gt=0, description="Reject a translation shorter than this × its source (in characters)"
    )
    max_length_ratio: float = Field(
        3.5, gt=0, description="Reject a translation longer than this × its source (in characters)"
    )
    protect: bool = Field(
        True,
        description="Swap code, URLs, LaTeX, placeholders and formula numbers for markers before "
        "translating and restore them verbatim after; a translation that lost one is rejected",
    )
    check_numbers: bool = Field(
        True,
        description="Reject a translation whose numbers (in digits, outside protected spans) differ from "
        "its source's as a multiset; locale formats, digits of other scripts, scale words and numbers "
        "spelt as words are allowed (docs/translate.md)",
    )

    @field_validator("to")
    @classmethod
    def _to(cls, value: list[str]) -> list[str]:
        return _codes(value)

    @field_validator("source_language")
    @classmethod
    def _src(cls, value: str | None) -> str | None:
        return value.strip().lower() if value else None

    @field_validator("max_length_ratio")
    @classmethod
    def _ratio(cls, value: float, info: Any) -> float:
        low = info.data.get("min_length_ratio")
        if low is not None and value <= low:
            raise ValueError(f"must be above --min-length-ratio ({low})")
        return value
