"""Peer of `tagengo curate` for benchmarks/curate_bench.py: the naive script a user writes with
pandas + fasttext (one process): read the JSONL into a DataFrame, drop flagged and unknown rows,
lid.176 on each prompt, keep rows whose detected language is the label at >= 0.8, count cl100k
tokens of prompt + response, keep <= 512, cap 25,000 rows per language, write Parquet.

Runs in its own virtualenv (benchmarks/peers.py); argv: INPUT_JSONL OUT_PARQUET MODEL_PATH
LABELS_JSON. Prints one JSON line with the rows kept.
"""

import json
import sys

import bpe_openai
import fasttext
import pandas as pd

path, out, model_path, labels_json = sys.argv[1:5]
codes = json.loads(labels_json)

df = pd.read_json(path, lines=True)
df["prompt"] = df["conversation"].map(lambda c: c[0]["content"])
df["response"] = df["conversation"].map(lambda c: c[1]["content"] if len(c) > 1 else "")
df["flagged"] = df["openai_moderation"].map(lambda m: m[0]["flagged"])
df["code"] = df["language"].map(codes)
df = df[~df["flagged"] & df["code"].notna()]

model = fasttext.load_model(model_path)


def lid(text: str) -> tuple[str, float]:
    labels, probs = model.predict(text.replace("\n", " "))
    return labels[0].replace("__label__", ""), float(probs[0])


detected = df["prompt"].map(lid)
df["lid"] = detected.map(lambda p: p[0])
df["lid_score"] = detected.map(lambda p: p[1])
df = df[(df["lid"] == df["code"]) & (df["lid_score"] >= 0.8)]

enc = bpe_openai.get_encoding("cl100k_base")
df["tokens"] = df["prompt"].map(lambda t: len(enc.encode_ordinary(t))) + df["response"].map(
    lambda t: len(enc.encode_ordinary(t))
)
df = df[df["tokens"] <= 512]
df = df.groupby("code", group_keys=False).head(25_000)
df[["conversation_id", "code", "prompt", "response", "tokens"]].to_parquet(out)
print(json.dumps({"kept": len(df)}))
