"""Which lingua mode curate's second opinion should use, measured on short prompts no one in the
project wrote (issue 27: lingua's high-accuracy mode loads all five n-gram orders of each language
it is asked about, most of curate's memory).

Reads FastChat-layout question files from the folders given (any ``question.jsonl`` below them
whose folder names its language, as tagengo's bench does: ``de_mt_bench``, ``mt_bench_DE``), cuts
each turn into short prompts (its first 2-8 words, or 4-16 characters for Chinese and Japanese),
and runs curate's language decision (``lang.expect`` with curate's default thresholds) on each:

* labelled right: the prompt with its own language - a rejection is a loss of real data;
* labelled wrong: the same prompt with a neighbouring language's label (es<->it, de<->nl,
  ja<->zh ...) - a keep is a mislabelled row in the data.

Both with lingua in high-accuracy mode (the default before) and in low-accuracy mode (trigrams
only), and the peak RSS of a process holding each mode's models after the run. The folders are
split in two by a hash of the question id (tune / held out): there is nothing to tune in a
two-way choice, so the split only shows whether the figures hold on half the data.

    .venv/bin/python scripts/calibrate_second_opinion.py \
        /work/.mirror/jpacifico+multilingual_mt_bench/repo/fastchat/llm_judge/data \
        /work/.mirror/Modalities+MT-Bench-X/repo/data

(the two folders are checked-out copies of public repositories; nothing of them is shipped).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import resource
import subprocess
import sys
from collections import Counter
from pathlib import Path

from tagengo.lang.bench_names import language_from_bench_name as language_of_folder

NEIGHBOUR = {
    "de": "nl", "nl": "de", "es": "it", "it": "es", "fr": "it", "pl": "cs", "ru": "uk",
    "ja": "zh", "zh": "ja", "id": "ms", "vi": "id", "en": "de",
}  # fmt: skip
CJK = {"ja", "zh"}


def prompts(folders: list[Path]) -> list[tuple[str, str, str]]:
    """(language, split, short prompt) for every turn of every question file below ``folders``."""
    out = []
    for root in folders:
        for qfile in sorted(root.rglob("question.jsonl")):
            lang = language_of_folder(qfile.parent.name)
            if lang is None or lang not in NEIGHBOUR:
                continue
            for line in qfile.read_text(encoding="utf-8").splitlines():
                q = json.loads(line)
                split = "held-out" if hashlib.sha1(str(q["question_id"]).encode()).digest()[0] % 2 else "tune"
                for turn in q["turns"]:
                    text = " ".join(turn.split())
                    if lang in CJK:
                        cuts = [text[:n] for n in (4, 8, 16)]
                    else:
                        words = text.split()
                        cuts = [" ".join(words[:n]) for n in (2, 4, 8)]
                    out += [(lang, split, c) for c in dict.fromkeys(cuts) if re.search(r"\w", c)]
    return out


def run(mode: str, items: list[tuple[str, str, str]]) -> dict:
    from tagengo.lang.langid import LanguageIdentifier, SecondOpinion
    from tagengo.lang.verdict import expect

    lid, second = LanguageIdentifier(), SecondOpinion(low_accuracy=mode == "low")
    tally: Counter = Counter()
    for lang, split, text in items:
        for label, truth in ((lang, True), (NEIGHBOUR[lang], False)):
            v = expect(
                text, label, identifier=lid, threshold=0.8, k=5, settle_on_top=True, top_in_group=True,
                agree_threshold=0.4, second_opinion=second, second_opinion_min=0.5, trust_other_above=0.9,
            )  # fmt: skip
            asked = v.second_opinion is not None
            tally[(split, truth, "n")] += 1
            tally[(split, truth, "wrong")] += v.ok != truth
            tally[(split, truth, "asked")] += asked
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "mode": mode,
        "rss_mib": round(rss),
        "tally": {"|".join(map(str, k)): n for k, n in tally.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--mode", choices=["high", "low"], help=argparse.SUPPRESS)  # one mode, in a child
    args = ap.parse_args()
    items = prompts(args.folders)
    if args.mode:
        print(json.dumps(run(args.mode, items)))
        return
    print(
        f"{len(items):,} short prompts in {len({i[0] for i in items})} languages: {dict(Counter(i[0] for i in items))}"
    )
    for mode in ("high", "low"):  # a process each, so that each RSS holds one mode's models only
        res = json.loads(
            subprocess.run(
                [sys.executable, __file__, *map(str, args.folders), "--mode", mode],
                check=True, capture_output=True, text=True,
            ).stdout
        )  # fmt: skip
        t = Counter({tuple(k.split("|")): n for k, n in res["tally"].items()})
        print(f"\nlingua {mode}-accuracy mode: peak RSS {res['rss_mib']} MiB")
        for split in ("tune", "held-out"):
            right = [t[(split, "True", x)] for x in ("n", "wrong", "asked")]
            wrong = [t[(split, "False", x)] for x in ("n", "wrong", "asked")]
            print(
                f"  {split:>8}: labelled right {right[1]}/{right[0]} rejected ({right[1] / right[0]:.1%}; "
                f"second opinion asked {right[2]}), labelled wrong {wrong[1]}/{wrong[0]} kept "
                f"({wrong[1] / wrong[0]:.1%}; asked {wrong[2]})"
            )


if __name__ == "__main__":
    main()
