"""Peer of `tagengo curate` for benchmarks/curate_bench.py: the chain as a datatrove user writes it.

JsonlReader (LMSYS rows: the first prompt as the document, the logged response, label and
moderation flag in metadata) -> LambdaFilter (flagged, unknown label) -> LanguageFilter
(lid.176, the same bundled .ftz file, read from disk instead of downloaded) -> LambdaFilter
(detected == labelled) -> LambdaFilter (prompt + response <= 512 cl100k tokens) ->
ParquetWriter, on a LocalPipelineExecutor with one task per input shard.

Runs in its own virtualenv (benchmarks/peers.py); argv: SHARD_FOLDER OUT_FOLDER MODEL_PATH
LABELS_JSON WORKERS. Prints one JSON line with the rows kept.
"""

import json
import sys

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.filters import LambdaFilter, LanguageFilter
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import ParquetWriter
from datatrove.utils.lid import FT176LID

shards, out, model_path, labels_json, workers = sys.argv[1:6]
CODES = json.loads(labels_json)  # LMSYS language name -> ISO code


class LocalFT176(FT176LID):
    """lid.176 from a local file: datatrove's own class would download lid.176.bin."""

    @property
    def model(self):
        if self._model is None:
            from fasttext.FastText import _FastText

            self._model = _FastText(model_path)
        return self._model


def adapter(self, data: dict, path: str, id_in_file: int) -> dict:
    conv = data["conversation"]
    return {
        "text": conv[0]["content"],
        "id": data["conversation_id"],
        "metadata": {
            "response": conv[1]["content"] if len(conv) > 1 else "",
            "label": CODES.get(data.get("language") or ""),
            "flagged": bool(data["openai_moderation"][0]["flagged"]),
        },
    }


_ENC = []


def short_enough(doc) -> bool:
    if not _ENC:
        import bpe_openai

        _ENC.append(bpe_openai.get_encoding("cl100k_base"))
    enc = _ENC[0]
    return len(enc.encode_ordinary(doc.text)) + len(enc.encode_ordinary(doc.metadata["response"])) <= 512


lang_filter = LanguageFilter(languages=None, language_threshold=0.8)
lang_filter.model = LocalFT176(None)

if __name__ == "__main__":
    import glob

    n_shards = len(glob.glob(f"{shards}/*.jsonl"))
    LocalPipelineExecutor(
        pipeline=[
            JsonlReader(shards, adapter=adapter, glob_pattern="*.jsonl", compression=None),
            LambdaFilter(lambda doc: not doc.metadata["flagged"] and doc.metadata["label"] is not None),
            lang_filter,
            LambdaFilter(lambda doc: doc.metadata["language"] == doc.metadata["label"]),
            LambdaFilter(short_enough),
            ParquetWriter(f"{out}/data"),
        ],
        tasks=n_shards,
        workers=int(workers),
        logging_dir=f"{out}/logs",
    ).run()
    import pyarrow.parquet as pq

    kept = sum(pq.read_metadata(f).num_rows for f in glob.glob(f"{out}/data/*.parquet"))
    print(json.dumps({"kept": kept}))
