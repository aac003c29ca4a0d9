"""Token counting with a GPT-4-family tokenizer that works offline.

``bpe-openai`` ships the cl100k_base and o200k_base BPE files and is faster than tiktoken;
plain ``tiktoken`` would try to download the files.

Only its Rust extension is loaded: ``import bpe_openai`` builds Python dicts of every BPE rank of
all three encodings it ships (1 s of CPU and 65 MiB per process, inherited by every forked
worker) that counting never reads.
"""

from __future__ import annotations

import sys
from functools import lru_cache

from tagengo.errors import ConfigError

# What bpe-openai's Encoding.encode_ordinary refuses (its _encode_plain and DEFAULT_CHUNK_LIMIT);
# counting refuses the same texts so the two stay interchangeable.
_MAX_CHARS = 1_000_000
_CHUNK_LIMIT = 200_000


def _bindings():  # noqa: ANN202 - the extension module
    """``bpe_openai._bindings`` without running the package's ``__init__`` (which loads the ranks)."""
    name = "bpe_openai._bindings"
    mod = sys.modules.get(name)
    if mod is not None:
        return mod
    import importlib.machinery
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("bpe_openai")  # a top-level package: found, not executed
    found = None
    for where in (spec.submodule_search_locations or []) if spec else []:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            if (Path(where) / f"_bindings{suffix}").is_file():
                found = Path(where) / f"_bindings{suffix}"
                break
    if found is None:  # another layout: the ordinary import
        import importlib

        return importlib.import_module(name)
    loader = importlib.machinery.ExtensionFileLoader(name, str(found))
    mod = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader))
    loader.exec_module(mod)
    sys.modules[name] = mod  # an extension initialises once per process: a later import gets this one
    return mod


@lru_cache(maxsize=4)
def _tokenizer(name: str):  # noqa: ANN202 - bpe_openai's PyTokenizer
    """The Rust tokenizer of encoding ``name``, once per process per encoding."""
    return _bindings().tokenizer_for_encoding(name)


class TokenCounter:
    """Counts tokens of a string (as ``len(encode_ordinary(text))``). Build once per worker."""

    def __init__(self, encoding: str = "cl100k_base") -> None:
        try:
            # The backend's count is encode_ordinary's: a prompt may contain text like
            # '<|endoftext|>'; it is counted as text, not refused as a special token.
            self._count = _tokenizer(encoding).count
        except Exception as exc:  # the extension raises ValueError for an unknown encoding
            raise ConfigError(f"tokenizer '{encoding}' is not available offline ({exc}).") from exc
        self.encoding = encoding

    def count(self, text: str) -> int:
        if not text:
            return 0
        if len(text) >= _MAX_CHARS:
            raise ValueError("Input too long to encode safely")
        try:
            n = self._count(text)
        except UnicodeEncodeError:  # lone surrogates: counted as bpe-openai counts them, replaced
            n = self._count(text.encode("utf-16", "surrogatepass").decode("utf-16", "replace"))
        if n > _CHUNK_LIMIT:
            raise ValueError(f"{n} tokens exceed the tokenizer's limit of {_CHUNK_LIMIT}")
        return n
