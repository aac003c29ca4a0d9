"""Calibration pairs from data this project did not write, read from a path at calibration time.

Nothing here ships benchmark text: the loaders read public benchmark files where the user
keeps them and build labelled pairs in memory (``tagengo dedup --calibrate --heldout ...``).

* **post-edits** (kind ``post_edit``, the same request): MT-Bench-X keeps, per language, the
  machine translation (``question_original.jsonl``) beside its human post-edit
  (``question.jsonl``); every turn that the post-edit changed is a pair.
* **independent translations** (kind ``translation``, the same request): two FastChat-layout
  ``question.jsonl`` files translating the same questions into one language (MT-Bench-X's
  ``mt_bench_DE`` and a multilingual MT-Bench fork's ``de_mt_bench``), paired by question
  number and turn.
* **near misses** (kind ``near_miss``, another request): built from each question turn by
  changing what it asks for: the number it asks for, the target language (a language named
  in it swapped, or, in every fourth turn that names none, an answer language added), a named
  entity swapped, or the object swapped (word lists below, written for this project).
* **surface perturbations** (kind ``surface``, the same request): case, trailing punctuation
  or whitespace (every fourth turn, one of the three in turn).

Each pair carries ``qid`` (the question number) and ``split``: ``tune`` or ``held_out``.
Only the German and French pairs with an even question number are tuned on; every other pair
(odd numbers, and all other languages and sources) is held out.

Every near miss built here changes one slot of the question (a *swap*, tagengo.dedup.request),
so the held-out sets hold no near miss that differs in two places. The request check treats
those (*spread* differences) on their own ratio, so :func:`written_near_misses` adds, to the
tuning part, near misses written for this project that change two slots ("a short poem about
autumn" / "a short story about spring") or add one ("a poem" / "a funny poem"), in seven
languages (``tagengo/data/calibration/near_miss_written.jsonl``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: Languages whose even-numbered questions are the tuning part (the issue's German and French).
TUNE_LANGUAGES = ("de", "fr")

#: Objects to swap for near misses, per language: (word, replacement). Written for this project.
OBJECTS: dict[str, list[tuple[str, str]]] = {
    "en": [("poem", "story"), ("email", "letter"), ("blog", "newspaper"), ("essay", "report"), ("function", "class"),
           ("song", "poem"), ("speech", "sermon"), ("table", "chart"), ("story", "poem"), ("letter", "email"),
           ("article", "report"), ("program", "script"), ("dialogue", "monologue"), ("sentence", "paragraph"),
           ("paragraph", "sentence"), ("movie", "book"), ("book", "movie"), ("array", "linked list"), ("tree", "graph")],
    "de": [("Gedicht", "Geschichte"), ("E-Mail", "Brief"), ("Blog-Beitrag", "Zeitungsartikel"), ("Aufsatz", "Bericht"),
           ("Funktion", "Klasse"), ("Lied", "Gedicht"), ("Rede", "Predigt"), ("Tabelle", "Grafik"), ("Geschichte", "Gedicht"),
           ("Brief", "E-Mail"), ("Artikel", "Bericht"), ("Programm", "Skript"), ("Dialog", "Monolog"), ("Satz", "Absatz"),
           ("Absatz", "Satz"), ("Film", "Buch"), ("Buch", "Film"), ("Array", "verkettete Liste"), ("Baum", "Graph")],
    "fr": [("poème", "conte"), ("e-mail", "lettre"), ("blog", "journal"), ("essai", "rapport"), ("fonction", "classe"),
           ("chanson", "poème"), ("discours", "sermon"), ("tableau", "graphique"), ("histoire", "poème"), ("lettre", "e-mail"),
           ("article", "rapport"), ("programme", "script"), ("dialogue", "monologue"), ("phrase", "paragraphe"),
           ("paragraphe", "phrase"), ("film", "livre"), ("livre", "film"), ("arbre", "graphe")],
    "es": [("poema", "cuento"), ("correo", "carta"), ("blog", "periódico"), ("ensayo", "informe"), ("función", "clase"),
           ("canción", "poema"), ("discurso", "sermón"), ("tabla", "gráfica"), ("historia", "poema"), ("carta", "correo"),
           ("artículo", "informe"), ("programa", "guion"), ("diálogo", "monólogo"), ("frase", "párrafo"),
           ("párrafo", "frase"), ("película", "libro"), ("libro", "película"), ("árbol", "grafo")],
    "it": [("poesia", "racconto"), ("email", "lettera"), ("blog", "giornale"), ("saggio", "rapporto"), ("funzione", "classe"),
           ("canzone", "poesia"), ("discorso", "sermone"), ("tabella", "grafico"), ("storia", "poesia"), ("lettera", "email"),
           ("articolo", "rapporto"), ("programma", "script"), ("dialogo", "monologo"), ("frase", "paragrafo"),
           ("paragrafo", "frase"), ("film", "libro"), ("libro", "film"), ("albero", "grafo")],
}  # fmt: skip

#: Named entities to swap: any of these found in a question is replaced by the next one.
ENTITIES = ("Hawaii", "Japan", "Paris", "London", "Python", "Java", "Einstein", "Newton", "Amazon", "Google",
            "Apple", "Microsoft", "Tesla", "Shakespeare", "Harry Potter", "Star Wars", "Tokyo", "Berlin",
            "Rome", "Madrid", "Beethoven", "Mozart", "Iron Man", "Superman", "C++", "JavaScript")  # fmt: skip

#: A target language to add to a question that names none, and language names to swap, per
#: language: (sentence asking for an answer in another language, {name: other name}).
LANGUAGE_SWAPS: dict[str, tuple[str, dict[str, str]]] = {
    "en": ("Answer in French.", {"English": "German", "German": "English", "French": "Spanish", "Spanish": "French"}),
    "de": ("Antworte auf Französisch.", {"Englisch": "Deutsch", "Deutsch": "Englisch", "Französisch": "Spanisch", "Spanisch": "Französisch"}),
    "fr": ("Réponds en allemand.", {"anglais": "allemand", "allemand": "anglais", "français": "espagnol", "espagnol": "français"}),
    "es": ("Responde en alemán.", {"inglés": "alemán", "alemán": "inglés", "francés": "español", "español": "francés"}),
    "it": ("Rispondi in tedesco.", {"inglese": "tedesco", "tedesco": "inglese", "francese": "spagnolo", "spagnolo": "francese"}),
    "ja": ("フランス語で答えてください。", {"英語": "ドイツ語", "日本語": "英語"}),
    "zh": ("请用法语回答。", {"英语": "德语", "中文": "英语"}),
    "ru": ("Ответь на французском.", {"английский": "немецкий", "русский": "английский"}),
}  # fmt: skip

_NUM = re.compile(r"(?<![\d.,])\d+(?![\d])")


def read_questions(path: str | Path) -> dict[int, list[str]]:
    """A FastChat-layout question file: question number -> its turns. Question ids such as
    ``81_DE`` count by their number."""
    out: dict[int, list[str]] = {}
    with Path(path).open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                qid = int(str(row["question_id"]).split("_")[0])
                turns = [str(t) for t in row["turns"]]
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}:{n}: not a FastChat question line ({exc})") from exc
            out[qid] = turns
    return out


def split_of(lang: str, qid: int, source: str) -> str:
    """``tune`` for even-numbered German and French questions, else ``held_out``."""
    return "tune" if lang in TUNE_LANGUAGES and qid % 2 == 0 else "held_out"


def _pair(lang: str, kind: str, a: str, b: str, qid: int, source: str, how: str = "") -> dict[str, Any]:
    return {"lang": lang, "kind": kind, "a": a, "b": b, "qid": qid, "source": source, "how": how,
            "split": split_of(lang, qid, source)}  # fmt: skip


def post_edit_pairs(mtbench_x: str | Path) -> list[dict[str, Any]]:
    """Machine translation vs post-edit, per changed turn, for every ``mt_bench_XX`` folder
    under ``mtbench_x`` (the repository root or its ``data`` folder) that has both files."""
    root = Path(mtbench_x)
    if (root / "data").is_dir():
        root = root / "data"
    out = []
    for folder in sorted(root.glob("mt_bench_*")):
        lang = folder.name.rsplit("_", 1)[-1].lower()
        mt, post = folder / "question_original.jsonl", folder / "question.jsonl"
        if not (mt.is_file() and post.is_file()):
            continue
        a, b = read_questions(mt), read_questions(post)
        for qid in sorted(a.keys() & b.keys()):
            for x, y in zip(a[qid], b[qid]):
                if x.strip() != y.strip():
                    out.append(_pair(lang, "post_edit", x, y, qid, "mt-bench-x"))
    return out


def translation_pairs(
    lang: str, first: str | Path, second: str | Path, source: str = "translations"
) -> list[dict[str, Any]]:
    """Two independent translations of the same questions, paired by number and turn."""
    a, b = read_questions(first), read_questions(second)
    return [
        _pair(lang, "translation", x, y, qid, source)
        for qid in sorted(a.keys() & b.keys())
        for x, y in zip(a[qid], b[qid])
        if x.strip() != y.strip()
    ]


def _swap_word(text: str, word: str, other: str) -> str | None:
    m = re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, flags=re.IGNORECASE)
    if m is None:
        return None
    found = m.group()
    rep = other[0].upper() + other[1:] if found[:1].isupper() and other[:1].islower() else other
    return text[: m.start()] + rep + text[m.end() :]


def near_miss_variants(text: str, lang: str, add_language: bool = True) -> list[tuple[str, str]]:
    """(how, changed text) for each way this turn can be made another request (module doc).
    ``add_language``: when the turn names no language, add a sentence asking for another one."""
    out: list[tuple[str, str]] = []
    m = _NUM.search(text)
    if m:
        n = int(m.group())
        new = n * 2 if n >= 2 else n + 3
        out.append(("number", text[: m.start()] + str(new) + text[m.end() :]))
    add, names = LANGUAGE_SWAPS.get(lang, LANGUAGE_SWAPS["en"])
    for name, other in names.items():
        swapped = _swap_word(text, name, other)
        if swapped:
            out.append(("language", swapped))
            break
    else:
        if add_language:
            sep = "" if lang in ("ja", "zh") else " "
            out.append(("language", text.rstrip() + sep + add))
    for i, ent in enumerate(ENTITIES):
        swapped = _swap_word(text, ent, ENTITIES[(i + 1) % len(ENTITIES)])
        if swapped:
            out.append(("entity", swapped))
            break
    for word, other in OBJECTS.get(lang, []):
        swapped = _swap_word(text, word, other)
        if swapped:
            out.append(("object", swapped))
            break
    return out


def near_miss_pairs(questions: dict[int, list[str]], lang: str, source: str) -> list[dict[str, Any]]:
    return [
        _pair(lang, "near_miss", t, changed, qid, source, how)
        for qid, turns in sorted(questions.items())
        for k, t in enumerate(turns)
        for how, changed in near_miss_variants(t, lang, add_language=(qid + k) % 4 == 1)
    ]


def surface_variants(text: str) -> list[tuple[str, str]]:
    stripped = text.rstrip()
    punct = stripped[:-1] if stripped[-1:] in ".?!。？！" else stripped + "."
    return [
        ("lower case", text.lower()),
        ("punctuation", punct),
        ("whitespace", "  " + re.sub(r" ", "  ", text, count=3) + " \n"),
    ]


def surface_pairs(questions: dict[int, list[str]], lang: str, source: str) -> list[dict[str, Any]]:
    return [
        _pair(lang, "surface", t, changed, qid, source, how)
        for qid, turns in sorted(questions.items())
        for k, t in enumerate(turns)
        if (qid + k) % 4 == 0
        for how, changed in [surface_variants(t)[(qid + k) // 4 % 3]]
        if changed != t
    ]


def written_near_misses() -> list[dict[str, Any]]:
    """The shipped near misses that change two slots or add one (module doc), as tuning pairs."""
    from tagengo.dedup.calibration import KINDS, calibration_dir
    from tagengo.io.text import read_labelled_jsonl

    rows = read_labelled_jsonl(
        calibration_dir() / "near_miss_written.jsonl", ("lang", "kind", "a", "b"), KINDS
    )
    return [
        _pair(r["lang"], r["kind"], r["a"], r["b"], -1, "written", "two slots") | {"split": "tune"}
        for r in rows
    ]


def mtbench_sets(
    mtbench_x: str | Path | None = None, translations: Iterable[tuple[str, str, str]] = ()
) -> list[dict[str, Any]]:
    """Every kind of pair from MT-Bench-X (post-edits; near misses and surface perturbations of
    its post-edited questions) and from ``translations``: (language, file, file) of independent
    translations (near misses of the second file's questions too, for languages MT-Bench-X lacks)."""
    pairs: list[dict[str, Any]] = []
    covered = set()
    if mtbench_x is not None:
        pairs += post_edit_pairs(mtbench_x)
        root = Path(mtbench_x)
        root = root / "data" if (root / "data").is_dir() else root
        for folder in sorted(root.glob("mt_bench_*")):
            lang = folder.name.rsplit("_", 1)[-1].lower()
            if (folder / "question.jsonl").is_file():
                q = read_questions(folder / "question.jsonl")
                pairs += near_miss_pairs(q, lang, "mt-bench-x")
                pairs += surface_pairs(q, lang, "mt-bench-x")
                covered.add(lang)
    for lang, first, second in translations:
        pairs += translation_pairs(lang, first, second)
        if lang not in covered:
            q = read_questions(second)
            pairs += near_miss_pairs(q, lang, "translations")
            pairs += surface_pairs(q, lang, "translations")
            covered.add(lang)
    return pairs
