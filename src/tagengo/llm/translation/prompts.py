"""The translation prompt, written for tagengo. Shared by `tagengo translate` and the two
translation steps of `tagengo reverse` (fragment into English, instruction back).

The request is a pure function of (text, source language, target language) and the
sampling settings, so the request cache replays every finished translation on a re-run.
"""

from __future__ import annotations

import re

from tagengo.lang.languages import code_to_name
from tagengo.llm.translation.protect import MARK_CLOSE, MARK_OPEN

TRANSLATE_SYSTEM = (
    "You are a professional translator. You translate the text the user gives you and reply "
    "with the translation only: no notes, no quotation marks around it, no explanation."
)

TRANSLATE_USER = (
    "Translate the text between the lines from {source} into {target}. Keep its meaning, tone, "
    "formatting, line breaks and Markdown. Markers such as {mark} stand for code, links or "
    "formulas: copy every marker exactly once, unchanged, where it belongs in the sentence.\n"
    "-----\n{text}\n-----"
)


def language_name(code: str | None) -> str:
    """English name of an ISO code ('de' -> 'German'); the code itself if the table lacks it."""
    if not code:
        return "the original language"
    try:
        return code_to_name(code)
    except Exception:
        return code


def translation_messages(text: str, source: str | None, target: str) -> list[dict[str, str]]:
    """Chat messages asking for ``text`` (language ``source``) in ``target`` (ISO codes)."""
    return [
        {"role": "system", "content": TRANSLATE_SYSTEM},
        {
            "role": "user",
            "content": TRANSLATE_USER.format(
                source=language_name(source),
                target=language_name(target),
                mark=f"{MARK_OPEN}0{MARK_CLOSE}",
                text=text,
            ),
        },
    ]


# -- chatter --------------------------------------------------------------------------------------
#
# Translators, told to reply with the translation only, still add a line that announces it
# ("Sure! Here is the German translation:"), a note after it ("Note: I kept the brand name.") or
# quotation marks around it. The language and length checks let most of that through (a German
# translation with one English line is still German, and a few words more), so it would end up
# in the data. What is cut is decided by comparing with the source: a line, a note or quotes
# the source has too are the text, not chatter. Chatter mixed into the sentences is left for
# the language and length checks to decide.

#: "translation" and "translated" in the languages translated to and from most (a line that
#: announces a translation names it).
_TRANSLATION_WORDS = (
    r"translation|translated|übersetzung|übersetzt|traduction|traduit|traduzione|tradott[oa]|"
    r"traducción|traducid[oa]|tradução|traduzid[oa]|vertaling|vertaald|översättning|oversættelse|"
    r"oversettelse|käännös|tłumaczenie|překlad|preklad|prijevod|превод|перевод|переклад|çeviri|"
    r"terjemahan|bản dịch|μετάφραση|תרגום|ترجمة|अनुवाद|แปล|"
    r"翻訳|訳文|日本語訳|英訳|和訳|翻译|译文|翻譯|譯文|번역"
)
#: "Here is" and its kin, which open an announcement in the same languages.
_HERE_IS = (
    r"here is|here's|here are|below is|hier ist|hier sind|hier die|voici|voilà|ecco|aquí está|"
    r"aquí tienes|a continuación|aqui está|aqui vai|segue|以下(?:は|が|に|是|为|為)|下面是|다음은"
)
_TRANSLATION = re.compile(_TRANSLATION_WORDS, re.I)
_ANNOUNCE = re.compile(rf"{_TRANSLATION_WORDS}|{_HERE_IS}", re.I)
_HERE_IS_TRANSLATION = re.compile(rf"(?:{_HERE_IS}).{{0,60}}?(?:{_TRANSLATION_WORDS})", re.I)
_COLONS = (":", "：")
_MARKUP = " \t*_`#>"
#: "Sure!", "Certainly.", "Gerne!": a short first line that may stand before the announcement.
_INTERJECTION = re.compile(r"^[^\n]{1,30}[!.。！]$")

#: Words that open a translator's note: "Note:", "Translator's note:", "Anmerkung:", "Remarque :",
#: "Nota:", "注:", "注意：", "訳注：" ... (followed by a colon), or "Note that", "Please note".
_NOTE_WORDS = (
    r"(?:translator[’']?s?|translation)\s+notes?|notes?|n\.\s?b\.?|nb|"
    r"anmerkung(?:en)?(?:\s+de[rs]\s+übersetzer(?:s|in)?)?|anm\.(?:\s*d\.\s*ü\.)?|hinweis|"
    r"remarques?|note du traducteur|n\.\s?d\.\s?t\.?|ndt|"
    r"nota(?:\s+del?l?[ao]?\s+tradu(?:ttore|ttrice|ctor|ctora|tor|tora))?|n\.\s?del\s?t\.?|"
    r"observação|obs\.|opmerking|noot|примечание(?:\s+переводчика)?|"
    r"訳注|訳者注|注記|注意|備考|补充|注释|注釋|译注|译者注|备注|備註|说明|說明|注|참고|주"
)
_NOTE = re.compile(
    rf"^[\s*_(\[（>—–-]*(?:(?:{_NOTE_WORDS})[\s*_]*[:：]|note that\b|please note\b|※)",
    re.I,
)
_INLINE_NOTE = re.compile(rf"\s*[(\[（][\s*_]*(?:{_NOTE_WORDS})[\s*_]*[:：][^()\[\]（）]*[)\]）]\s*\Z", re.I)
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
_WIDE = re.compile(r"[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


def _nonblank(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _bare(line: str) -> str:
    return line.strip().strip(_MARKUP).strip()


def _ends_with_colon(line: str) -> bool:
    return _bare(line).endswith(_COLONS)


def _is_label(line: str) -> bool:
    """A line that only names the translation: "Translation", "**German translation:**", "翻訳："."""
    bare = _bare(line).rstrip(":：").strip()
    return bool(_TRANSLATION.search(bare)) and _wide_length(bare) <= 30 and len(bare.split()) <= 4


def _announces(line: str) -> bool:
    """The line says a translation follows: it ends with a colon and names the translation or
    opens with "here is", or it is a label, or a "here is the translation." sentence."""
    if _is_label(line):
        return True
    if _ends_with_colon(line):
        return bool(_ANNOUNCE.search(line))
    return bool(_HERE_IS_TRANSLATION.search(line)) and _bare(line).endswith((".", "!", "。", "！"))


def _wide_length(text: str) -> int:
    """Characters, CJK, kana and hangul counting 3 (as the length checks count them)."""
    return len(text) + 2 * len(_WIDE.findall(text))


def _cut_preamble(text: str, source: str) -> tuple[str, str | None]:
    """``text`` without a first line (or two: "Sure!" then the announcement) that announces the
    translation, when the source has no such line; and what was cut."""
    lines = text.split("\n")
    heads = [i for i, line in enumerate(lines) if line.strip()][:2]
    src_lines = _nonblank(source)
    for n, last in enumerate(heads, 1):
        if n == 2 and not _INTERJECTION.match(lines[heads[0]].strip()):
            break
        head = "\n".join(lines[: last + 1]).strip()
        rest = "\n".join(lines[last + 1 :]).strip()
        if not rest or _wide_length(head) > _MAX_PREAMBLE:
            break
        line = lines[last]
        # The source line in the same place: a translation of it is no preamble.
        src_line = src_lines[n - 1] if len(src_lines) >= n else ""
        src_colon = _ends_with_colon(src_line)
        src_announces = any(_announces(s) or _TRANSLATION.search(s) for s in src_lines[:n])
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
        if _ends_with_colon(line) and lines_kept and not src_colon:
            return rest, head  # a short line ending with a colon that the source did not have
    # On the same line: "Here is the translation: Hallo Welt."
    first = lines[heads[0]] if heads else ""
    src_first = src_lines[0] if src_lines else ""
    cut = min((first.find(c) for c in _COLONS if c in first), default=-1)
    if cut > 0 and not any(c in src_first[:120] for c in _COLONS):
        head, tail = first[: cut + 1], first[cut + 1 :]
        if (
            _TRANSLATION.search(head)
            and _wide_length(head) <= 120
            and tail.strip()
            and not _TRANSLATION.search(src_first)
        ):
            return "\n".join([tail, *lines[heads[0] + 1 :]]).strip(), head.strip()
    return text, None


def _units(text: str) -> list[str]:
    """Paragraphs; a note that starts on a line of its own inside the last paragraph is a unit
    of its own ("Der Text.\\nNote: ...")."""
    paras = [p.strip("\n") for p in re.split(r"\n[ \t]*\n", text) if p.strip()]
    if not paras:
        return []
    last = paras[-1].split("\n")
    for i in range(1, len(last)):
        if _NOTE.match(last[i]):
            return [*paras[:-1], "\n".join(last[:i]), "\n".join(last[i:])]
    return paras


def _trailing_notes(units: list[str]) -> int:
    n = 0
    for unit in reversed(units[1:]):
        if not _NOTE.match(unit):
            break
        n += 1
    return n


def _cut_notes(text: str, source: str) -> tuple[str, str | None]:
    """``text`` without the notes after it that the source did not have; and what was cut."""
    units, src_units = _units(text), _units(source)
    extra = min(_trailing_notes(units) - _trailing_notes(src_units), len(units) - len(src_units))
    cut: list[str] = []
    if extra > 0:
        cut = units[-extra:]
        units = units[:-extra]
        text = "\n\n".join(units)
    # "... der Text. (Note: 'Welt' means world.)" at the end of the last line
    m = _INLINE_NOTE.search(text)
    if m and m.start() > 0 and not _INLINE_NOTE.search(source.strip()):
        cut.insert(0, text[m.start() :].strip())
        text = text[: m.start()].rstrip()
    return text, ("\n\n".join(cut) if cut else None)


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


def _cut_separators(text: str) -> str:
    """``text`` without the separator lines a model sometimes copies from the prompt."""
    lines = text.strip().splitlines()
    while lines and set(lines[0].strip()) <= {"-"} and lines[0].strip():
        lines.pop(0)
    while lines and set(lines[-1].strip()) <= {"-"} and lines[-1].strip():
        lines.pop()
    return "\n".join(lines).strip()


def split_chatter(answer: str, source: str) -> tuple[str, dict[str, str]]:
    """(the translation in ``answer``, what was cut from around it). ``source`` is the text
    that was sent for translation: what it has too is kept.

    Cut, in this order: white space and copied separator lines; a first line that announces
    the translation (``preamble``); notes after the translation (``note``); quotation marks
    around all of it (``quotes``). Each kind of cut is a key of the returned dict, its value
    the text cut ("“”" for quotes)."""
    removed: dict[str, str] = {}
    text = _cut_separators(answer)
    for kind, cut in (("preamble", _cut_preamble), ("note", _cut_notes), ("quotes", _cut_quotes)):
        text, what = cut(text, source)
        if what is not None:
            removed[kind] = what
            text = _cut_separators(text)
    return text, removed


def clean_translation(answer: str, source: str | None = None) -> str:
    """The translation out of an answer: white space and copied separator lines stripped; with
    ``source`` (the text sent), also the chatter around it (:func:`split_chatter`)."""
    if source is None:
        return _cut_separators(answer)
    return split_chatter(answer, source)[0]
