"""The models of an eval run (the model, and the base model as the reference row) and the
lm-eval model object each becomes.

* ``hf``: a local transformers folder, a LoRA adapter folder (base + adapter, through lm-eval's
  ``peft=``), or a ``.gguf`` file transformers dequantizes (lm-eval's ``gguf_file=``): lm-eval's
  own ``HFLM``, batched (``--batch-size``), with log-probabilities, so every task type runs.
* ``chat``: tagengo's client layer (:class:`tagengo.eval.chat_lm.TagengoChatLM`): any
  OpenAI-compatible server, Azure, or a GGUF through in-process llama.cpp; generative tasks only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tagengo.errors import ConfigError
from tagengo.eval.config import EvalConfig
from tagengo.llm.config import LLMConfig


@dataclass
class ModelSpec:
    role: str  # "model" or "base"
    name: str
    kind: str  # "hf" or "chat"
    path: Path | None = None
    llm: LLMConfig | None = None

    def describe(self) -> dict[str, Any]:
        """What the manifest records: enough to run the same model again."""
        d: dict[str, Any] = {"role": self.role, "name": self.name, "kind": self.kind}
        if self.path is not None:
            d["path"] = str(self.path.resolve())
        if self.llm is not None:
            d["llm"] = self.llm.model_dump(mode="json", exclude=set(LLMConfig.run_only_fields))
        return d

    @property
    def has_logprobs(self) -> bool:
        return self.kind == "hf"


def _local_name(path: Path) -> str:
    from tagengo.llm.backends.hf_local import local_model_name

    return local_model_name(path.parent / path.stem if path.suffix == ".gguf" else path)


def _check_local(path: Path, flag: str) -> None:
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ConfigError(f"{path}: no such file; {flag} names a model folder or a .gguf file.")
        return
    if not (path / "config.json").exists() and not (path / "adapter_config.json").exists():
        raise ConfigError(
            f"{path}: not a transformers model folder (no config.json) nor a LoRA adapter "
            f"(no adapter_config.json); {flag} names what tagengo train writes (OUT/model), or a .gguf file."
        )


def model_specs(cfg: EvalConfig) -> list[ModelSpec]:
    """The model (first) and the base model (when given), named and checked."""
    if cfg.local_model is not None:
        _check_local(cfg.local_model, "--local-model")
        model = ModelSpec("model", cfg.model_id or _local_name(cfg.local_model), "hf", path=cfg.local_model)
    else:
        model = ModelSpec("model", cfg.model_id or _chat_name(cfg.llm), "chat", llm=cfg.llm)
    specs = [model]
    if cfg.base_model is not None:
        base = cfg.base_model
        if base.suffix == ".gguf" and cfg.local_model is None:
            if not base.is_file():
                raise ConfigError(f"{base}: no such file; --base-model names a model folder or a .gguf file.")
            llm = cfg.llm.model_copy(update={"backend": "llamacpp", "model_path": base, "base_url": None})
            specs.append(ModelSpec("base", cfg.base_model_id or _local_name(base), "chat", llm=llm))
        else:
            _check_local(base, "--base-model")
            specs.append(ModelSpec("base", cfg.base_model_id or _local_name(base), "hf", path=base))
    if len(specs) == 2 and specs[0].name == specs[1].name:
        raise ConfigError(
            f"the model and the base model are both named {specs[0].name!r}: give --model-id or --base-model-id."
        )
    return specs


def _chat_name(llm: LLMConfig) -> str:
    if llm.backend == "llamacpp":
        if llm.model_path is not None:
            return Path(llm.model_path).stem
        from tagengo.llm.backends.llamacpp import bundled_gguf

        return bundled_gguf().stem
    return llm.model or llm.azure_deployment or "model"


def knowledge_mode(cfg: EvalConfig, specs: list[ModelSpec]) -> str:
    """One scoring for every row of the table, so rows compare: loglikelihood only when every
    model gives log-probabilities."""
    if cfg.knowledge_mode == "loglikelihood":
        chat = [s.name for s in specs if not s.has_logprobs]
        if chat:
            raise ConfigError(
                f"--knowledge-mode loglikelihood needs token log-probabilities, which {', '.join(chat)} "
                "(through tagengo's client) does not give: use --knowledge-mode generate, or --local-model."
            )
        return "loglikelihood"
    if cfg.knowledge_mode == "generate":
        return "generate"
    return "loglikelihood" if all(s.has_logprobs for s in specs) else "generate"


def torch_device(cfg: EvalConfig) -> str:
    if cfg.device:
        return cfg.device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def hf_model(spec: ModelSpec, cfg: EvalConfig) -> Any:
    """lm-eval's HFLM over a local folder, adapter or GGUF (never a hub id: the path must exist)."""
    try:
        from lm_eval.models.huggingface import HFLM
    except ImportError as e:
        raise ConfigError("--local-model needs torch and transformers: pip install 'tagengo[train]'") from e
    assert spec.path is not None
    path = spec.path.resolve()
    device = torch_device(cfg)
    kw: dict[str, Any] = {
        "batch_size": cfg.batch_size,
        "device": device,
        "dtype": "auto" if device.startswith("cuda") else "float32",
    }
    if path.suffix == ".gguf":
        kw.update(pretrained=str(path.parent), gguf_file=path.name)
    elif (path / "adapter_config.json").exists():
        base = json.loads((path / "adapter_config.json").read_text()).get("base_model_name_or_path")
        if not base or not Path(base).exists():
            raise ConfigError(
                f"{path}: the adapter's base model {base!r} is not on this machine; fix "
                "base_model_name_or_path in adapter_config.json to name the local base folder or .gguf file."
            )
        if base.endswith(".gguf"):
            kw.update(pretrained=str(Path(base).parent), gguf_file=Path(base).name, peft=str(path))
        else:
            kw.update(pretrained=str(base), peft=str(path))
    else:
        kw.update(pretrained=str(path))
    return HFLM(**kw)
