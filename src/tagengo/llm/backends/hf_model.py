"""A transformers causal LM from a local folder or a ``.gguf`` file: `tagengo train` fine-tunes
it and the in-process answering client (:mod:`tagengo.llm.backends.hf_local`) answers with it.
Needs the ``train`` extra (torch, transformers).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _forget_gguf(model: Any) -> None:
    """A dequantized GGUF model is a plain dense model, but transformers still marks it as
    quantized, which refuses ``save_pretrained``; drop the marks (the weights are fp32/bf16)."""
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    if getattr(model, "is_quantized", False):
        model.is_quantized = False


def causal_lm_from_path(base: Path, **kw: Any) -> Any:
    """``AutoModelForCausalLM`` from a local folder or a .gguf file (dequantized to dense weights)."""
    from transformers import AutoModelForCausalLM

    if base.suffix != ".gguf":
        return AutoModelForCausalLM.from_pretrained(base, **kw)
    try:  # transformers >= 5.2x can keep GGUF blocks; training needs plain dense weights
        from transformers.utils.quantization_config import GgufConfig

        kw["quantization_config"] = GgufConfig(gguf_file=base.name, dequantize=True)
    except ImportError:  # older transformers always dequantize
        pass
    model = AutoModelForCausalLM.from_pretrained(base.parent, gguf_file=base.name, **kw)
    _forget_gguf(model)
    return model
