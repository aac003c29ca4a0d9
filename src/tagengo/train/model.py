"""Loading the base model and tokenizer, and choosing precision and attention for the device.

A base model is a local transformers folder (``config.json``) or a ``.gguf`` file, which
transformers dequantizes to a torch model (``from_pretrained(folder, gguf_file=name)``). Nothing
is fetched from a model hub: a name that is not a local path is an error that says so.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tagengo.errors import ConfigError
from tagengo.llm.backends.hf_model import causal_lm_from_path
from tagengo.train.config import TrainConfig
from tagengo.train.templates import NAMED_TEMPLATES


@dataclass
class Runtime:
    """What the config's ``auto`` values became on this machine."""

    device: str
    precision: str  # fp32 | bf16 | fp16
    gradient_checkpointing: bool
    attention: str  # sdpa | eager | flash_attention_2
    #: What was asked but cannot run here, and what runs instead (shown as warnings).
    notes: tuple[str, ...] = ()

    @property
    def flatten(self) -> bool:
        # flash-attention's varlen path needs no mask: the batch is one padding-free row.
        return self.attention == "flash_attention_2"


def resolve_runtime(cfg: TrainConfig) -> Runtime:
    import torch

    device = cfg.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    gpu = device.startswith("cuda")
    if gpu and not torch.cuda.is_available():
        raise ConfigError(f"--device {device}: no CUDA device is visible; use --device cpu")
    precision = cfg.precision
    if precision == "auto":
        precision = "bf16" if gpu and torch.cuda.is_bf16_supported() else "fp32"
    if precision == "fp16" and not gpu:
        raise ConfigError("--precision fp16 needs a GPU; on CPU use fp32 (or bf16)")
    checkpointing = gpu if cfg.gradient_checkpointing is None else cfg.gradient_checkpointing
    attention = cfg.attention
    if attention == "auto":
        has_fa = importlib.util.find_spec("flash_attn") is not None
        attention = "flash_attention_2" if gpu and has_fa else "sdpa"
    notes: tuple[str, ...] = ()
    if attention == "flash_attention_2" and not (gpu and importlib.util.find_spec("flash_attn")):
        # Nothing requires flash-attn (the suzume-2024 preset asks for it): SDPA computes the
        # same attention, and packing stays isolated (the block-diagonal mask).
        why = "no GPU" if not gpu else "the flash-attn package is not installed"
        notes = (f"--attention flash_attention_2 cannot run here ({why}); using sdpa, the same attention",)
        attention = "sdpa"
    return Runtime(device, precision, checkpointing, attention, notes)


def resolve_base(base_model: str | None) -> Path:
    """The local path of the base model (the bundled GGUF when none is given)."""
    if base_model is None:
        from tagengo.llm.backends.llamacpp import bundled_gguf

        return bundled_gguf()
    p = Path(base_model).expanduser()
    if p.is_file() and p.suffix == ".gguf":
        return p
    if p.is_dir() and (p / "config.json").exists():
        return p
    if p.is_dir() and (p / "adapter_config.json").exists():
        raise ConfigError(f"{p}: a LoRA adapter, not a base model; merge it first or give its base")
    if p.exists():
        raise ConfigError(f"{p}: neither a transformers model folder (config.json) nor a .gguf file")
    raise ConfigError(
        f"--base-model {base_model}: no such local folder or .gguf file. Models are never downloaded "
        "at run time: fetch it first (e.g. `hf download NAME --local-dir DIR`) and give --base-model DIR"
    )


def _dtype(precision: str) -> Any:
    import torch

    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def added_tokens(tokenizer: Any) -> list[str]:
    """The special tokens ``load_tokenizer`` added to ``tokenizer`` for its chat template: their
    embedding rows are new, so a LoRA run must train them (``add_lora``'s ``train_embeddings``)."""
    return list(getattr(tokenizer, "tagengo_added_tokens", None) or [])


def load_tokenizer(base: Path, chat_template: str = "tokenizer") -> Any:
    """The base model's tokenizer, with the chosen chat template set on it."""
    from transformers import AutoTokenizer

    if base.suffix == ".gguf":
        tok = AutoTokenizer.from_pretrained(base.parent, gguf_file=base.name)
    else:
        tok = AutoTokenizer.from_pretrained(base)
    if chat_template != "tokenizer":
        template, specials, eot = NAMED_TEMPLATES[chat_template]
        missing = [t for t in specials if t not in tok.get_vocab()]
        if missing:
            tok.add_special_tokens({"additional_special_tokens": missing})
        tok.tagengo_added_tokens = list(missing)
        tok.chat_template = template
        tok.eos_token = eot  # generation stops at the end of the assistant turn
    if getattr(tok, "chat_template", None) is None:
        raise ConfigError(
            f"{base}: the tokenizer has no chat template; give --chat-template chatml (or llama3)"
        )
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(base: Path, runtime: Runtime, tokenizer: Any) -> Any:
    """The base model on ``runtime.device`` in ``runtime.precision``, embeddings grown to the tokenizer."""
    kw: dict[str, Any] = {"dtype": _dtype(runtime.precision), "attn_implementation": runtime.attention}
    model = causal_lm_from_path(base, **kw)
    if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(len(tokenizer))
    model.to(runtime.device)
    if runtime.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
    return model


def embedding_modules(model: Any) -> list[str]:
    """The names (last component) of the input embedding and the output projection
    (``embed_tokens``, ``lm_head`` for Llama-style models): PEFT's ``modules_to_save``."""
    wanted = [m for m in (model.get_input_embeddings(), model.get_output_embeddings()) if m is not None]
    out: list[str] = []
    for name, module in model.named_modules():
        if any(module is w for w in wanted) and name:
            short = name.rsplit(".", 1)[-1]
            if short not in out:
                out.append(short)
    return out


def add_lora(model: Any, cfg: TrainConfig, *, train_embeddings: bool = False) -> Any:
    """Wrap ``model`` with PEFT LoRA adapters on ``cfg.lora.targets`` (only they train).

    ``train_embeddings`` (when the chat template added special tokens: their rows are new): the
    input embedding and the output projection train too, whole, and are saved with the adapter
    (PEFT's ``modules_to_save``, as Axolotl's ``lora_modules_to_save``); otherwise a new
    end-of-turn token would keep its untrained row, and the model would never learn to stop.
    Tied embeddings stay tied (``ensure_weight_tying``)."""
    from peft import LoraConfig, get_peft_model

    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    absent = [t for t in cfg.lora.targets if t not in names]
    if absent:
        raise ConfigError(f"--lora-targets: no module named {', '.join(absent)} in this model")
    extra: dict[str, Any] = {}
    if train_embeddings:
        extra["modules_to_save"] = embedding_modules(model)
        if getattr(model.config, "tie_word_embeddings", False):
            extra["ensure_weight_tying"] = True
    lora = LoraConfig(
        r=cfg.lora.rank,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=list(cfg.lora.targets),
        task_type="CAUSAL_LM",
        **extra,
    )
    peft_model = get_peft_model(model, lora)
    if getattr(model, "is_gradient_checkpointing", False):
        peft_model.enable_input_require_grads()
    return peft_model
