"""Polarity: is a prompt's statement negated? One side negated and the other not is another
request ("Why is the sky blue?" / "Why isn't the sky blue?", "Ist Kaffee gesund?" / "… ungesund?").

Sentence embeddings barely register a negation: with the bundled multilingual-e5-small "Warum
funktioniert mein Drucker?" / "… nicht?" sit at a cosine far closer than replacing one noun of
either by "Tisch" would put them, so the substitution ratio of the request check (a negation is a
differing content word there) came out at 0.28-0.41 and merged them as a rewording (a newcomer's
trial, 2026-12-07: en, de, fr, es, it, pt, ru, ja, zh). So negation is counted here, without a
model, and compared as a hard stop. Only the count of negated clauses is compared: a negation
said on both sides, in other words ("nicht"/"kein", "not"/"never"), is the same polarity.
Word lists written for this project.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: Words that negate a clause, per language, accents dropped, lower case. French "ne … pas" is
#: one negation: see :data:`_FR_SECOND`. Italian "mai" is left out: without "non" it is "ever"
#: ("Hai mai visto …?"). Words that also say a number 0 ("kein", "none") are here; one that
#: answers a 0 on the other side ("keine" / "null") does not count (:func:`polarity_differs`).
NEGATORS: dict[str, frozenset[str]] = {
    "en": frozenset(["not", "no", "never", "nothing", "nobody", "neither", "nor", "cannot", "without", "none"]),
    "de": frozenset(["nicht", "kein", "keine", "keinen", "keinem", "keiner", "keines", "keinerlei", "nie", "niemals",
                     "nichts", "niemand", "ohne", "weder"]),
    "fr": frozenset(["ne", "sans", "jamais", "pas", "aucun", "aucune"]),
    "es": frozenset(["no", "nunca", "jamas", "ningun", "ninguno", "ninguna", "nada", "nadie", "sin", "ni"]),
    "it": frozenset(["non", "no", "nessun", "nessuno", "nessuna", "niente", "nulla", "senza", "ne"]),
    "pt": frozenset(["nao", "nunca", "jamais", "nenhum", "nenhuma", "nada", "ninguem", "sem", "nem"]),
    "nl": frozenset(["niet", "geen", "nooit", "niets", "niemand", "zonder"]),
    "ru": frozenset(["не", "нет", "никогда", "ничего", "никто", "ни", "без"]),
}  # fmt: skip
#: Rows without a language (none given, none guessed): the words of every list that negate in
#: all the languages that write them. Left out: French "ne" (an Italian pronoun), "pas" (Dutch
#: "only"), "sin" and "sem" (English and other words), "ni" (a Chinese or Slavic syllable).
_ANY = frozenset().union(*NEGATORS.values()) - {"ne", "pas", "sin", "sem", "ni"}
#: French: the second part of "ne … pas" ("ne … jamais", "n'… aucun") is the same negation as its
#: "ne" when it follows one within a few words; alone (spoken "je sais pas") it negates itself.
_FR_SECOND = frozenset(["pas", "jamais", "aucun", "aucune", "rien", "personne", "plus", "guere", "point"])
#: Negative concord: a negation word that follows another within this many words of the same
#: clause is the same negation ("no … ningún color", "non … niente", "не … никогда", "neither …
#: nor"), in every language.
REACH = 6
_CLAUSE_END = re.compile(r"[.,;:!?\n。，；！？]")
#: Italian "né" loses its accent and would read as "ne" (a pronoun, "ne parla"): only the
#: accented form negates.
_ACCENTED_ONLY = {"it": {"ne": "né"}}
#: Scripts without spaces: negation as written. Japanese ない/ません/なかった/ず after a verb (not
#: the adjectives 少ない "few", 危ない "dangerous"), Chinese 不/没/别/未 (not in words that no
#: longer negate: 不过 "however", 不同 "different", 不错 "good", 不仅 "not only", 不少 "many",
#: 不断, 不久, 不管, 不论, 不如, 没关系; nor the question form 能不能, 是不是, 要不要: X不X).
_JA_NEG = re.compile(r"(?<![少危幼汚切])ない|ません|なかった|(?<![必])ずに")
_ZH_NEG = re.compile(r"不(?![过過同错錯仅僅少断斷久管论論如])|没(?!关系|關係)|别(?![人的])|未(?![来來])")
_ZH_QUESTION = re.compile(r"(.)不\1")
#: Prefixes that negate the word they stand on, per language: "gesund"/"ungesund",
#: "legal"/"illegal", "possible"/"impossible", "честный"/"нечестный". Read only between two words
#: that differ, the longer being a prefix and the rest of the shorter word (same stem).
PREFIXES: dict[str, tuple[str, ...]] = {
    "en": ("un", "in", "im", "il", "ir", "dis", "non"),
    "de": ("un", "nicht"),
    "fr": ("in", "im", "il", "ir", "de", "des", "dis", "non"),
    "es": ("in", "im", "i", "des", "dis"),
    "it": ("in", "im", "il", "ir", "dis", "s", "non"),
    "pt": ("in", "im", "i", "ir", "des", "dis"),
    "nl": ("on", "niet"),
    "ru": ("не", "без", "бес"),
}  # fmt: skip
#: The rest of the longer word is at least this long: "un"+"do" or "in"+"to" are no negation.
STEM_CHARS = 4


def negations(
    lows: Sequence[str],
    text: str,
    spans: Sequence[tuple[int, int]],
    lang: str | None,
    skip: Sequence[bool] = (),
) -> int:
    """How many negated clauses a prompt has. ``lows``: its words, case folded and accents
    dropped; ``spans``: their places in ``text``; ``skip``: words not read (those inside code,
    where "None" is a value: a machine translation writes "Ninguno" for it)."""
    if lang == "ja":
        return len(_JA_NEG.findall(text))
    if lang == "zh":
        n = len(_ZH_NEG.findall(text)) - len(_ZH_QUESTION.findall(text))
        return max(0, n)
    words = NEGATORS.get(lang, NEGATORS["en"]) if lang else _ANY
    accented = _ACCENTED_ONLY.get(lang or "", {})
    n, last = 0, None
    for i, w in enumerate(lows):
        s, e = spans[i]
        if i < len(skip) and skip[i]:
            continue
        if (
            w == "t"
            and lang in (None, "en")
            and i
            and text[s - 1 : s] in ("'", "’")
            and lows[i - 1].endswith("n")
        ):
            negated = True  # "isn't", "don't"
        elif lang == "fr" and w == "n":
            negated = text[e : e + 1] in ("'", "’")  # "n'ai", not a variable "n"
        elif lang == "fr" and w in _FR_SECOND and w not in words:
            negated = False  # "personne", "rien", "plus" alone
        else:
            negated = w in words and not (w in accented and text[s:e].casefold() != accented[w])
        if not negated:
            continue
        if last is None or i - last > REACH or _CLAUSE_END.search(text[spans[last][1] : s]):
            n += 1  # a new negation; else the same one, said again (concord, "ne … pas")
        last = i
    return n


def prefix_negated(only_a: Sequence[str], only_b: Sequence[str], lang: str | None, stem) -> tuple[int, int]:
    """How many words of each side are a word of the other with a negating prefix
    (:data:`PREFIXES`): "gesund"/"ungesund", "legal"/"illegal". ``only_a``/``only_b``: the words
    (lower case, accents dropped) that each side has and the other lacks; ``stem``: the stemmer
    the words are compared by. Counted with the negation words: "que le disgusten" / "que no le
    gusten" is one polarity (an es post-edit)."""
    prefixes = PREFIXES.get(lang or "", PREFIXES["en"])
    out = []
    for xs, ys in ((only_b, only_a), (only_a, only_b)):
        plain = {w for x in xs if len(x) >= STEM_CHARS for w in (x, stem(x))}
        out.append(
            sum(
                any(
                    y.startswith(p)
                    and len(y) - len(p) >= STEM_CHARS
                    and plain & {y[len(p) :], stem(y[len(p) :])}
                    for p in prefixes
                )
                for y in ys
            )
        )
    return out[0], out[1]
