"""Optional: moderate rows that carry no moderation entry through an OpenAI-compatible
``POST /moderations`` endpoint (off by default: it costs calls and needs a server).

Rows that already have an entry were judged by step 1 and are not sent again. The verdict is
stored in ``meta['moderation']`` in the same reduced shape the readers write, with the key of
the request that produced it (``request_key``): a verdict is only ever reused for the very same
request.

Calls go through tagengo's LLM client layer (``tagengo.llm``): the request cache (a re-run
pays for no verdict twice), retries with backoff and the server's Retry-After, rate limits,
accounting, and the key read from ``$api_key_env`` only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from tagengo.curate.config import ModerationConfig
from tagengo.errors import ConfigError
from tagengo.records import Record
from tagengo.run.steps import BatchFilter


class ModerationEndpointFilter(BatchFilter):
    name = "moderation_endpoint"

    def __init__(
        self, cfg: ModerationConfig, *, batch_size: int = 32, llm: dict[str, Any] | None = None
    ) -> None:
        """``llm``: LLMConfig settings for the client (``max_attempts``, ``concurrency``,
        ``cache_path`` ...) on top of the endpoint, model and key variable from ``cfg``."""
        if not cfg.endpoint:
            raise ConfigError(
                "moderation endpoint filter needs --moderation-endpoint (a base URL ending in /v1)."
            )
        self.cfg = cfg
        self.batch_size = batch_size
        self._llm = dict(llm or {})
        self._client: Any = None
        self._pid = 0
        self._acc: Any = None  # this chunk's calls (Step.summary covers batches since the last call)

    def setup(self) -> None:
        # Check the settings now (one clear error before any work); the client itself is built
        # in the process that calls it: the runner forks workers after setup, and a client's
        # loop thread and SQLite connection do not survive a fork.
        self._config()

    def _config(self) -> Any:
        from tagengo.llm import LLMConfig
        from tagengo.llm.errors import LLMConfigError

        try:
            config = LLMConfig.model_validate(
                {
                    "backend": "openai",
                    "model": self.cfg.endpoint_model,
                    "base_url": self.cfg.endpoint.rstrip("/"),
                    "api_key_env": self.cfg.api_key_env,
                    **self._llm,
                }
            )
            config.check()
        except (ValueError, LLMConfigError) as exc:
            raise ConfigError(f"moderation endpoint {self.cfg.endpoint}: {exc}") from exc
        return config

    def _ensure_client(self) -> Any:
        if self._client is None or self._pid != os.getpid():
            from tagengo.llm import build_client

            self._client = build_client(self._config())
            self._pid = os.getpid()
        return self._client

    def _moderate(self, texts: list[list[str]]) -> list[tuple[str, list[dict]]]:
        """One call per batch of texts, all through the client: (request key, results) per batch."""
        from tagengo.llm import EndpointRequest, RunAborted

        client = self._ensure_client()
        requests = [EndpointRequest.from_body("moderations", {"input": t}, t) for t in texts]
        try:
            responses = client.call_many(requests, desc="moderation")
        except RunAborted as exc:  # 401/403/404, or the server refusing everything
            raise ConfigError(
                f"moderation endpoint {self.cfg.endpoint}: {exc}; check the URL, model name and key."
            ) from exc
        from tagengo.llm.accounting import Accounting

        self._acc = self._acc or Accounting()
        out = []
        for req, batch, resp in zip(requests, texts, responses, strict=True):
            self._acc.record(resp, resp.model)
            if resp.error is not None:
                raise ConfigError(f"moderation endpoint {self.cfg.endpoint} failed: {resp.error}.")
            try:
                results = json.loads(resp.content or "").get("results")
            except (ValueError, AttributeError):
                results = None
            if not isinstance(results, list) or len(results) != len(batch):
                raise ConfigError(
                    f"moderation endpoint {self.cfg.endpoint}: the answer does not hold one result per input."
                )
            out.append((req.key(client.model_id), results))
        return out

    def keep_batch(self, batch: Sequence[Record]) -> list[tuple[bool, str]]:
        todo = [i for i, r in enumerate(batch) if not r.meta.get("moderation")]
        groups = [todo[s : s + self.batch_size] for s in range(0, len(todo), self.batch_size)]
        verdicts = self._moderate([[batch[i].first_user() for i in idx] for idx in groups]) if groups else []
        for idx, (key, results) in zip(groups, verdicts, strict=True):
            for i, result in zip(idx, results, strict=True):
                cats = sorted(k for k, v in (result.get("categories") or {}).items() if v is True)
                batch[i].meta["moderation"] = {
                    "flagged": bool(result.get("flagged")),
                    "categories": cats,
                    "source": "endpoint",
                    "request_key": key,
                }
        out = []
        for r in batch:
            mod = r.meta.get("moderation") or {}
            if mod.get("source") == "endpoint" and (
                mod["flagged"] or (self.cfg.categories and mod["categories"])
            ):
                out.append(
                    (
                        False,
                        f"moderation endpoint: flagged ({', '.join(mod['categories']) or 'no category given'})",
                    )
                )
            else:
                out.append((True, ""))
        return out

    def close(self) -> None:
        """Close this process's client (connections, cache)."""
        if self._client is not None and self._pid == os.getpid():
            self._client.close()
        self._client = None

    def summary(self) -> dict:
        """Calls, cached, retries, failures and tokens since the last call (the runner adds them up)."""
        acc, self._acc = self._acc, None
        return {"models": acc.summary(percentiles=False)} if acc is not None else {}
