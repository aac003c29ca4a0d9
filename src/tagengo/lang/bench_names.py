"""Language codes and names for the bench: from folder names (``de_mt_bench``, ``mt_bench_DE``,
``japanese_mt_bench``) to ISO codes, and from codes to the English names the judge prompt uses.

There is one language table in the project, :mod:`tagengo.lang.languages` (codes, names,
aliases and lid.176's near-language groups, documented in docs/languages.md); everything here
defers to it, the language gate included, so the bench and curate never disagree on whether two
languages count as one.

It lives in lang/, not in bench/, because eval, prefer and route name languages the same way
(``language_name`` for a judge or a prompt, ``normalize_code`` for a user's label).
"""

from __future__ import annotations

from functools import lru_cache

from tagengo.lang.languages import (
    UnknownLanguageLabel,
    code_to_name,
    is_known_code,
    label_to_code,
    near_group,
)


@lru_cache(maxsize=1024)
def normalize_code(label: str) -> str | None:
    """'DE' -> 'de', 'japanese' -> 'ja', 'zh-Hans' -> 'zh'; None when it names no language
    (the language table decides: ISO 639 codes, BCP-47 tags, English names and their aliases)."""
    if not label.strip():
        return None
    try:
        return label_to_code(label)
    except UnknownLanguageLabel:
        return None


def language_name(code: str | None) -> str | None:
    """English name for a code ('de' -> 'German'); the code itself when the table has none."""
    if not code:
        return None
    return code_to_name(code) if is_known_code(code) else code


def same_language(a: str, b: str) -> bool:
    """Equal codes, or two members of one near-language group of the language table (Norwegian
    Bokmål/Nynorsk, Serbo-Croatian, Malay/Indonesian ...; Danish/Norwegian are *not* one)."""
    return a == b or b in near_group(a)


#: Bench names that are English without saying so (FastChat's own sets and ours).
ENGLISH_BENCHES = frozenset({"mt_bench", "vicuna_bench", "tagengo_mini", "mt_bench_en"})
#: Name tokens that are never a language, although some are codes (``mt`` is Maltese).
_NOT_LANGUAGE = frozenset({"mt", "bench", "mini", "small", "full", "v1", "v2"})


def language_from_bench_name(name: str) -> str | None:
    """``de_mt_bench`` / ``mt_bench_DE`` / ``japanese_mt_bench`` / ``mt-bench-ja`` -> code.

    A prefix or suffix token that is a language code or an English language name counts;
    tokens inside the name (``mt``, ``bench``) do not. Known English sets map to 'en'."""
    low = name.strip().lower()
    if low in ENGLISH_BENCHES:
        return "en"
    tokens = [t for t in low.replace("-", "_").split("_") if t]
    if len(tokens) < 2:
        return None
    for tok in (tokens[0], tokens[-1]):
        if tok in _NOT_LANGUAGE:
            continue
        code = normalize_code(tok)
        if code:
            return code
    return None
