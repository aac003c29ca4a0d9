"""Answering with a local transformers folder: a tiny Llama with random weights and a real
(word-level) tokenizer, built here, so no download is needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tagengo.bench.answer import answer_bench
from tagengo.bench.config import AnswerConfig
from tagengo.errors import ConfigError
from tagengo.io.bench_layout import open_bench
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
        tokenizer_object=tok,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        # as in every real chat model, the template's markers are special tokens: decoding skips
        # them, and an answer that still holds one is a template leak the answer contract rejects
        additional_special_tokens=["<|user|>", "<|assistant|>", "<|system|>", "<|end|>"],
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
    from tagengo.llm.backends.hf_local import TransformersChatClient

    model_dir = _tiny_model(tmp_path / "tiny")
    data = tmp_path / "mt_bench"
    data.mkdir()
    (data / "question.jsonl").write_text(
        '{"question_id": 4, "category": "stem", "turns": ["why ice float", "why rain"]}\n'
    )
    bench = open_bench(data)
    client = TransformersChatClient(model_dir)
    cfg = AnswerConfig(local_model=model_dir, max_tokens=3)
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
    from tagengo.llm.backends.hf_local import TransformersChatClient

    with pytest.raises(ConfigError, match="not a transformers model folder"):
        TransformersChatClient(tmp_path)


def _two_turn_bench(root: Path):
    data = root / "mt_bench"
    data.mkdir(exist_ok=True)
    (data / "question.jsonl").write_text(
        '{"question_id": 4, "category": "writing", "turns": ["why ice float", "why rain"]}\n'
    )
    return open_bench(data)


def test_trained_models_answer_under_their_run_name_not_model(tmp_path: Path) -> None:
    """`tagengo train` saves every model as OUT/model: two runs' answers must not share a file."""
    from tagengo.llm.backends.hf_local import TransformersChatClient, local_model_name

    assert local_model_name(tmp_path / "out" / "sft" / "model") == "sft"
    assert local_model_name(tmp_path / "checkpoints" / "my-model") == "my-model"
    bench = _two_turn_bench(tmp_path)
    for run in ("sft-de", "sft-multi"):
        model_dir = _tiny_model(tmp_path / run / "model")
        cfg = AnswerConfig(local_model=model_dir, max_tokens=2)
        answer_bench(bench, cfg, TransformersChatClient(model_dir))
    for run in ("sft-de", "sft-multi"):
        assert json.loads(bench.answer_path(run).read_text())["model_id"] == run
    assert not bench.answer_path("model").exists()
    # --model-id still names the file.
    cfg = AnswerConfig(local_model=model_dir, model_id="mine", max_tokens=2)
    answer_bench(bench, cfg, TransformersChatClient(model_dir))
    assert json.loads(bench.answer_path("mine").read_text())["model_id"] == "mine"


def test_each_turn_and_each_sample_draws_its_own_seed(tmp_path: Path, monkeypatch) -> None:
    import torch

    from tagengo.llm.backends.hf_local import TransformersChatClient, request_seed

    def req(turns: list[str], **kw) -> ChatRequest:
        msgs = []
        for i, t in enumerate(turns):
            msgs += [{"role": "user", "content": t}] + (
                [{"role": "assistant", "content": "a"}] if i < len(turns) - 1 else []
            )
        return ChatRequest.from_messages(msgs, temperature=0.7, max_tokens=4, **kw)

    one, two = req(["why ice float"]), req(["why ice float", "why rain"])
    assert request_seed(one) != request_seed(two)  # turn 2 used to repeat turn 1's seed (0)
    assert request_seed(one) != request_seed(req(["why ice float"], sample=1))
    assert request_seed(one) != request_seed(req(["why ice float"], seed=1))
    assert request_seed(one) == request_seed(req(["why ice float"]))  # reproducible
    assert 0 <= request_seed(one) < 2**63

    model_dir = _tiny_model(tmp_path / "run" / "model")
    seeds: list[int] = []
    real = torch.manual_seed
    monkeypatch.setattr(torch, "manual_seed", lambda s: (seeds.append(s), real(s))[1])
    bench = _two_turn_bench(tmp_path)
    cfg = AnswerConfig(local_model=model_dir, max_tokens=2, num_choices=2, runs=2)
    answer_bench(bench, cfg, TransformersChatClient(model_dir))
    # 2 runs x 2 choices x 2 turns, each its own seed.
    assert len(seeds) == 8 and len(set(seeds)) == 8


def test_an_answer_cut_at_the_limit_never_ends_in_a_broken_character() -> None:
    from tagengo.llm.backends.hf_local import _clean_cut

    assert _clean_cut("Das ist gr\ufffd") == "Das ist gr"
    assert _clean_cut("日本語の\ufffd\ufffd") == "日本語の"
    assert _clean_cut("fine \ufffd text") == "fine \ufffd text"  # only a broken tail
    assert _clean_cut("whole") == "whole"
