"""Defaults that must not silently do nothing (issue 22, item 4): warm-up capped to the run, the
first step already trains, and a run that leaves the weights as they were says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tagengo.errors import ConfigError
from tagengo.train.config import TrainConfig, capped_warmup
from tagengo.train.trainer import TrainWarning, lr_factor, train

from .conftest import FIXTURES, TINY

#: 30 short conversations in 30 languages, the size of the demo's mix (one prompt per language).
DEMO_MIX = FIXTURES / "demo_sized_mix.jsonl"


def test_warmup_is_capped_at_a_tenth_of_the_run() -> None:
    assert capped_warmup(10, 1) == 0
    assert capped_warmup(10, 9) == 0
    assert capped_warmup(10, 30) == 3
    assert capped_warmup(10, 100) == 10
    assert capped_warmup(10, 5000) == 10
    assert capped_warmup(0, 5000) == 0


@pytest.mark.parametrize("kind", ["cosine", "linear", "constant"])
def test_first_step_has_a_learning_rate_and_the_peak_is_reached(kind: str) -> None:
    factors = [lr_factor(s, warmup=3, total=20, kind=kind) for s in range(20)]
    assert factors[0] == pytest.approx(0.25)  # not 0: the first step trains
    assert factors[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert all(f > 0 for f in factors)
    if kind != "constant":
        assert factors[-1] < 0.1 and factors == sorted(factors[:4]) + sorted(factors[4:], reverse=True)
    # A run of one step trains at the peak rate (no warm-up fits in it).
    assert lr_factor(0, warmup=capped_warmup(10, 1), total=1, kind=kind) == 1.0


def test_nothing_requires_flash_attn() -> None:
    """The suzume-2024 preset asks for flash attention 2; without a GPU or flash-attn it runs with
    SDPA (the same attention) and says so, instead of stopping."""
    from tagengo.train.config import PRESETS
    from tagengo.train.model import resolve_runtime

    rt = resolve_runtime(TrainConfig(**{**PRESETS["suzume-2024"], "device": "cpu"}))
    assert rt.attention == "sdpa" and not rt.flatten
    assert rt.precision == "bf16" and rt.gradient_checkpointing is True  # the rest as the preset says
    assert "flash_attention_2 cannot run here (no GPU); using sdpa" in rt.notes[0]
    assert resolve_runtime(TrainConfig(device="cpu")).notes == ()


def _read_weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    out: dict = {}
    for f in sorted(folder.glob("*.safetensors")):
        out.update(load_file(str(f)))
    return out


@pytest.mark.llm
@pytest.mark.slow
def test_readme_train_on_a_demo_sized_mix_changes_the_weights(smol_dir: Path, tmp_path: Path) -> None:
    """`tagengo train --input out/mix --out out/sft` with every default (warm-up 10 steps) on 30
    rows: one optimizer step. Its learning rate used to be 0, so the saved model was the base."""
    out = tmp_path / "sft"
    res = train(DEMO_MIX, out, TrainConfig(base_model=str(smol_dir)), progress=False)
    m = res.manifest
    assert m["counts"]["train"] == 30 and res.steps < 10  # shorter than the default warm-up
    assert m["schedule"]["warmup_steps"] == 0 and m["schedule"]["warmup_steps_asked"] == 10
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert rows[0]["lr"] == pytest.approx(2e-5)
    assert m["weights_changed"] is True and m["warnings"] == []
    before, after = _read_weights(smol_dir), _read_weights(res.model_dir)
    assert before.keys() == after.keys()
    assert any(not bool((before[k] == after[k]).all()) for k in before)


@pytest.mark.llm
@pytest.mark.slow
def test_a_run_shorter_than_its_warmup_trains_from_the_first_step(smol_dir: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(
        base_model=str(smol_dir),
        max_length=160,
        gradient_accumulation_steps=1,
        warmup_steps=10,
        max_steps=3,
        seed=0,
    )
    res = train(TINY, tmp_path / "short", cfg, progress=False)
    lrs = [h["lr"] for h in res.history]
    assert len(lrs) == 3 and all(lr > 0 for lr in lrs)
    assert lrs[0] == pytest.approx(cfg.learning_rate)  # 3 steps: no warm-up fits
    assert res.manifest["weights_changed"] is True


def _old_warmup(monkeypatch: pytest.MonkeyPatch) -> None:
    """The schedule as it was: warm-up never capped, and starting at exactly 0 (transformers')."""
    import tagengo.train.trainer as trainer_mod

    monkeypatch.setattr(trainer_mod, "capped_warmup", lambda warmup, total: warmup)
    real = trainer_mod.lr_factor

    def from_zero(step: int, *, warmup: int, total: int, kind: str) -> float:
        return step / warmup if step < warmup else real(step, warmup=warmup, total=total, kind=kind)

    monkeypatch.setattr(trainer_mod, "lr_factor", from_zero)


@pytest.mark.llm
@pytest.mark.slow
def test_a_run_that_cannot_change_the_weights_says_so(
    smol_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's run, with the old schedule put back: one step inside a 10-step warm-up from
    0, so its learning rate is 0. The library warns and records it in the manifest; the command
    line fails with a sentence that names the cause and the fix, instead of "trained 1 steps"."""
    from tagengo.cli import main

    _old_warmup(monkeypatch)
    cfg = TrainConfig(base_model=str(smol_dir), max_length=160, max_steps=1)
    with pytest.warns(TrainWarning, match="weights did not change"):
        res = train(TINY, tmp_path / "lib", cfg, progress=False)
    m = res.manifest
    assert m["weights_changed"] is False and m["steps_run"] == 1 and res.history[0]["lr"] == 0
    assert "learning rate was 0 on every step" in m["warnings"][-1]

    out = tmp_path / "cli"
    args = ["train", "--input", str(TINY), "--out", str(out), "--base-model", str(smol_dir)]
    args += ["--max-length", "160", "--max-steps", "1", "--no-progress"]
    assert main(args) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "did not change the weights" in err and "is the base model" in err
    assert "lower --warmup-steps" in err and "trained 1 step" not in err
    m = json.loads((out / "manifest.json").read_text())
    assert m["weights_changed"] is False and any("weights did not change" in w for w in m["warnings"])


@pytest.mark.llm
@pytest.mark.slow
def test_lora_trains_and_saves_the_embeddings_when_the_template_adds_tokens(
    smol_dir: Path, tmp_path: Path
) -> None:
    """The llama3 template adds <|start_header_id|>, <|end_header_id|> and <|eot_id|> to
    SmolLM2's vocabulary: their rows are new, so the adapter must train and carry them."""
    from safetensors.torch import load_file

    from tagengo.llm.backends.hf_local import TransformersChatClient

    cfg = TrainConfig(
        base_model=str(smol_dir),
        chat_template="llama3",
        adapter="lora",
        lora={"rank": 4, "alpha": 8, "targets": ["q_proj", "v_proj"]},
        max_length=192,
        gradient_accumulation_steps=1,
        learning_rate=2e-3,
        max_steps=2,
        seed=0,
    )
    res = train(TINY, tmp_path / "lora-llama3", cfg, progress=False)
    m = res.manifest
    assert m["tokens_added"] == ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    assert m["modules_to_save"] == ["embed_tokens", "lm_head"]
    adapter_cfg = json.loads((res.model_dir / "adapter_config.json").read_text())
    assert "embed_tokens" in adapter_cfg["modules_to_save"] and adapter_cfg["ensure_weight_tying"] is True
    saved = load_file(str(res.model_dir / "adapter_model.safetensors"))
    embed = [k for k in saved if k.endswith("embed_tokens.weight")]  # the trained copy
    assert len(embed) == 1 and any("lora_" in k for k in saved)
    assert not any("original_module" in k for k in saved)  # the base's own layers are not copied
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(res.model_dir)
    eot = tok.convert_tokens_to_ids("<|eot_id|>")
    weight = saved[embed[0]]
    base = _read_weights(smol_dir)["model.embed_tokens.weight"]
    assert weight.shape[0] == len(tok) > eot >= base.shape[0]  # the new tokens' rows are in it
    # ... trained: rows of tokens the data uses moved away from the base.
    assert not bool((weight[: base.shape[0]] == base).all())
    # Base + adapter reload and answer through the bench's local-model client.
    client = TransformersChatClient(res.model_dir)
    client._load()
    reloaded = client._model.get_input_embeddings().weight[eot].detach()
    assert bool((reloaded == weight[eot]).all())
    client.close()


@pytest.mark.llm
@pytest.mark.slow
def test_lora_with_the_tokenizers_own_template_saves_only_the_adapter(smol_dir: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(
        base_model=str(smol_dir),
        adapter="lora",
        lora={"rank": 4, "alpha": 8, "targets": ["q_proj"]},
        max_length=160,
        learning_rate=2e-3,
        max_steps=1,
    )
    res = train(TINY, tmp_path / "lora-own", cfg, progress=False)
    assert res.manifest["tokens_added"] == [] and res.manifest["modules_to_save"] == []
    adapter_cfg = json.loads((res.model_dir / "adapter_config.json").read_text())
    assert not adapter_cfg.get("modules_to_save")


@pytest.mark.llm
@pytest.mark.slow
def test_packing_is_checked_on_the_loaded_model_before_training(smol_dir: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(base_model=str(smol_dir), max_length=160, max_steps=1, seed=0)
    res = train(TINY, tmp_path / "packed", cfg, progress=False)
    check = res.manifest["packing_check"]
    assert check["attention"] == "sdpa" and len(check["tokens"]) == 2
    assert check["relative_difference"] < check["tolerance"] == 1e-3


@pytest.mark.llm
@pytest.mark.slow
def test_packing_is_refused_when_examples_would_see_each_other(
    smol_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Position ids that do not restart per example (what a transformers that ignored them would
    amount to): one causal sequence, so the second example attends to the first. The run stops
    before training, naming --no-packing; with --no-packing it trains."""
    import torch

    import tagengo.train.trainer as trainer_mod

    real = trainer_mod.collate

    def no_restart(*args, **kw):
        batch = real(*args, **kw)
        rows, length = batch["position_ids"].shape
        batch["position_ids"] = torch.arange(length).repeat(rows, 1)
        return batch

    monkeypatch.setattr(trainer_mod, "collate", no_restart)
    cfg = TrainConfig(base_model=str(smol_dir), max_length=160, max_steps=1, seed=0)
    with pytest.raises(ConfigError, match="do not stay apart") as err:
        train(TINY, tmp_path / "leaky", cfg, progress=False)
    assert "--no-packing" in str(err.value)
    assert not (tmp_path / "leaky" / "model").exists()  # refused before training
    res = train(TINY, tmp_path / "unpacked", cfg.model_copy(update={"packing": False}), progress=False)
    assert res.steps == 1 and res.manifest["packing_check"] is None
