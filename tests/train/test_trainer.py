"""Training the bundled SmolLM2-135M on a tiny dataset, on CPU: the loss goes down, a saved
model (full, or a LoRA adapter) reloads and answers through `bench answer --local-model`'s
client, and a run resumes from its checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tagengo.llm.types import ChatRequest
from tagengo.train.config import TrainConfig
from tagengo.train.trainer import train

from .conftest import TINY

pytestmark = [pytest.mark.llm, pytest.mark.slow]


def _cfg(smol_dir: Path, **kw) -> TrainConfig:
    base = dict(
        base_model=str(smol_dir),
        max_length=160,
        micro_batch_size=2,
        gradient_accumulation_steps=1,
        learning_rate=1e-4,
        warmup_steps=0,
        max_steps=4,
        seed=0,
    )
    return TrainConfig(**{**base, **kw})


def _ask(model_dir: Path, text: str) -> str:
    from tagengo.llm.backends.hf_local import TransformersChatClient

    client = TransformersChatClient(model_dir)
    req = ChatRequest.from_messages([{"role": "user", "content": text}], temperature=0.0, max_tokens=8)
    resp = client.chat_many([req])[0]
    client.close()
    assert resp.error is None
    return resp.content or ""


def test_full_fine_tuning_lowers_the_loss_and_saves_a_model_that_answers(
    smol_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    res = train(TINY, out, _cfg(smol_dir), progress=False)
    losses = res.losses
    assert len(losses) == 4 and res.steps == 4
    assert losses[-1] < 0.8 * losses[0]
    m = json.loads((out / "manifest.json").read_text())
    assert m["runtime"] == {
        "device": "cpu",
        "precision": "fp32",
        "gradient_checkpointing": False,
        "attention": "sdpa",
        "padding_free": False,
    }
    assert m["counts"]["train"] == 13 and m["counts"]["dropped"] == 1
    assert json.loads((out / "dropped.jsonl").read_text())["id"] == "noanswer"
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4] and all(r["tokens_per_s"] > 0 for r in rows)
    assert (out / "loss.png").stat().st_size > 0
    # The fine-tuned model learned the fixture's answer, through the bench's local-model client.
    answer = _ask(res.model_dir, "What do bees make?")
    assert "honey" in answer.lower()


def test_lora_adapter_loads_as_base_plus_adapter(smol_dir: Path, tmp_path: Path) -> None:
    from peft import PeftModel

    from tagengo.llm.backends.hf_local import TransformersChatClient

    cfg = _cfg(
        smol_dir,
        adapter="lora",
        learning_rate=2e-3,
        max_steps=3,
        lora={"rank": 4, "alpha": 8, "targets": ["q_proj", "v_proj"]},
    )
    res = train(TINY, tmp_path / "lora", cfg, progress=False)
    adapter = json.loads((res.model_dir / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == str(smol_dir.resolve())
    assert not (res.model_dir / "model.safetensors").exists()  # only the adapter is saved
    client = TransformersChatClient(res.model_dir)
    client._load()
    assert isinstance(client._model, PeftModel)
    assert _ask(res.model_dir, "Wie viele Tage hat eine Woche?")


class _Crash(Exception):
    pass


def _crash_at(step: int):
    def on_log(rec: dict) -> None:
        if rec["step"] == step:
            raise _Crash

    return on_log


def test_resume_goes_on_from_the_checkpoint(smol_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "resume"
    cfg = _cfg(smol_dir, max_steps=3, save_steps=1)
    with pytest.raises(_Crash):  # dies during step 2, after step 1's checkpoint
        train(TINY, out, cfg, progress=False, on_log=_crash_at(2))
    assert [p.name for p in (out / "checkpoints").glob("step-*")] == ["step-0000001"]
    again = train(TINY, out, cfg, progress=False)
    assert again.manifest["resumed_from"].endswith("step-0000001")
    assert again.steps == 3 and [h["step"] for h in again.history] == [1, 2, 3]
    # The resumed run matches an uninterrupted one: same data order, optimizer and schedule state.
    straight = train(TINY, tmp_path / "straight", _cfg(smol_dir, max_steps=3), progress=False)
    for a, b in zip(again.history, straight.history):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4)
