"""Which fragments of a corpus `tagengo reverse` uses: two filters, each with its reason.

* ``fragment_length``: characters and cl100k tokens within the configured bounds (a two-word
  line is no answer; a whole chapter does not fit the writer's or the trainee's context).
  CJK, kana and hangul characters count 3 (they carry about three Latin letters each), so one
  bound fits Japanese and German alike;
* ``fragment_language``: language ID (lid.176) finds ``--language`` (or a near language) with
  at least ``--min-lid-score``; a row labelled with another language is rejected too.

Both write their figures to ``meta.fragment`` (chars, tokens, lid, lid_score) and set the
record's ``language`` to ``--language``.
"""

from __future__ import annotations

from tagengo.lang.langid import LanguageIdentifier
from tagengo.lang.languages import near_group
from tagengo.lang.tokens import TokenCounter
from tagengo.llm.translation.check import text_length
from tagengo.records import Record
from tagengo.reverse.config import ReverseConfig
from tagengo.run.steps import Filter


def fragment_text(row: Record) -> str:
    """The fragment a corpus row holds: its first message (a corpus row has only that one)."""
    return row.messages[0]["content"].strip() if row.messages else ""


class FragmentLength(Filter):
    name = "fragment_length"

    def __init__(self, cfg: ReverseConfig) -> None:
        self.cfg = cfg
        self.tokens: TokenCounter | None = None

    def setup(self) -> None:
        if self.tokens is None:
            self.tokens = TokenCounter()

    def keep(self, row: Record) -> tuple[bool, str]:
        if self.tokens is None:
            self.setup()
        assert self.tokens is not None
        cfg = self.cfg
        text = fragment_text(row)
        chars, tokens = text_length(text), self.tokens.count(text)
        row.meta["fragment"] = {"chars": chars, "tokens": tokens}
        if row.language and row.language != cfg.language:
            row.meta["fragment"]["label"] = row.language
        row.language = cfg.language  # counted under the corpus's language from the first step on
        if chars < cfg.min_fragment_chars:
            return (
                False,
                f"fragment too short: {chars} characters (--min-fragment-chars {cfg.min_fragment_chars})",
            )
        if chars > cfg.max_fragment_chars:
            return (
                False,
                f"fragment too long: {chars:,} characters (--max-fragment-chars {cfg.max_fragment_chars:,})",
            )
        if tokens < cfg.min_fragment_tokens:
            return (
                False,
                f"fragment too short: {tokens} tokens (--min-fragment-tokens {cfg.min_fragment_tokens})",
            )
        if tokens > cfg.max_fragment_tokens:
            return (
                False,
                f"fragment too long: {tokens:,} tokens (--max-fragment-tokens {cfg.max_fragment_tokens:,})",
            )
        return True, ""


class FragmentLanguage(Filter):
    name = "fragment_language"

    def __init__(self, cfg: ReverseConfig, lid: LanguageIdentifier | None = None) -> None:
        self.cfg = cfg
        self.lid = lid

    def setup(self) -> None:
        if self.lid is None:
            self.lid = LanguageIdentifier()

    def keep(self, row: Record) -> tuple[bool, str]:
        if self.lid is None:
            self.setup()
        assert self.lid is not None
        want = self.cfg.language or ""
        info = row.meta.setdefault("fragment", {})
        labelled = info.get("label")
        pred = self.lid.detect(fragment_text(row), k=3)
        score = pred.group_score(near_group(want))
        info.update(lid=pred.top, lid_score=round(pred.score, 4))
        if labelled and labelled != want:
            return False, f"labelled {labelled}, not --language {want}"
        if score < self.cfg.min_lid_score:
            return False, f"language ID says {pred.top} ({pred.score:.2f}), not {want}"
        return True, ""
