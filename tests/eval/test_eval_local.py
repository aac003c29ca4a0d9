"""`tagengo eval` on local models: lm-eval's hf model over a transformers folder (a tiny random
Llama written here: the flow, batched log-likelihoods, the base model as the reference row), and
end to end on the bundled SmolLM2-135M, through llama.cpp and through transformers (numbers
meaningless, flow real)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tagengo.eval.config import EvalConfig
from tagengo.eval.stage import run_eval

DATA = Path(__file__).parent / "fixtures" / "data"

_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)


def _tiny_model(dest: Path, seed: int) -> Path:
    """A one-layer Llama with a word-level vocabulary (random weights, a chat template). The
    template ends in a space: lm-eval joins a chat answer to its prompt without one, and a
    whitespace-split vocabulary would read "<|assistant|>A" as one unknown word."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = ["<unk>", "<pad>", "<s>", "</s>", "<|user|>", "<|assistant|>", "<|end|>", "A", "B", "C", "D"]
    words += ["Answer:", "Summary:", "Article:", "der", "die", "das", "und", "Wie", "viele"]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", bos_token="<s>", eos_token="</s>"
    )
    fast.chat_template = _TEMPLATE
    cfg = LlamaConfig(
        vocab_size=len(words),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        pad_token_id=1,
        bos_token_id=2,
        eos_token_id=3,
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(cfg).save_pretrained(dest)
    fast.save_pretrained(dest)
    return dest


def test_a_local_folder_and_its_base_fill_the_table_with_the_base_as_reference(tmp_path: Path) -> None:
    model = _tiny_model(tmp_path / "sft" / "model", seed=1)
    base = _tiny_model(tmp_path / "base", seed=2)
    cfg = EvalConfig.model_validate(
        {
            "data": DATA,
            "local_model": model,
            "base_model": base,
            "languages": ["de", "ja"],
            "tasks": ["knowledge", "summarization"],
            "max_tokens": 4,
            "batch_size": 4,
            "device": "cpu",
        }
    )
    out = tmp_path / "ev"
    res = run_eval(cfg, out, say=lambda _: None)
    m = res.manifest
    # every model gives log-probabilities: multiple choice is scored by likelihood, as MMLU is
    assert m["knowledge_mode"] == "loglikelihood"
    assert [t["name"] for t in m["tasks"]][:2] == ["tagengo_knowledge_de", "tagengo_knowledge_ja"]
    assert [(x["name"], x["role"], x["kind"]) for x in m["models"]] == [
        ("sft", "model", "hf"),
        ("base", "base", "hf"),
    ]
    assert all(x["chat_template"] is True and x["batch_size"] == 4 for x in m["models"])
    acc = {(r["model"], r["language"]): r["value"] for r in res.rows if r["metric"] == "acc"}
    assert set(acc) == {("sft", "de"), ("sft", "ja"), ("base", "de"), ("base", "ja")}
    assert all(v in (0.0, 0.5, 1.0) for v in acc.values())  # two items per language
    md = (out / "results.md").read_text()
    lines = [x for x in md.splitlines() if x.startswith("| base (base)") or x.startswith("| sft |")]
    assert lines[0].startswith("| base (base)")  # the reference row comes first
    assert "(+" in lines[1] or "(-" in lines[1]  # model rows show their difference to it
    # knowledge samples hold the log-likelihood of each letter
    item = json.loads((out / "models/sft/samples/tagengo_knowledge_de.jsonl").open().readline())
    assert len(item["resps"]) == 4 and item["target"] == "B"


@pytest.mark.llm
@pytest.mark.slow
def test_the_bundled_model_through_llama_cpp_runs_the_three_kinds_from_the_command_line(
    tmp_path: Path,
) -> None:
    from tagengo.cli import main

    out = tmp_path / "ev"
    args = ["eval", "--out", str(out), "--languages", "de", "--limit", "1", "--max-new-tokens", "12"]
    code = main([*args, "--no-progress", "--llm-cache-path", str(tmp_path / "c.sqlite")])
    assert code == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["knowledge_mode"] == "generate" and m["models"][0]["kind"] == "chat"
    assert m["models"][0]["calls"][m["models"][0]["name"]]["calls"] == 4
    kinds = {(r["kind"], r["metric"]) for r in json.loads((out / "results.json").read_text())["rows"]}
    assert kinds == {
        ("summarization", "rougeL"),
        ("translation", "chrf"),
        ("translation", "bleu"),
        ("knowledge", "acc"),
    }


@pytest.mark.llm
@pytest.mark.slow
def test_the_bundled_gguf_read_by_transformers_scores_multiple_choice_by_likelihood(tmp_path: Path) -> None:
    from tagengo.llm.backends.llamacpp import bundled_gguf

    cfg = EvalConfig.model_validate(
        {
            "local_model": bundled_gguf(),
            "languages": ["en", "de"],
            "tasks": ["knowledge"],
            "device": "cpu",
        }
    )
    res = run_eval(cfg, tmp_path / "ev", say=lambda _: None)
    assert res.manifest["knowledge_mode"] == "loglikelihood"
    vals = [r["value"] for r in res.rows]
    assert len(vals) == 2 and all(0.0 <= v <= 1.0 for v in vals)
