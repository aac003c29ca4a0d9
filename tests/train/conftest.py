"""Fixtures for the train tests: the bundled SmolLM2-135M-Instruct, loaded once from its GGUF
(through transformers + gguf, the path `tagengo train` takes by default) and saved as a
transformers folder that every other test loads in a fraction of a second."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "tiny_chat.jsonl"


@pytest.fixture(scope="session")
def smol_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled GGUF dequantized to a transformers folder (fp32), with its chat template."""
    from tagengo.llm.backends.hf_model import causal_lm_from_path
    from tagengo.train.model import load_tokenizer, resolve_base

    gguf = resolve_base(None)
    assert gguf.suffix == ".gguf"
    dest = tmp_path_factory.mktemp("smollm2-135m")
    tok = load_tokenizer(gguf)
    model = causal_lm_from_path(gguf)
    model.save_pretrained(dest)
    tok.save_pretrained(dest)
    return dest


@pytest.fixture(scope="session")
def smol_tokenizer(smol_dir: Path) -> Any:
    from tagengo.train.model import load_tokenizer

    return load_tokenizer(smol_dir)
