"""DPO and ORPO through TRL on the bundled SmolLM2-135M, on CPU, for a few steps: the loss goes
down and the chosen answers' reward rises above the rejected ones'."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tagengo.train.config import TrainConfig
from tagengo.train.trainer import train

from .test_pairs import PAIRS

pytestmark = [pytest.mark.llm, pytest.mark.slow]


def _cfg(smol_dir: Path, method: str, micro_batch_size: int = 2) -> TrainConfig:
    return TrainConfig(
        base_model=str(smol_dir),
        method=method,
        max_length=96,
        micro_batch_size=micro_batch_size,
        gradient_accumulation_steps=1,
        learning_rate=1e-4,
        lr_scheduler="constant",
        warmup_steps=0,
        max_steps=3,
        seed=0,
    )


def test_dpo_moves_the_policy_towards_the_chosen_answers(smol_dir: Path, tmp_path: Path) -> None:
    res = train(PAIRS, tmp_path / "dpo", _cfg(smol_dir, "dpo"), progress=False)
    logs = [h for h in res.history if "loss" in h]
    assert len(logs) == 3 and res.steps == 3
    # Step 1: the policy is the reference, so the DPO loss is -log sigmoid(0) = log 2 and the
    # rewards are 0 (up to float32 rounding of two identical forward passes).
    assert logs[0]["loss"] == pytest.approx(math.log(2), abs=1e-3)
    assert logs[0]["rewards/margins"] == pytest.approx(0.0, abs=1e-3)
    assert logs[-1]["loss"] < logs[0]["loss"]
    assert logs[-1]["rewards/chosen"] > logs[-1]["rewards/rejected"]
    assert logs[-1]["rewards/margins"] > logs[0]["rewards/margins"]
    m = json.loads((tmp_path / "dpo" / "manifest.json").read_text())
    assert m["method"] == "dpo" and m["counts"]["train"] == 4 and m["config"]["beta"] == 0.1
    assert (res.model_dir / "model.safetensors").exists() and (tmp_path / "dpo" / "loss.png").exists()
    assert len((tmp_path / "dpo" / "metrics.jsonl").read_text().splitlines()) >= 3


def test_orpo_raises_the_margin_without_a_reference_model(smol_dir: Path, tmp_path: Path) -> None:
    # Every step sees all four pairs, so the first and last logs measure the same batch (ORPO's
    # margin starts above 0, and a margin measured on other pairs says nothing).
    res = train(PAIRS, tmp_path / "orpo", _cfg(smol_dir, "orpo", micro_batch_size=4), progress=False)
    logs = [h for h in res.history if "loss" in h]
    assert len(logs) == 3
    assert logs[-1]["loss"] < logs[0]["loss"]
    assert logs[-1]["rewards/margins"] > logs[0]["rewards/margins"]
    assert logs[-1]["rewards/chosen"] > logs[-1]["rewards/rejected"]


def test_preference_warm_up_is_capped_to_the_run(tmp_path):
    """DPO/ORPO cap warm-up to the run as SFT does: 30 pairs at the default batch make a short
    run, and warmup_steps=10 would keep its learning rate near 0 throughout."""
    from tagengo.train.config import TrainConfig, capped_warmup
    from tagengo.train.model import resolve_runtime
    from tagengo.train.preference import _args

    cfg = TrainConfig(method="dpo", warmup_steps=10)
    args = _args(cfg, tmp_path, resolve_runtime(cfg), False, False, 30)
    total = -(-30 // (cfg.micro_batch_size * cfg.gradient_accumulation_steps))
    assert args.warmup_steps == capped_warmup(10, total) < 10
