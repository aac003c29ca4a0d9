"""Language ID on the labelled set: clean prompts lost and mislabelled rows rejected, per language.

Runs the real language-ID step of each curate preset over ``tagengo/data/langid/eval.jsonl``
(short technical prompts, ordinary prompts and mislabelled rows in seven languages) and prints,
per labelled language, the share of clean prompts lost and the share of mislabelled rows
rejected, with the ratio to the bounds of issue 10: clean lost <= 5% (ratio <= 1 is met),
mislabelled rejected >= 95% (ratio >= 1 is met). Figures are in docs/curate.md.

    .venv/bin/python benchmarks/langid_eval.py [--preset default] [--show-errors]
"""

from __future__ import annotations

import argparse
import time

from tagengo.curate.langid_eval import evaluate, load_eval_set
from tagengo.curate.stage import preset_config

MAX_CLEAN_LOST = 0.05
MIN_MISLABELLED_REJECTED = 0.95


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", action="append", help="curate preset (repeatable; default: both)")
    ap.add_argument("--show-errors", action="store_true", help="list the rows that went wrong")
    args = ap.parse_args()
    rows = load_eval_set()
    for preset in args.preset or ["default", "tagengo-2024"]:
        cfg = preset_config(preset).langid
        t0 = time.perf_counter()
        res = evaluate(cfg, rows)
        secs = time.perf_counter() - t0
        print(f"\npreset {preset}: {len(rows)} rows in {secs:.1f} s")
        print(
            "| language | clean lost | (technical / ordinary) | ratio to 5% | mislabelled rejected | ratio to 95% |"
        )
        print("| --- | --- | --- | --- | --- | --- |")
        for lang, f in res["languages"].items():
            print(
                f"| {lang} | {f['clean_lost']}/{f['clean']} = {f['clean_lost_rate']:.1%} "
                f"| {f['technical_lost']} / {f['ordinary_lost']} "
                f"| {f['clean_lost_rate'] / MAX_CLEAN_LOST:.2f} "
                f"| {f['mislabelled_rejected']}/{f['mislabelled']} = {f['mislabelled_rejected_rate']:.1%} "
                f"| {f['mislabelled_rejected_rate'] / MIN_MISLABELLED_REJECTED:.2f} |"
            )
        if args.show_errors:
            for r in res["lost"]:
                print(f"  lost     [{r['language']}] {r['text']!r}: {r['reason']}")
            for r in res["accepted"]:
                print(
                    f"  accepted [{r['language']}, really {r['true_language']}] {r['text']!r} ({r['kept_by']})"
                )


if __name__ == "__main__":
    main()
