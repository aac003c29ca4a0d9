"""Print the lid.176 top-5 probabilities of near_language_sentences.tsv as a Markdown table.

This is the measurement behind the near-language groups in docs/languages.md:

    .venv/bin/python tests/lang/measure_near_groups.py [--threshold 0.8]

For each sentence: the five best labels (as record codes), the probability of the sentence's
own code, the sum over its near-language group, and what a rule at the threshold decides:
"own" (the label alone is enough), "group" (only the group sum reaches it), "miss".
"""

from __future__ import annotations

import argparse
from pathlib import Path

SENTENCES = Path(__file__).with_name("near_language_sentences.tsv")


def read_sentences(path: Path = SENTENCES) -> list[tuple[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            code, text = line.split("\t")
            rows.append((code, text))
    return rows


def measure(threshold: float = 0.8, k: int = 5) -> list[dict]:
    """Top-k (code, probability) pairs and the verdicts, one dict per sentence."""
    import fasttext

    from tagengo.lang.langid import bundled_model_path
    from tagengo.lang.languages import group_score, lid_label_to_code

    model = fasttext.load_model(str(bundled_model_path()))
    out = []
    for code, text in read_sentences():
        pairs = [
            (lid_label_to_code(label), min(p, 1.0))
            for p, label in model.f.predict(text + "\n", k, 0.0, "strict")
        ]
        scores: dict[str, float] = {}
        for label, p in pairs:
            scores[label] = scores.get(label, 0.0) + p
        own, group = scores.get(code, 0.0), group_score(code, scores)
        verdict = "own" if own >= threshold else "group" if group >= threshold else "miss"
        out.append({"code": code, "text": text, "top": pairs, "own": own, "group": group, "verdict": verdict})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=0.8)
    args = parser.parse_args()
    print(f"| written in | prompt | lid.176 top 5 | own | group sum | at {args.threshold} |")
    print("| --- | --- | --- | ---: | ---: | --- |")
    for row in measure(args.threshold):
        top = " ".join(f"{label} {p:.2f}" for label, p in row["top"] if p >= 0.005)
        text = row["text"].replace("|", "\\|")
        print(
            f"| {row['code']} | {text} | {top} | {row['own']:.2f} | {row['group']:.2f} | {row['verdict']} |"
        )


if __name__ == "__main__":
    main()
