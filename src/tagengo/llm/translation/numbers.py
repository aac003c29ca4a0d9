"""Do the numbers of a translation agree with its source's?

A translator that turns MT-Bench's ``(3, 3)`` into ``(3, 5)`` writes fluent text in the right
language at the right length: language ID, the length ratio and the protected spans all pass
it. This check reads the numbers written in digits on both sides and requires the two
multisets to agree, allowing what a correct translation may change:

* digits of any script count as their value: full-width ``３``, Arabic-Indic ``٣``, Persian
  ``۳``, Devanagari ``३`` (every Unicode decimal digit);
* locale formatting: ``1,000.5``, ``1.000,5``, ``1 000,5`` (plain, no-break or thin space),
  ``1'000.5``, ``١٬٠٠٠٫٥``, Indian grouping ``1,00,000``; where a token reads two ways
  (``1,000`` is a thousand in English, one in German) either reading may match, and digits
  grouped by a plain space may also be two numbers (``5 100-page books``);
* a number with a scale word may be written at another scale: ``1.5 million`` = ``150万`` =
  ``15 लाख`` = ``1,5 Millionen`` (the value with and without the scale word both count);
* dates and times keep their numbers in another order or with other separators
  (``03/12/2024`` = ``12.03.2024`` = ``2024年3月12日``; a token with dots that reads as no
  number, like a date or a version ``1.2.3``, counts as its parts);
* numbers written as words are not required to match digits: a digit number missing on one
  side is forgiven when the other side spells its value with a number word of its language
  (``three apples`` = ``3 Äpfel``, ``3 eggs`` = ``drei Eier``; English, German, French,
  Italian, Spanish, Portuguese, Dutch words, Chinese and Japanese numerals).

Signs are ignored (``-5``, ``−5`` and ``minus 5`` are all 5), and so are digits inside the
translator's markers (``⟦0⟧``). What a correct translation may not do: change a value,
drop or add one, turn ``3:30 PM`` into ``15:30`` or a month name into its number (``March 3``
comes back ``3. März``, not ``3.3.``). Those are reported with the numbers as written
(``missing 3; added 5``) and the row is rejected.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

# Separators inside a number. "." and "," (and their full-width forms) may group digits or
# mark the decimals; apostrophes, the Arabic thousands separator and the spaces used to group
# digits only group them; the Arabic decimal separator only marks decimals.
_DOT, _COMMA = ".．", ",，"
_GROUP_ONLY = "'’٬\u00a0\u202f\u2009 "
_DECIMAL_ONLY = "٫"
_SEPS = _DOT + _COMMA + _GROUP_ONLY + _DECIMAL_ONLY
_SPLIT = re.compile(f"[{re.escape(_SEPS)}]")
# A run of digits (any script) joined by single separators, each followed by a digit. A plain
# space joins only a group of exactly three digits (``1 000``), so ``(3, 5)`` or ``3 5`` stay two.
_NUMBER = re.compile(r"\d+(?:(?:[.．,，'’٬٫\u00a0\u202f\u2009]| (?=\d{3}(?!\d)))\d+)*")
_MARKER = re.compile(r"⟦\d+⟧")

#: Scale words that may follow a number (after a space or none), with their factor.
_SCALES: dict[str, int] = {
    **dict.fromkeys(["thousand", "tausend", "mille", "mila", "mil", "duizend", "k"], 10**3),
    **dict.fromkeys(
        ["million", "millions", "mio", "millionen", "milione", "milioni", "millón", "millones",
         "milhão", "milhões", "miljoen", "m"],
        10**6,
    ),
    **dict.fromkeys(
        ["billion", "billions", "bn", "milliarde", "milliarden", "milliard", "milliards", "miliardo",
         "miliardi", "mil millones", "bilhão", "bilhões", "miljard", "mrd"],
        10**9,
    ),
    **dict.fromkeys(["हज़ार", "हजार", "ألف", "آلاف"], 10**3),  # Hindi hazaar, Arabic alf
    **dict.fromkeys(["लाख", "lakh", "lakhs"], 10**5),
    **dict.fromkeys(["करोड़", "करोड", "crore", "crores"], 10**7),
    **dict.fromkeys(["مليون", "ملايين"], 10**6),
    **dict.fromkeys(["مليار", "مليارات"], 10**9),
}  # fmt: skip
#: Chinese and Japanese units, written right after the digits (``1万``, ``3千円``).
_CJK_SCALES = {"百": 10**2, "千": 10**3, "万": 10**4, "萬": 10**4, "億": 10**8, "亿": 10**8, "兆": 10**12}
_SCALE = re.compile(
    r"(?: ?(" + "|".join(sorted(map(re.escape, _SCALES), key=len, reverse=True)) + r")(?![^\W\d_])"
    r"|([" + "".join(_CJK_SCALES) + "]))",
    re.I,
)

#: Number words per language (one value each): a digit number missing on one side is forgiven
#: when the other side spells its value with one of these. Cardinals up to twenty, the tens
#: translators spell out, and the first ordinals ("first step" = "1. Schritt").
_WORDS: dict[str, dict[str, int]] = {
    "en": {
        "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
        "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
        "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
        "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
        "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000, "dozen": 12,
        "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
    },
    "de": {
        "null": 0, "ein": 1, "eine": 1, "eins": 1, "einen": 1, "einem": 1, "einer": 1, "eines": 1,
        "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9,
        "zehn": 10, "elf": 11, "zwölf": 12, "dreizehn": 13, "vierzehn": 14, "fünfzehn": 15,
        "sechzehn": 16, "siebzehn": 17, "achtzehn": 18, "neunzehn": 19, "zwanzig": 20,
        "dreißig": 30, "vierzig": 40, "fünfzig": 50, "sechzig": 60, "siebzig": 70, "achtzig": 80,
        "neunzig": 90, "hundert": 100, "tausend": 1000, "dutzend": 12, "erste": 1, "ersten": 1,
        "erster": 1, "zweite": 2, "zweiten": 2, "dritte": 3, "dritten": 3,
    },
    "fr": {
        "zéro": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6,
        "sept": 7, "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13,
        "quatorze": 14, "quinze": 15, "seize": 16, "vingt": 20, "trente": 30, "quarante": 40,
        "cinquante": 50, "soixante": 60, "cent": 100, "mille": 1000, "douzaine": 12,
        "premier": 1, "première": 1, "deuxième": 2, "second": 2, "seconde": 2, "troisième": 3,
    },
    "it": {
        "zero": 0, "uno": 1, "una": 1, "un": 1, "due": 2, "tre": 3, "quattro": 4, "cinque": 5,
        "sei": 6, "sette": 7, "otto": 8, "nove": 9, "dieci": 10, "undici": 11, "dodici": 12,
        "tredici": 13, "quattordici": 14, "quindici": 15, "sedici": 16, "venti": 20,
        "trenta": 30, "quaranta": 40, "cinquanta": 50, "cento": 100, "mille": 1000,
        "dozzina": 12, "primo": 1, "prima": 1, "secondo": 2, "seconda": 2, "terzo": 3, "terza": 3,
    },
    "es": {
        "cero": 0, "uno": 1, "una": 1, "un": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
        "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12,
        "trece": 13, "catorce": 14, "quince": 15, "dieciséis": 16, "veinte": 20, "treinta": 30,
        "cuarenta": 40, "cincuenta": 50, "cien": 100, "ciento": 100, "mil": 1000, "docena": 12,
        "primero": 1, "primera": 1, "primer": 1, "segundo": 2, "segunda": 2, "tercero": 3,
        "tercera": 3, "tercer": 3,
    },
    "pt": {
        "zero": 0, "um": 1, "uma": 1, "dois": 2, "duas": 2, "três": 3, "quatro": 4, "cinco": 5,
        "seis": 6, "sete": 7, "oito": 8, "nove": 9, "dez": 10, "onze": 11, "doze": 12,
        "vinte": 20, "trinta": 30, "quarenta": 40, "cinquenta": 50, "cem": 100, "cento": 100,
        "mil": 1000, "dúzia": 12, "primeiro": 1, "primeira": 1, "segundo": 2, "segunda": 2,
        "terceiro": 3, "terceira": 3,
    },
    "nl": {
        "nul": 0, "een": 1, "één": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6,
        "zeven": 7, "acht": 8, "negen": 9, "tien": 10, "elf": 11, "twaalf": 12, "twintig": 20,
        "dertig": 30, "veertig": 40, "vijftig": 50, "honderd": 100, "duizend": 1000,
        "eerste": 1, "tweede": 2, "derde": 3,
    },
}  # fmt: skip
_WORD = re.compile(r"[^\W\d_]+")
_CJK_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
_CJK_UNITS = {"十": 10, "百": 100, "千": 1000}
_CJK_RUN = re.compile("[" + "".join(_CJK_DIGITS) + "".join(_CJK_UNITS) + "]+")
_CJK_LANGUAGES = frozenset({"zh", "ja", "yue", "wuu", "lzh"})


@dataclass(frozen=True)
class Number:
    """One number as written (``text``), the values it may stand for and, for digits grouped
    by a plain space (``5 100``), the numbers it is when the space separates two (``parts``)."""

    text: str
    values: frozenset[Decimal]
    parts: tuple[Number, ...] = field(default=())


def _ascii_digits(token: str) -> str:
    """Every decimal digit of any script as ASCII; other characters as they are."""
    if token.isascii():
        return token
    out = []
    for ch in token:
        d = unicodedata.decimal(ch, None)
        out.append(str(d) if d is not None else ch)
    return "".join(out)


def _int(text: str) -> Decimal:
    return Decimal(_ascii_digits(text)).normalize()


def _grouped(groups: list[str]) -> bool:
    """Do these digit groups form a grouped integer: 1,234,567 (threes) or 12,34,567 (Indian)?"""
    if len(groups) == 1:
        return True
    first, middle, last = groups[0], groups[1:-1], groups[-1]
    if not 1 <= len(first) <= 3 or first[0] == "0" or len(last) != 3:
        return False
    return all(len(g) == 3 for g in middle) or (len(first) <= 2 and all(len(g) == 2 for g in middle))


def _value(int_groups: list[str], frac: str | None) -> Decimal | None:
    if not _grouped(int_groups):
        return None
    try:
        return Decimal("".join(int_groups) + ("." + frac if frac else "")).normalize()
    except InvalidOperation:
        return None


def _sep_kind(sep: str) -> str:
    return "." if sep in _DOT else "," if sep in _COMMA else "d" if sep in _DECIMAL_ONLY else "g"


def readings(token: str) -> frozenset[Decimal]:
    """The values a number as written may stand for; empty when it reads as no number.

    Each separator either groups digits or marks the decimals: the token stands for every
    value one such choice makes well-formed (grouping separators all alike, groups of three or
    Indian groups, one decimal separator, last)."""
    token = _ascii_digits(token)
    groups, seps = _SPLIT.split(token), _SPLIT.findall(token)
    if not seps:
        return frozenset({Decimal(token).normalize()})
    found: set[Decimal] = set()
    kinds = [_sep_kind(s) for s in seps]
    # Every separator groups digits (1,000,000; 1.000.000; 1 000 000; 1,00,000).
    if "d" not in kinds and len(set(seps)) == 1 and (v := _value(groups, None)) is not None:
        found.add(v)
    # The last separator marks the decimals; the others (if any) group digits, all alike and
    # unlike it (1,000.5; 1.000,5; 1 000,5; 3.5; 3,5).
    last, rest = seps[-1], seps[:-1]
    if (
        kinds[-1] != "g"
        and len(set(rest)) <= 1
        and last not in rest
        and (v := _value(groups[:-1], groups[-1])) is not None
    ):
        found.add(v)
    return frozenset(found)


def numbers(text: str) -> list[Number]:
    """The numbers written in digits in ``text`` (markers ``⟦n⟧`` left out), in order."""
    text = _MARKER.sub(" ", text)
    out: list[Number] = []
    for m in _NUMBER.finditer(text):
        token = m.group(0)
        values = readings(token)
        if not values:  # a date, a time with dots, a version: each part is a number of its own
            out.extend(Number(part, frozenset({_int(part)})) for part in _SPLIT.split(token) if part)
            continue
        if scale := _SCALE.match(text, m.end()):
            word = scale.group(1)
            factor = _SCALES[word.lower()] if word else _CJK_SCALES[scale.group(2)]
            values = values | {(v * factor).normalize() for v in values}
        parts: tuple[Number, ...] = ()
        if " " in token:  # "5 100-page books": two numbers, or the French "5 100"
            parts = tuple(n for piece in token.split(" ") for n in numbers(piece))
        out.append(Number(token, values, parts))
    return out


def _cjk_value(run: str) -> int:
    """The value of a run of Chinese/Japanese numerals: 十二 = 12, 二十五 = 25, 三百 = 300,
    二〇二四 = 2024 (digit by digit when there is no unit)."""
    if not any(ch in _CJK_UNITS for ch in run):
        return int("".join(str(_CJK_DIGITS[ch]) for ch in run))
    total = current = 0
    for ch in run:
        if ch in _CJK_UNITS:
            total += (current or 1) * _CJK_UNITS[ch]
            current = 0
        else:
            current = _CJK_DIGITS[ch]
    return total + current


def word_values(text: str, language: str | None) -> list[Decimal]:
    """The values spelt by number words of ``language`` in ``text``, one per word (a run of
    Chinese/Japanese numerals is one word)."""
    code = (language or "").split("-")[0].lower()
    found: list[Decimal] = []
    if table := _WORDS.get(code):
        found.extend(Decimal(table[w]) for w in _WORD.findall(text.lower()) if w in table)
    if code in _CJK_LANGUAGES:
        found.extend(Decimal(_cjk_value(run)) for run in _CJK_RUN.findall(text))
    return found


def _match(left: list[frozenset[Decimal]], right: list[frozenset[Decimal]]) -> list[int]:
    """A maximum matching (Kuhn's augmenting paths): for each left item the index of its right
    partner, or -1. Two items may pair when their value sets share a value."""
    owner = [-1] * len(right)
    edges = [[j for j, r in enumerate(right) if values & r] for values in left]

    def augment(i: int, seen: set[int]) -> bool:
        for j in edges[i]:
            if j not in seen:
                seen.add(j)
                if owner[j] == -1 or augment(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    for i in range(len(left)):
        augment(i, set())
    partner = [-1] * len(left)
    for j, i in enumerate(owner):
        if i != -1:
            partner[i] = j
    return partner


def _covered(
    required: list[frozenset[Decimal]], other: list[frozenset[Decimal]], words: Iterable[Decimal]
) -> bool:
    """Can every required number pair with a number of ``other`` or a spare word value?"""
    return -1 not in _match(required, other + [frozenset({w}) for w in words])


#: Most ways of reading the numbers grouped by a plain space that are tried (2^n for n of them).
_MAX_SPLITS = 6


def _ways(found: list[Number]) -> Iterable[list[Number]]:
    """The number lists ``found`` may be: as read, then with plain-space groups split apart."""
    ambiguous = [i for i, n in enumerate(found) if n.parts][:_MAX_SPLITS]
    for choice in itertools.product((False, True), repeat=len(ambiguous)):
        split = {i for i, c in zip(ambiguous, choice, strict=True) if c}
        yield [p for i, n in enumerate(found) for p in (n.parts if i in split else (n,))]


def number_problem(
    source: str, translation: str, source_language: str | None = None, target_language: str | None = None
) -> str | None:
    """None when the digit numbers of ``source`` and ``translation`` agree (see the module
    doc), else what differs, the numbers as written: ``missing 3; added 5``."""
    src, tgt = numbers(source), numbers(translation)
    if not src and not tgt:
        return None
    src_words: list[Decimal] | None = None
    tgt_words: list[Decimal] | None = None
    for s_way in _ways(src):
        for t_way in _ways(tgt):
            sv, tv = [n.values for n in s_way], [n.values for n in t_way]
            if len(sv) == len(tv) and -1 not in _match(sv, tv):
                return None
            # Numbers left unpaired may be spelt as words on the other side. Each side covered
            # on its own is enough: a matching that covers both then exists (Mendelsohn-Dulmage;
            # the words are spares on either side).
            if tgt_words is None:
                src_words = word_values(source, source_language)
                tgt_words = word_values(translation, target_language)
            if _covered(sv, tv, tgt_words) and _covered(tv, sv, src_words or []):
                return None
    partner = _match([n.values for n in src], [n.values for n in tgt])
    used = set(partner)
    missing = [n.text for n, p in zip(src, partner, strict=True) if p == -1]
    added = [n.text for j, n in enumerate(tgt) if j not in used]
    return (
        "; ".join(
            part
            for part in (
                "missing " + ", ".join(missing) if missing else "",
                "added " + ", ".join(added) if added else "",
            )
            if part
        )
        or "numbers differ"
    )
