"""`tagengo prefer` with real models answering: the bundled SmolLM2-135M in-process (llama.cpp),
and llama-cpp-python's OpenAI-compatible server running it on loopback. The judge is the
scripted server (a 135M model cannot keep a ranking format), replying with one malformed ranking
that is asked again; a scripted model answers a German prompt in English (the language check)."""

from __future__ import annotations

import json

import pytest

from servers.llama_cpp_server import llama_server
from tagengo.prefer.config import PreferConfig
from tagengo.prefer.stage import prefer
from tagengo.run.dataset import read_records
from tagengo.train.pairs import load_pairs

from .conftest import scripted_judge, scripted_model, write_prompts

pytestmark = [pytest.mark.llm, pytest.mark.slow]

PROMPTS = [
    ("e1", "en", "What colour is the sky on a clear day? Answer in one short sentence. GARBLE-ONCE"),
    ("d1", "de", "Wie wird das Wetter morgen in Berlin? Antworte in einem kurzen Satz."),
]


def _check(result, server, smol: str) -> None:
    rows = {r.id: r for r in read_records(result.out)}
    assert set(rows) == {"e1", "d1"}, result.manifest["counts"]
    for row in rows.values():
        pref = row.meta["preference"]
        smol_answer = next(a for a in pref["answers"] if a["model"] == smol)
        # The real model answered (its text, or why its answer could not be ranked).
        assert smol_answer["content"] or smol_answer.get("problem")
        assert pref["pairs"][0]["chosen"] == "best"
        if "problem" not in smol_answer and not smol_answer.get("wrong_language"):
            assert smol in pref["labels"].values()  # shown to the judge under a letter
            assert [smol] in pref["ranked"]
    e1 = rows["e1"].meta["preference"]
    assert len(e1["judge"]["replies"]) == 2  # a malformed ranking, then a valid one on re-ask
    assert e1["ranked"][0] == ["best"] and e1["ranked"][-1] == ["weak"]
    d1 = rows["d1"].meta["preference"]
    assert "weak" in d1["wrong_language"] and d1["ranked"][-1][0] in d1["wrong_language"]
    assert d1["pairs"][0]["rejected"] in d1["wrong_language"]
    # The pairs load as TRL's conversational format.
    assert len(load_pairs(result.out).train) == 2


def test_bundled_model_answers_in_process(prefer_server, tmp_path):
    server = prefer_server()
    cache = tmp_path / "cache.sqlite"
    cfg = PreferConfig(
        models=[
            {
                "name": "smol",
                "llm": {"backend": "llamacpp", "cache_path": str(cache), "n_ctx": 1024},
                "max_tokens": 48,
            },
            scripted_model(server, "best", cache),
            scripted_model(server, "weak", cache),
        ],
        judge=scripted_judge(server, cache),
    )
    result = prefer(write_prompts(tmp_path / "p.jsonl", PROMPTS), tmp_path / "out", cfg)
    _check(result, server, "smol")
    smol = next(a for a in read_records(result.out)[0].meta["preference"]["answers"] if a["model"] == "smol")
    assert smol["output_tokens"] > 0


def test_answers_from_a_real_openai_compatible_server(prefer_server, tmp_path):
    server = prefer_server()
    cache = tmp_path / "cache.sqlite"
    with llama_server(tmp_path) as url:
        cfg = PreferConfig(
            models=[
                {
                    "name": "served",
                    "llm": {
                        "backend": "openai",
                        "model": "smollm2",
                        "base_url": url,
                        "cache_path": str(cache),
                        "timeout_s": 300.0,
                        "concurrency": 2,
                    },
                    "max_tokens": 48,
                },
                scripted_model(server, "best", cache),
                scripted_model(server, "weak", cache),
            ],
            judge=scripted_judge(server, cache),
        )
        result = prefer(write_prompts(tmp_path / "p.jsonl", PROMPTS), tmp_path / "out", cfg)
    _check(result, server, "served")
    served = [
        a for r in read_records(result.out) for a in r.meta["preference"]["answers"] if a["model"] == "served"
    ]
    assert {a["served_by"] for a in served} == {"smollm2"}
    manifest = json.loads((result.out / "manifest.json").read_text())
    assert manifest["llm"]["answer_models"]["served"] == f"openai:smollm2@{url}"
