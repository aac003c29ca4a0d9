"""The shortcuts in ``detector_text`` (issue 27, session 32) skip regexes only where they could
not match: the outputs must be those of running the regexes on every text."""

from __future__ import annotations

import random

from tagengo.lang import langid
from tagengo.lang.langid import detector_text, strip_technical

#: Pieces a prompt is made of, technical or not, in several scripts; the random texts join them.
PIECES = [
    "word",
    "Word",
    "WORD",
    "a",
    "I",
    "useEffect",
    "x^2",
    "C++",
    "C#",
    "HEAD~3",
    "--force",
    "-i",
    "-",
    "well-known",
    "os.path",
    ".py",
    "e.g.",
    "U.S.A.",
    "3",
    "(x)",
    "[1]",
    "{a}",
    "<b>",
    "a_b",
    '"-x"',
    "'q'",
    "?",
    "!",
    ",",
    ".",
    "中文",
    "Java",
    "で",
    "Ünïcödé",
    "ſ",
    "K",
    "é.B",
    "«-x»",
    "SQL",
    "aB",
    "`code`",
    "```\nblock\n```",
    "https://x.org",
    "HTTP://X",
    "www.site.com",
    "WWW.SITE",
    "wWw.",
    "w.",
    "ftp://a",
    " ",
    "  ",
    "\n",
    "\t",
    "\u00a0",
    "\u200b",
]


def _texts(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = rng.choices(PIECES, k=rng.randint(0, 12))
        seps = rng.choices(["", " ", " ", "\n", "\u3000"], k=len(parts))
        out.append("".join(p + s for p, s in zip(parts, seps, strict=True)))
    return out


def test_strip_technical_is_the_run_regex_over_the_whole_text() -> None:
    for text in _texts(3000):
        assert strip_technical(text) == langid._SUSPECT_RUN.sub(langid._plain_run, text), text


def test_the_marker_pretest_never_skips_a_text_the_regex_matches() -> None:
    texts = [*_texts(5000, seed=11), "HtTpS://a", "WwW.b", "x`y", "ſ", "hTTp://"]
    for text in texts:
        if langid._MARKERS.search(text) is not None:
            assert "`" in text or "://" in text or "w." in text or "W." in text, text


def test_detector_text_still_strips_code_and_urls_in_any_case() -> None:
    assert detector_text("Open WWW.EXAMPLE.COM please", True) == "Open please"
    assert detector_text("see HTTPS://x.org/a and `rm -rf`", True) == "see and"


def test_strip_code_shortcut_and_letter_count_match_the_plain_regexes() -> None:
    """strip_code skips its three patterns for a text without a marker, and verdict.letters
    counts by cutting non-letter runs (issue 27, session 33): the same results as the patterns
    run on every text and a findall of single letters."""
    from tagengo.lang.verdict import _LETTER, letters

    def plain_strip(text: str) -> str:
        return langid._URL.sub(" ", langid._INLINE_CODE.sub(" ", langid._CODE_BLOCK.sub(" ", text)))

    for text in [*_texts(5000, seed=13), "日本語123_x", "عربى ١٢٣", "Straße_2 ÉÀ"]:
        assert langid.strip_code(text) == plain_strip(text), text
        assert letters(text) == len(_LETTER.findall(plain_strip(text))), text
