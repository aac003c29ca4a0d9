"""Configuration of `tagengo translate`: the translator (every ``LLMConfig`` field as a
top-level flag: --backend, --model, --base-url ...), the target languages and the checks a
translation must pass.

Defaults follow Lima-X (arXiv 2402.13703): every message of every item translated into each
target language, code kept as it is; the checks (language ID, length ratio, protected
spans) are tagengo's.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from tagengo.llm.sampling import SamplingConfig
from tagengo.llm.translation.check import (
    CheckLanguage,
    CheckNumbers,
    CheckSentences,
    CheckSimilarity,
    LidMinChars,
    MaxLengthRatio,
    MinLengthRatio,
    MinLidScore,
    MinSimilarity,
    Protect,
    above_min_ratio,
)


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
    check_language: CheckLanguage
    min_lid_score: MinLidScore
    lid_min_chars: LidMinChars
    min_length_ratio: MinLengthRatio
    max_length_ratio: MaxLengthRatio
    protect: Protect
    check_numbers: CheckNumbers
    check_sentences: CheckSentences
    check_similarity: CheckSimilarity
    min_similarity: MinSimilarity

    @field_validator("to")
    @classmethod
    def _to(cls, value: list[str]) -> list[str]:
        return _codes(value)

    @field_validator("source_language")
    @classmethod
    def _src(cls, value: str | None) -> str | None:
        # Checked as --to is: an unknown code was once sent to the model as "from zz into French".
        from tagengo.lang.languages import is_known_code

        code = value.strip().lower() if value else None
        if code and not is_known_code(code):
            raise ValueError(f"unknown language code {code!r}; see docs/languages.md")
        return code

    _ratio = field_validator("max_length_ratio")(above_min_ratio)
