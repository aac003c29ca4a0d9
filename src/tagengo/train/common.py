"""What SFT (trainer.py) and DPO/ORPO (preference.py) share: the result of a run, the seeding,
and saving the model with its tokenizer. Its own module so that the variant does not reach back
into its parent (DESIGN.md, Floors); trainer.py dispatches to preference.py.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tagengo.run.dataset import atomic_write_json


@dataclass
class TrainResult:
    out: Path
    model_dir: Path
    steps: int
    history: list[dict[str, Any]] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def losses(self) -> list[float]:
        return [h["loss"] for h in self.history if "loss" in h]


def seed_all(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def save_model(model: Any, tokenizer: Any, dest: Path, base: Path, adapter: str) -> Path:
    """Write the trained model (or LoRA adapter) with its tokenizer and chat template.

    A LoRA folder's ``adapter_config.json`` names the base by its absolute local path (a
    folder or a .gguf file), so ``tagengo bench answer --local-model`` loads base + adapter."""
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.config.use_cache = True  # off while training with checkpointing; generation wants it
    if adapter == "lora":
        # Not PEFT's "auto", which also writes the base's (resized) embedding and output layers,
        # untrained, whenever tokens were added: the trained copies (modules_to_save) are
        # what a reload needs, and the base is loaded from its own path.
        model.save_pretrained(tmp, save_embedding_layers=False)
    else:
        model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    if adapter == "lora":
        cfg_path = tmp / "adapter_config.json"
        adapter = json.loads(cfg_path.read_text())
        adapter["base_model_name_or_path"] = str(base.resolve())
        atomic_write_json(cfg_path, adapter)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest
