"""The embedding cache: one SQLite file mapping (embedder id, text hash) to a vector.

Re-running dedup (another threshold, another semantics, a resumed curate) then costs
only the search. Vectors are stored exactly as the embedder returned them (float32
bytes), so a cached run decides exactly as an uncached one: the cache saves time and
never changes a result. The key includes the embedder's id, which names the model and
how it is called (prefix, endpoint), so switching models never reuses a vector.

Default location: ``$TAGENGO_CACHE_DIR/embeddings.sqlite``, else
``.tagengo-cache/embeddings.sqlite`` (the same folder as the LLM request cache).

It lives in llm/, beside the embedders, because dedup and contamination both embed through it.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from tagengo.llm.embedders import Embedder

CACHE_DIR_ENV = "TAGENGO_CACHE_DIR"
DEFAULT_CACHE_DIR = ".tagengo-cache"
CACHE_FILE = "embeddings.sqlite"
_IN_CHUNK = 500  # stay under SQLite's variable limit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    embedder TEXT NOT NULL,   -- Embedder.id: model + calling convention
    key      BLOB NOT NULL,   -- sha256 of the UTF-8 text
    dim      INTEGER NOT NULL,
    vector   BLOB NOT NULL,   -- float32, little-endian, dim values
    PRIMARY KEY (embedder, key)
) WITHOUT ROWID
"""


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def default_cache_path(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    base = cache_dir or os.environ.get(CACHE_DIR_ENV) or DEFAULT_CACHE_DIR
    return Path(base) / CACHE_FILE


class EmbeddingCache:
    """Handle on the cache file; ``close()`` when done (or use as a context manager)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self._db.commit()

    def get_many(self, embedder_id: str, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        out: dict[bytes, np.ndarray] = {}
        for i in range(0, len(keys), _IN_CHUNK):
            chunk = list(keys[i : i + _IN_CHUNK])
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, dim, vector FROM embeddings WHERE embedder = ? AND key IN ({marks})",
                [embedder_id, *chunk],
            )
            for key, dim, blob in rows:
                out[key] = np.frombuffer(blob, dtype="<f4", count=dim)
        return out

    def put_many(self, embedder_id: str, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        v = np.asarray(vectors, dtype="<f4")
        self._db.executemany(
            "INSERT OR REPLACE INTO embeddings (embedder, key, dim, vector) VALUES (?, ?, ?, ?)",
            [(embedder_id, k, v.shape[1], v[i].tobytes()) for i, k in enumerate(keys)],
        )
        self._db.commit()

    def count(self, embedder_id: str | None = None) -> int:
        if embedder_id is None:
            return int(self._db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])
        return int(
            self._db.execute("SELECT COUNT(*) FROM embeddings WHERE embedder = ?", [embedder_id]).fetchone()[
                0
            ]
        )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: Embeds texts elsewhere (other processes, a cluster): called with the texts to embed and the
#: batch size, yields ``(positions into those texts, (n, dim) float32 vectors)`` in any order.
RemoteEmbed = Callable[[list[str], int], Iterator[tuple[np.ndarray, np.ndarray]]]


def embed_texts(
    embedder: Embedder,
    texts: Sequence[str],
    cache: EmbeddingCache | None = None,
    batch_size: int = 256,
    progress: Callable[[int], None] | None = None,
    remote: RemoteEmbed | None = None,
) -> tuple[np.ndarray, dict[str, int]]:
    """Embed ``texts`` (in order), reusing cached vectors; new vectors are cached per batch.

    Returns the (n, dim) float32 matrix and counts ``{"cached": .., "embedded": ..}``.
    A run killed mid-way keeps every finished batch in the cache. With ``remote`` the texts
    not in the cache are embedded there (``embedder`` then only names the vectors: its
    ``id`` keys the cache) and each batch that comes back is merged into the cache here, so
    the cache file needs no sharing between machines.
    """
    n = len(texts)
    keys = [text_key(t) for t in texts]
    found = cache.get_many(embedder.id, keys) if cache is not None else {}
    # Longest-first by characters, so each call holds prompts of similar length: a batched
    # embedder pads the prompts of a call to its longest (sentence-transformers) or to a few
    # fixed lengths, filling its last pass of each (e5-torch),
    # and the first call is the largest, so a memory problem shows at once. The vectors go
    # back to their rows, so the order changes nothing but the time.
    missing = sorted((i for i, k in enumerate(keys) if k not in found), key=lambda i: -len(texts[i]))
    vectors: np.ndarray | None = None
    if found:
        dim = len(next(iter(found.values())))
        vectors = np.empty((n, dim), dtype=np.float32)
        for i, k in enumerate(keys):
            if k in found:
                vectors[i] = found[k]
        if progress is not None:
            progress(n - len(missing))

    def store(idx: list[int], new: np.ndarray, progressed: int = 0) -> None:
        nonlocal vectors
        if vectors is None:
            vectors = np.empty((n, new.shape[1]), dtype=np.float32)
        elif new.shape[1] != vectors.shape[1]:
            raise ValueError(
                f"embedder {embedder.id} returned {new.shape[1]}-d vectors, the cache holds {vectors.shape[1]}-d"
            )
        vectors[idx] = new
        if cache is not None:
            cache.put_many(embedder.id, [keys[i] for i in idx], new)
        if progress is not None:
            progress(len(idx) - progressed)

    if remote is not None and missing:
        got = 0
        for pos, new in remote([texts[i] for i in missing], batch_size):
            store([missing[int(p)] for p in pos], np.asarray(new, dtype=np.float32))
            got += len(pos)
        if got != len(missing):  # every text must come back once; a lost batch is a bug, not noise
            raise RuntimeError(f"sent {len(missing)} texts out to embed, got {got} vectors back")
    else:
        # An embedder whose vectors do not depend on the batch is called in small pieces, so
        # progress moves and Ctrl-C is seen between calls; new vectors are still cached per batch.
        step = min(batch_size, getattr(embedder, "call_size", None) or batch_size)
        for s in range(0, len(missing), batch_size):
            idx = missing[s : s + batch_size]
            parts = []
            for c in range(0, len(idx), step):
                parts.append(embedder.embed([texts[i] for i in idx[c : c + step]]))
                if progress is not None and c + step < len(idx):
                    progress(len(parts[-1]))
            new = np.concatenate(parts) if len(parts) > 1 else parts[0]
            store(idx, new, progressed=sum(len(p) for p in parts[:-1]))
    if vectors is None:
        vectors = np.empty((0, embedder.dim), dtype=np.float32)
    return vectors, {"cached": n - len(missing), "embedded": len(missing)}
