"""Token counting with a GPT-4-family tokenizer that works offline.

``bpe-openai`` ships the cl100k_base and o200k_base BPE files and is faster than tiktoken;
plain ``tiktoken`` would try to download the files.
"""

from __future__ import annotations

from functools import lru_cache

from tagengo.errors import ConfigError


@lru_cache(maxsize=4)
def _encoding(name: str):  # noqa: ANN202 - bpe_openai's Encoding
    """Loading the BPE ranks takes ~0.4 s: once per process per encoding."""
    import bpe_openai

    return bpe_openai.get_encoding(name)


class TokenCounter:
    """Counts tokens of a string. Build once per worker."""

    def __init__(self, encoding: str = "cl100k_base") -> None:
        try:
            # encode_ordinary: a prompt may contain text like '<|endoftext|>'; it is counted as
            # text, not refused as a special token.
            self._encode = _encoding(encoding).encode_ordinary
        except Exception as exc:  # the package raises its own UnsupportedModelError
            raise ConfigError(f"tokenizer '{encoding}' is not available offline ({exc}).") from exc
        self.encoding = encoding

    def count(self, text: str) -> int:
        return len(self._encode(text)) if text else 0
