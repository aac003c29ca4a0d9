"""`tagengo report` and `tagengo inspect` on a `tagengo train` folder (issue 22, item 5): they
used to crash with KeyError: 'steps', and `report out/` died when a train folder was inside.

The train folder is real: a tiny Llama with random weights and a word-level tokenizer, built
here, trained for three steps on CPU by `tagengo.train.trainer.train` (a second or two)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tagengo.cli import main
from tagengo.report.hooks import folder_sections
from tagengo.report.html import gather, write_report

pytestmark = pytest.mark.slow  # torch and transformers

WORDS = ["<unk>", "<pad>", "<s>", "</s>", "<|user|>", "<|assistant|>", "<|end|>"]
WORDS += [
    "why",
    "does",
    "ice",
    "float",
    "because",
    "it",
    "is",
    "lighter",
    "than",
    "water",
    "what",
    "makes",
    "rain",
    "clouds",
    "cool",
    "down",
]
TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)


def _tiny_model(dest: Path) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", bos_token="<s>", eos_token="</s>"
    )
    fast.chat_template = TEMPLATE
    cfg = LlamaConfig(
        vocab_size=len(WORDS),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=1,
        bos_token_id=2,
        eos_token_id=3,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(cfg).save_pretrained(dest)
    fast.save_pretrained(dest)
    return dest


@pytest.fixture(scope="module")
def train_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``out/`` holding a real train folder ``out/sft`` (3 steps, an eval split, one dropped row)."""
    from tagengo.train.config import TrainConfig
    from tagengo.train.trainer import train

    root = tmp_path_factory.mktemp("train-report")
    base = _tiny_model(root / "base")
    data = root / "chats.jsonl"
    rows = [
        ("why does ice float", "because it is lighter than water"),
        ("what makes rain", "clouds cool down"),
        ("why does rain float", "it is lighter"),
        ("what makes ice", "water cool down"),
        ("why clouds", "because water"),
        ("what is water", "rain"),
    ]
    lines = [
        json.dumps(
            {"id": f"r{i}", "messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
        )
        for i, (q, a) in enumerate(rows)
    ]
    lines.append(json.dumps({"id": "noanswer", "messages": [{"role": "user", "content": "why"}]}))
    data.write_text("\n".join(lines) + "\n")
    cfg = TrainConfig(
        base_model=str(base),
        max_length=64,
        micro_batch_size=1,
        gradient_accumulation_steps=1,
        learning_rate=1e-3,
        max_steps=3,
        eval_size=1,
        seed=0,
    )
    train(data, root / "out" / "sft", cfg, progress=False)
    return root / "out"


def test_a_train_folder_has_its_own_section(train_run: Path) -> None:
    folder = train_run / "sft"
    m = json.loads((folder / "manifest.json").read_text())
    (section,) = folder_sections(folder)
    assert section.kind == "train" and section.title == "train · sft"
    assert "3 optimizer steps on 5 conversations" in section.summary and "last loss" in section.summary
    figures, tables = section.figures(), section.tables()
    assert figures["Loss and learning rate"].png.startswith(b"\x89PNG")
    run = dict(map(tuple, tables["Run"].rows))
    assert run["optimizer steps"] == 3 and run["device"] == "cpu"
    assert run["tokens/s"] == pytest.approx(m["throughput"]["tokens_per_s"])
    assert run["warm-up steps (used / asked)"] == "0 / 10"  # capped: 3 steps are too few for any
    data = dict(map(tuple, tables["Data (conversations)"].rows))
    assert data["read"] == 7 and data["train"] == 5 and data["eval"] == 1 and data["dropped"] == 1
    assert data["trained (assistant) tokens"] == m["counts"]["train_assistant_tokens"]
    assert dict(map(tuple, tables["Dropped, by reason"].rows)) == {"no_assistant_turn": 1}
    logs = tables["Metrics per log"]
    assert [r[0] for r in logs.rows] == [1, 2, 3]
    assert logs.columns[:3] == ["step", "loss", "eval_loss"] and "lr" in logs.columns
    config = dict(map(tuple, tables["Config"].rows))
    assert config["learning_rate"] == 1e-3 and config["lora.rank"] == 16
    assert all("manifest.json" in t.source or "jsonl" in t.source for t in tables.values())


def test_report_over_a_folder_holding_a_train_folder(train_run: Path, tmp_path: Path) -> None:
    # Beside the run: a folder with a manifest of a shape the report does not know.
    odd = train_run / "odd"
    odd.mkdir(exist_ok=True)
    (odd / "manifest.json").write_text('{"stage": "someday", "counts": {}}')
    contents = gather([train_run])
    assert [s.kind for s in contents.sections] == ["train"]
    assert any(
        p == str(odd) and "names stage 'someday', which this report cannot show" in why
        for p, why in contents.skipped
    )
    page = write_report([train_run], tmp_path / "report.html").read_text()
    assert "train · sft" in page and "Loss and learning rate" in page
    assert main(["report", str(train_run / "sft"), "--out", str(tmp_path / "r2.html")]) == 0


def test_a_preference_run_shows_too(tmp_path: Path) -> None:
    """A DPO folder as `tagengo.train.preference` writes it (TRL's log keys, pairs counts)."""
    folder = tmp_path / "dpo"
    folder.mkdir()
    manifest = {
        "stage": "train",
        "method": "dpo",
        "config": {"method": "dpo", "adapter": "lora", "learning_rate": 5e-7, "beta": 0.1},
        "runtime": {
            "device": "cpu",
            "precision": "fp32",
            "gradient_checkpointing": False,
            "attention": "sdpa",
        },
        "counts": {"read": 4, "train": 4, "eval": 0, "dropped": 0, "steps": 2},
        "throughput": {"seconds": 3.0, "pairs_per_s": 1.3},
        "final": {"loss": 0.69, "step": 2},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    logs = [
        {"step": 1, "loss": 0.6931, "learning_rate": 5e-7, "rewards/margins": 0.0},
        {"step": 2, "loss": 0.69, "learning_rate": 2.5e-7, "rewards/margins": 0.01},
    ]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in logs))
    (section,) = folder_sections(folder)
    assert section.summary.startswith("dpo (lora), 2 optimizer steps on 4 pairs")
    assert "Loss and learning rate" in section.figures()
    assert "rewards/margins" in section.tables()["Metrics per log"].columns


def test_inspect_shows_a_train_folder(train_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(train_run / "sft")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "train folder" in out and "(method sft): 3 optimizer steps" in out
    for part in ("counts", "runtime", "schedule", "throughput"):
        assert f"{part} (manifest.json)" in out
    assert "tokens_per_s" in out and "no_assistant_turn: 1" in out and "warmup_steps_asked" in out
    assert "last 3 of 3 logs" in out and "--local-model" in out


def test_inspect_names_a_manifest_that_is_no_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "manifest.json").write_text('{"stage": "someday"}')
    assert main(["inspect", str(tmp_path)]) == 2
    assert "not a dataset folder" in capsys.readouterr().err
