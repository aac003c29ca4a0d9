"""Answering with a local transformers folder: a tiny Llama with random weights and a real
(word-level) tokenizer, built here, so no download is needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tagengo.bench.answer import answer_bench
from tagengo.bench.config import AnswerConfig
from tagengo.bench.layout import open_bench
from tagengo.errors import ConfigError
from tagengo.llm.types import ChatRequest

pytestmark = pytest.mark.slow  # the train extra (torch, transformers) is installed in CI

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)


def _tiny_model(dest: Path) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = [
        "<unk>",
        "<pad>",
        "<s>",
        "</s>",
        "<|user|>",
        "<|assistant|>",
        "<|system|>",
        "<|end|>",
        "a",
        "the",
        "is",
        "why",
        "ice",
        "float",
        "water",
        "rain",
    ]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", bos_token="<s>", eos_token="</s>"
    )
    fast.chat_template = CHAT_TEMPLATE
    cfg = LlamaConfig(
        vocab_size=len(words),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=1,
        bos_token_id=2,
        eos_token_id=3,
    )
    import torch

    torch.manual_seed(0)
    LlamaForCausalLM(cfg).save_pretrained(dest)
    fast.save_pretrained(dest)
    return dest


def test_local_transformers_folder_answers_two_turns(tmp_path: Path) -> None:
    from tagengo.bench.hf_local import TransformersChatClient

    model_dir = _tiny_model(tmp_path / "tiny")
    data = tmp_path / "mt_bench"
    data.mkdir()
    (data / "question.jsonl").write_text(
        '{"question_id": 4, "category": "stem", "turns": ["why ice float", "why rain"]}\n'
    )
    bench = open_bench(data)
    client = TransformersChatClient(model_dir)
    cfg = AnswerConfig(local_model=model_dir, max_new_tokens=3)
    (report,) = answer_bench(bench, cfg, client)
    row = json.loads(bench.answer_path("tiny").read_text())
    assert row["model_id"] == "tiny" and len(row["choices"][0]["turns"]) == 2
    assert report.calls == 2 and 0 < report.output_tokens <= 6
    # turn 2's prompt holds turn 1 (question and answer) as well: more input tokens
    first, second = client.chat_many(
        [
            ChatRequest.from_messages(
                [{"role": "user", "content": "why ice float"}], temperature=0.0, max_tokens=2
            ),
            ChatRequest.from_messages(
                [
                    {"role": "user", "content": "why ice float"},
                    {"role": "assistant", "content": row["choices"][0]["turns"][0]},
                    {"role": "user", "content": "why rain"},
                ],
                temperature=0.0,
                max_tokens=2,
            ),
        ]
    )
    assert second.input_tokens > first.input_tokens
    # greedy decoding is deterministic
    again = client.chat_many(
        [
            ChatRequest.from_messages(
                [{"role": "user", "content": "why ice float"}], temperature=0.0, max_tokens=2
            )
        ]
    )[0]
    assert again.content == first.content


def test_not_a_model_folder(tmp_path: Path) -> None:
    from tagengo.bench.hf_local import TransformersChatClient

    with pytest.raises(ConfigError, match="not a transformers model folder"):
        TransformersChatClient(tmp_path)
