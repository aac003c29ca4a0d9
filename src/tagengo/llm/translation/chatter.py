"""What a translator adds around a translation, cut where that is safe and reported where not.

Translators, told to reply with the translation only, still add a line that announces it
("Sure! Here is the German translation:"), repeat the source before it, label it ("German:"),
add a note or an explanation after it ("Note: I kept the brand name."), sign off ("I hope this
helps! Let me know if you need anything else.") or put quotation marks around it, in English or
in the target language. The language and length checks let most of that through (a German
translation with one English line is still German, and a few words more), so it would end up in
the data.

What is chatter is decided by comparing with the source: a line, a note, a sign-off or quotes
that the source has too are the text. Chatter that stands apart (the first line, whole
paragraphs after the translation, the source repeated before it, quotes around all of it) is
cut and recorded by kind; chatter that does not stand apart (a sign-off sentence at the end of
the last paragraph, the source repeated in the middle, an announcement between two paragraphs)
cannot be cut without guessing where the translation ends, so it is reported as ``problem`` and
the caller rejects the translation.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from tagengo.llm.translation.chatter_words import (
    ANNOUNCE,
    CHATTY_START,
    FIRST_PERSON_META,
    HERE_IS_TRANSLATION,
    INLINE_NOTE,
    INTERJECTION,
    LANGUAGE_NAME,
    NOTE,
    NOTE_INSIDE,
    NOTE_SENTENCE,
    SIGNOFF,
    SIGNOFF_INSIDE,
    SOURCE_LABEL_WORDS,
    TRANSLATION,
    language_label,
    language_names,
)

_COLONS = (":", "：")
_MARKUP = " \t*_`#>"
#: Quotation marks a translator may wrap its answer in: (opening, closing).
_QUOTE_PAIRS = (
    ('"', '"'),
    ("“", "”"),
    ("„", "“"),
    ("„", "”"),
    ("«", "»"),
    ("»", "«"),
    ("「", "」"),
    ("『", "』"),
    ("‘", "’"),
    ("'", "'"),
)
_QUOTE_CHARS = "\"'“”„«»「」『』‘’‚"
#: An announcing line longer than this (characters, CJK counting 3) is taken for text.
_MAX_PREAMBLE = 200
#: A paragraph after the translation longer than this is not taken for an explanation of it.
_MAX_EXPLANATION = 800
_WIDE = re.compile(r"[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
_LETTER = re.compile(r"[^\W\d_]")
#: A first line that may be a preamble without naming the translation ("Sure, here you go:",
#: "In Japanese:"): one short clause of words, no sentence end, number, code or format inside
#: ("# %s (Gerät %d):" and "Les valeurs sont :" after a sentence are text split differently).
_CHATTY = re.compile(r"^[^\W\d_][^.!?。！？%⟦#\d\[\]{}()<>=/\\|]{0,58}[:：]$")


def _chatty(line: str) -> bool:
    """A short line ending in a colon that hands the translation over without naming it: one
    clause that opens with "Sure", "Okay" ... or names a language or says "here is"."""
    bare = _bare(line)
    return bool(_CHATTY.match(bare)) and bool(
        CHATTY_START.match(bare) or LANGUAGE_NAME.search(bare) or ANNOUNCE.search(bare)
    )


_LABELLED = re.compile(rf"^[\s*_#>]*(?:[^\W\d_]+\s+)?(?:{TRANSLATION.pattern})[\s*_]*[:：][\s*_]*\S", re.I)
_RULE = re.compile(r"^\s*(?:[-*_=]\s*){3,}$")
#: Sentence ends: Latin ones before white space, CJK ones anywhere; and line breaks.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])|\n+")
#: What may stand between a repeated source and the translation after it.
_ECHO_SEP = (
    r"(?:[ \t]*\n\s*(?:(?:->|→|=>|⇒)\s+)?|[ \t]*(?:->|→|=>|⇒)\s*|[ \t]+(?:=|—|–|-|\|)\s+|[ \t]*[:：]\s+)"
)
#: The source must have this many letters before a repeat of it is looked for: "OK" or "Paris"
#: are translated as themselves.
_MIN_ECHO_LETTERS = 8


@dataclass
class Chatter:
    """The translation in an answer (``text``), the chatter cut from around it (``removed``,
    by kind: ``echo``, ``preamble``, ``note``, ``signoff``, ``quotes``) and, where chatter was
    found that cannot be cut safely, its kind (``problem``) and the text (``found``)."""

    text: str
    removed: dict[str, str] = field(default_factory=dict)
    problem: str | None = None
    found: str = ""


def _nonblank(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _bare(line: str) -> str:
    return line.strip().strip(_MARKUP).strip()


def _ends_with_colon(line: str) -> bool:
    return _bare(line).endswith(_COLONS)


def _wide_length(text: str) -> int:
    """Characters, CJK, kana and hangul counting 3 (as the length checks count them)."""
    return len(text) + 2 * len(_WIDE.findall(text))


def _is_label(line: str) -> bool:
    """A line that only names the translation: "Translation", "**German translation:**", "翻訳：",
    "Final Translation" (the word first or last; "of translated messages." is text)."""
    bare = _bare(line).rstrip(":：").strip(_MARKUP)
    words = bare.split()
    if not words or _wide_length(bare) > 30 or len(words) > 4 or bare.endswith((".", "!", "?", "。")):
        return False
    return bool(TRANSLATION.match(words[0]) or TRANSLATION.search(words[-1]))


def _announces(line: str) -> bool:
    """The line says a translation follows: it ends with a colon and names the translation or
    opens with "here is", or it is a label, or a "here is the translation." sentence."""
    if _is_label(line):
        return True
    if _ends_with_colon(line):
        # "Here is ...:", "... translation:", or a short "In Japanese:" / "The text in German is:"
        return bool(ANNOUNCE.search(line)) or (
            _wide_length(_bare(line)) <= 60 and bool(LANGUAGE_NAME.search(line))
        )
    return bool(HERE_IS_TRANSLATION.search(line)) and _bare(line).endswith((".", "!", "。", "！"))


def _source_announces(source: str) -> bool:
    return any(_announces(s) or TRANSLATION.search(s) for s in _nonblank(source))


# -- the source repeated ----------------------------------------------------------------------


def _squash(text: str) -> tuple[str, list[int]]:
    """``text`` with each run of white space made one space, and where each of its characters
    was in ``text`` (a repeat of the source is found whatever white space it was given)."""
    out: list[str] = []
    where: list[int] = []
    space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            space = True
            continue
        if space and out:
            out.append(" ")
            where.append(i - 1)
        space = False
        out.append(ch)
        where.append(i)
    return "".join(out), where


@functools.lru_cache(maxsize=64)
def _echo_label(source_language: str | None) -> re.Pattern[str]:
    """An optional "Original:", "English:", "Source text:" label and opening quote, at the start."""
    names = "|".join([SOURCE_LABEL_WORDS, *(re.escape(n) for n in language_names(source_language))])
    return re.compile(rf"[(\[（]?(?:[\s*_#>]*(?:{names})[\s*_]*[:：][\s*_]*)?[{_QUOTE_CHARS}]?", re.I)


_ECHO_SEP_RE = re.compile(rf"[{_QUOTE_CHARS})\]）]?{_ECHO_SEP}")
_ECHO_END_RE = re.compile(rf"\s*[{_QUOTE_CHARS})\]）]*\s*\Z")


def _cut_echo(text: str, source: str, source_language: str | None) -> tuple[str, str | None]:
    """``text`` without the source repeated before it ("Hello\\n\\nHallo", "English: Hello\\n
    German: Hallo", "Hello → Hallo") or after it ("Hallo\\n\\n(Original: Hello)"), set apart by a
    line break, an arrow or a label; and what was cut."""
    src = " ".join(source.split())
    if len(_LETTER.findall(src)) < _MIN_ECHO_LETTERS:
        return text, None
    label = _echo_label(source_language)

    def starts(text: str) -> list[int]:
        # Where the repeat may begin: at once, or after a label and the marks around it; the
        # source may itself open with a bracket, a quote or "**" that the label would take.
        end = label.match(text).end()  # type: ignore[union-attr]
        return sorted({0, *range(max(0, end - 4), end + 1)})

    def repeats(rest: str) -> bool:
        # two copies of a text that translates as itself ("Samaritano" holds no copy)
        return _echo_inside(rest, source, whole_only=True) is not None

    # before: [label] source, then a line break or an arrow
    for start in starts(text):
        window = text[start : start + 2 * len(source) + 64]
        flat, where = _squash(window)
        if not (flat.startswith(src) and len(flat) > len(src)):
            continue
        end = start + where[len(src) - 1] + 1
        if sep := _ECHO_SEP_RE.match(text, end):
            rest = text[sep.end() :].strip()
            if _LETTER.search(rest) and not repeats(rest) and not _all_chatter(rest):
                return rest, text[: sep.end()].strip()
    # after: a line break, [label] source
    flat, where = _squash(text)
    at = flat.rfind(src)
    if at > 0 and _ECHO_END_RE.match(flat, at + len(src)):
        head_end = text.rfind("\n", 0, where[at] + 1)
        if head_end > 0:
            tail = text[head_end:].strip()
            if any(" ".join(tail[k:].split()).startswith(src) for k in starts(tail)):
                rest = text[:head_end].strip()
                if _LETTER.search(rest) and not repeats(rest) and not _all_chatter(rest):
                    return rest, tail
    return text, None


def _all_chatter(text: str) -> bool:
    """``text`` is nothing but a preamble, a note or a sign-off: what is left beside a repeat of
    a source that translates as itself ("Public Key :"), so that repeat is the translation."""
    lines = _nonblank(text)
    if len(lines) != 1 or _LABELLED.match(lines[0]):
        return False  # "Translation: Hallo Welt." is a translation under a label
    return _announces(lines[0]) or _kind(lines[0], explanations=False) is not None


def _echo_inside(text: str, source: str, whole_only: bool = False) -> str | None:
    """The source, repeated somewhere inside ``text`` with more text around it (``whole_only``:
    or alone)."""
    src = " ".join(source.split())
    if not whole_only and len(_LETTER.findall(src)) < 2 * _MIN_ECHO_LETTERS:
        return None
    flat, _ = _squash(text)
    at = flat.find(src)
    while at >= 0:
        whole = not (at and flat[at - 1].isalnum()) and not flat[at + len(src) : at + len(src) + 1].isalnum()
        # More than a few words around it: a translation beside the source, not a name kept
        # as it is ("Bourne Again Shell (bash)").
        around = len(_LETTER.findall(flat[:at] + flat[at + len(src) :]))
        if whole and (whole_only or around >= max(_MIN_ECHO_LETTERS, len(_LETTER.findall(src)) // 2)):
            return src
        at = flat.find(src, at + 1)
    return None


# -- before the translation -------------------------------------------------------------------


def _cut_preamble(
    text: str, source: str, source_language: str | None = None, target: str | None = None
) -> tuple[str, str | None]:
    """``text`` without a first line (or two: "Sure!" then the announcement) that announces the
    translation, or a "German:" label before it, when the source has no such line; and what
    was cut."""
    lines = text.split("\n")
    heads = [i for i, line in enumerate(lines) if line.strip()][:2]
    src_lines = _nonblank(source)
    first = lines[heads[0]] if heads else ""
    src_first = src_lines[0] if src_lines else ""
    # On the same line: "Here is the translation: Hallo Welt." (and the source's first line
    # does not open with the like: "Translation: a difficult craft")
    cut = min((first.find(c) for c in _COLONS if c in first), default=-1)
    if cut > 0:
        # the markup closing a bold label goes with it: "**Translation:** Hallo"
        close = cut + 1 + len(first[cut + 1 :]) - len(first[cut + 1 :].lstrip("*_"))
        head, tail = first[:close], first[close:]
        src_cut = min((src_first.find(c) for c in _COLONS if c in src_first), default=-1)
        src_head = src_first[: src_cut + 1] if src_cut >= 0 else ""
        if (
            (TRANSLATION.search(head) or (_announces(head) and _chatty(head)))
            and _wide_length(head) <= 120
            and _LETTER.search(tail)
            and not TRANSLATION.search(src_head)
            and not _announces(src_head)
        ):
            return "\n".join([tail, *lines[heads[0] + 1 :]]).strip(), head.strip()
    for n, last in enumerate(heads, 1):
        if n == 2 and not INTERJECTION.match(lines[heads[0]]):
            break
        head = "\n".join(lines[: last + 1]).strip()
        rest = "\n".join(lines[last + 1 :]).strip()
        if not rest or _wide_length(head) > _MAX_PREAMBLE:
            break
        line = lines[last]
        # The source line in the same place: a translation of it is no preamble.
        src_line = src_lines[n - 1] if len(src_lines) >= n else ""
        src_colon = _ends_with_colon(src_line)
        src_announces = any(_announces(s) for s in src_lines[:n])
        # What is left still has a line for every line of the source: the source's lines plus one.
        lines_kept = len(_nonblank(rest)) >= len(src_lines)
        if n == 2 and not lines_kept:
            break
        if (
            _announces(line)
            and not src_announces
            and (lines_kept or (_ends_with_colon(line) and not src_colon))
        ):
            return rest, head
        if _ends_with_colon(line) and lines_kept and not src_colon and _chatty(line):
            return rest, head  # a short line ending with a colon that the source did not have
    first = lines[heads[0]] if heads else ""
    src_first = src_lines[0] if src_lines else ""
    # "German: Hallo Welt." / "Deutsch:\nHallo Welt.": the target's name as a label
    label = language_label([target])
    if label and (m := label.match(first)) and not language_label([source_language, target]).match(src_first):  # type: ignore[union-attr]
        tail = first[m.end() :]
        rest = "\n".join([tail, *lines[heads[0] + 1 :]]).strip()
        if _LETTER.search(rest):
            return rest, first[: m.end()].strip()
    return text, None


# -- after the translation --------------------------------------------------------------------


def _units(text: str) -> list[str]:
    """Paragraphs; a note that starts on a line of its own inside the last paragraph is a unit
    of its own ("Der Text.\\nNote: ...")."""
    paras = [p.strip("\n") for p in re.split(r"\n[ \t]*\n", text) if p.strip()]
    if not paras:
        return []
    last = paras[-1].split("\n")
    for i in range(1, len(last)):
        if NOTE.match(last[i]) or SIGNOFF.match(last[i]):
            return [*paras[:-1], "\n".join(last[:i]), "\n".join(last[i:])]
    return paras


def _kind(unit: str, explanations: bool = True) -> str | None:
    """What a paragraph after a translation is when it is not text: a sign-off, a note (an
    explanation of the translation counts, unless ``explanations`` is off: the source speaks of
    translations itself), a rule before one; None for text."""
    if _RULE.match(unit):
        return "note"
    if _LABELLED.match(unit):
        return None  # "Translation: Hallo Welt.": the translation under a label, not a note on it
    first, _, more = unit.partition("\n")
    if more.strip() and _announces(first) and not NOTE.match(first):
        return None  # "Here is the translation:" and text after it: text to keep, or to reject
    if SIGNOFF.match(unit):
        return "signoff"
    if NOTE.match(unit) or NOTE_SENTENCE.match(unit):
        return "note"
    if (
        explanations
        and _wide_length(unit) <= _MAX_EXPLANATION
        and (TRANSLATION.search(unit) or FIRST_PERSON_META.search(unit))
    ):
        return "note"
    return None


def _trailing(units: list[str], explanations: bool) -> int:
    n = 0
    for unit in reversed(units[1:]):
        if _kind(unit, explanations) is None:
            break
        n += 1
    return n


def _cut_trailing(text: str, source: str) -> tuple[str, dict[str, str]]:
    """``text`` without the notes, explanations and sign-offs after it that the source did not
    have (more of them than the source, in paragraphs the source does not have); and what was
    cut, by kind."""
    units, src_units = _units(text), _units(source)
    explain = not (TRANSLATION.search(source) or FIRST_PERSON_META.search(source))
    extra = min(_trailing(units, explain) - _trailing(src_units, explain), len(units) - len(src_units))
    cut: dict[str, list[str]] = {}
    if extra > 0:
        for unit in units[-extra:]:
            cut.setdefault(_kind(unit, explain) or "note", []).append(unit)
        text = "\n\n".join(units[:-extra])
    # "... der Text. (Note: 'Welt' means world.)" / "(Translated from English.)" at the very end
    m = INLINE_NOTE.search(text)
    if m and m.start() > 0 and not INLINE_NOTE.search(source.strip()):
        cut.setdefault("note", []).insert(0, text[m.start() :].strip())
        text = text[: m.start()].rstrip()
    return text, {kind: "\n\n".join(parts) for kind, parts in cut.items()}


def _cut_quotes(text: str, source: str) -> tuple[str, str | None]:
    """``text`` without quotation marks around all of it that the source did not have."""
    src = source.strip()
    if len(text) < 3 or (src and (src[0] in _QUOTE_CHARS or src[-1] in _QUOTE_CHARS)):
        return text, None
    for open_, close in _QUOTE_PAIRS:
        inner = text[len(open_) : -len(close)]
        if text.startswith(open_) and text.endswith(close) and close not in inner and open_ not in inner:
            return inner.strip(), open_ + close
    return text, None


def cut_separators(text: str) -> str:
    """``text`` without the separator lines a model sometimes copies from the prompt."""
    lines = text.strip().splitlines()
    while lines and set(lines[0].strip()) <= {"-"} and lines[0].strip():
        lines.pop(0)
    while lines and set(lines[-1].strip()) <= {"-"} and lines[-1].strip():
        lines.pop()
    return "\n".join(lines).strip()


# -- what cannot be cut -----------------------------------------------------------------------


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text) if s and s.strip()]


def _left_in(text: str, source: str) -> tuple[str, str] | None:
    """(kind, text) of chatter that is still in ``text`` once the parts that stand apart are
    cut, where the source has none: a sign-off sentence at the end, the source repeated inside,
    a line announcing the translation after the first."""
    src_sentences = _sentences(source)
    tail = _sentences(text)[-2:]
    if not any(SIGNOFF.match(s) or SIGNOFF_INSIDE.search(s) for s in src_sentences):
        for i, sentence in enumerate(tail):
            if (SIGNOFF.match(sentence) and (i or len(tail) > 1)) or SIGNOFF_INSIDE.search(sentence):
                return "signoff", " ".join(tail[i:]).strip()
    if not any(NOTE_INSIDE.search(s) or NOTE.match(s) for s in src_sentences):
        for i, sentence in enumerate(tail):
            if i and NOTE.match(sentence):
                return "note", sentence.strip()
            if m := NOTE_INSIDE.search(sentence):
                return "note", sentence[m.start() :].strip()
    if inside := _echo_inside(text, source):
        return "echo", inside
    if not _source_announces(source):
        for line in _nonblank(text)[1:]:
            if TRANSLATION.search(line) and _announces(line) and _wide_length(line) <= _MAX_PREAMBLE:
                return "preamble", line.strip()
    return None


def screen_chatter(
    answer: str, source: str, *, source_language: str | None = None, target: str | None = None
) -> Chatter:
    """The translation in ``answer`` and the chatter around it. ``source`` is the text that was
    sent for translation (what it has too is kept); ``source_language`` and ``target`` (codes)
    let "English: ..." and "German: ..." labels be told from text.

    Cut, in this order: white space and copied separator lines; the source repeated before or
    after the translation (``echo``); a first line that announces it or labels it with the
    target language (``preamble``); notes and explanations (``note``) and sign-offs
    (``signoff``) after it; quotation marks around all of it (``quotes``). Then chatter that is
    left inside (a sign-off sentence ending the last paragraph, the source repeated inside, an
    announcing line further down) is reported as ``problem``, for the caller to reject."""
    out = Chatter(cut_separators(answer))

    def apply(kind: str, result: tuple[str, str | None]) -> None:
        text, what = result
        if what is not None:
            out.removed[kind] = what
            out.text = cut_separators(text)

    apply("echo", _cut_echo(out.text, source, source_language))
    apply("preamble", _cut_preamble(out.text, source, source_language, target))
    text, cut = _cut_trailing(out.text, source)
    if cut:
        out.text = cut_separators(text)
        out.removed.update(cut)
    apply("quotes", _cut_quotes(out.text, source))
    if left := _left_in(out.text, source):
        out.problem, out.found = left
    return out


def chatter_reason(kind: str, where: str) -> str:
    """The rejection reason for chatter that could not be cut (one wording per kind, so the
    reasons count together)."""
    what = {
        "signoff": "a sign-off ends the translation",
        "echo": "the source is repeated inside the translation",
        "preamble": "a line announcing the translation stands inside it",
        "note": "a translator's note is run into the translation",
    }[kind]
    return f"translator chatter ({kind}) in {where}: {what}, which cannot be cut safely"


def split_chatter(
    answer: str, source: str, *, source_language: str | None = None, target: str | None = None
) -> tuple[str, dict[str, str]]:
    """(the translation in ``answer``, what was cut from around it): :func:`screen_chatter`
    without the chatter it could not cut."""
    found = screen_chatter(answer, source, source_language=source_language, target=target)
    return found.text, found.removed


def clean_translation(answer: str, source: str | None = None) -> str:
    """The translation out of an answer: white space and copied separator lines stripped; with
    ``source`` (the text sent), also the chatter around it (:func:`split_chatter`)."""
    if source is None:
        return cut_separators(answer)
    return split_chatter(answer, source)[0]
