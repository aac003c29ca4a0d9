"""Model calls made in an executor's workers (``--executor ray``) for a step that decides in the driver.

A global step (prefer's answers and ranking: they follow a per-language sample of all rows)
runs in the driver; under ``--executor ray`` the runner gives it a batch map
(``tagengo.run.ray_executor.RayBatchMap``) through which it may send per-row work out.
:func:`map_chats` sends chat requests: each worker builds one client per named config, once
(the same cache, retries, limits and accounting as in the driver; ``--concurrency`` calls in
flight per worker), answers its batches with ``chat_many``, and only the responses come
back, put back in request order. So the step sees the same responses as from its own clients
and decides the same; ``--workers`` actors make the calls.
"""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import numpy as np

from tagengo.llm.config import LLMConfig
from tagengo.llm.types import ChatRequest, ChatResponse


class ChatWorker:
    """One client per named config in each worker process, built on first use.

    Called on batches ``{"i": (n,) int64 positions, "client": (n,) config names, "request": (n,)
    pickled ChatRequest}``; returns ``{"i": the same positions, "response": (n,) pickled
    ChatResponse}``. The requests of one client in a batch go out as one ``chat_many``."""

    def __init__(self, configs: dict[str, LLMConfig]) -> None:
        self._configs = configs
        self._clients: dict[str, Any] = {}

    def _client(self, name: str) -> Any:
        if name not in self._clients:
            from tagengo.llm import build_client

            self._clients[name] = build_client(self._configs[name])
        return self._clients[name]

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = [str(n) for n in batch["client"]]
        requests = [pickle.loads(bytes(b)) for b in batch["request"]]
        out: list[bytes | None] = [None] * len(requests)
        for name in dict.fromkeys(names):
            idx = [k for k, n in enumerate(names) if n == name]
            answers = self._client(name).chat_many([requests[k] for k in idx])
            for k, resp in zip(idx, answers, strict=True):
                out[k] = pickle.dumps(resp)
        return {"i": np.asarray(batch["i"], dtype=np.int64), "response": np.array(out, dtype=object)}


def map_chats(
    batch_map: Any, configs: dict[str, LLMConfig], calls: list[tuple[str, ChatRequest]]
) -> list[ChatResponse]:
    """The responses to ``calls`` (config name, request), in order, made in ``batch_map``'s workers.

    Identical calls are made once; later copies come back marked ``cached``, as one client
    marks them within a ``chat_many``. Each worker gets about an equal share of the calls (at
    least ``concurrency`` of them per batch, so that a client's concurrency is used)."""
    import pyarrow as pa

    first: dict[tuple[str, bytes], int] = {}
    unique: list[tuple[str, bytes]] = []
    which: list[int] = []
    for name, req in calls:
        key = (name, pickle.dumps(req))
        if key not in first:
            first[key] = len(unique)
            unique.append(key)
        which.append(first[key])
    n = len(unique)
    if n == 0:
        return []
    actors = max(1, int(getattr(batch_map, "actors", 1)))
    concurrency = max(configs[name].concurrency for name in {name for name, _ in unique})
    batch_size = max(concurrency, -(-n // actors))
    table = pa.table(
        {
            "i": pa.array(np.arange(n, dtype=np.int64)),
            "client": pa.array([name for name, _ in unique], pa.string()),
            "request": pa.array([blob for _, blob in unique], pa.binary()),
        }
    )
    got: list[ChatResponse | None] = [None] * n
    for out in batch_map.map_batches(ChatWorker, (configs,), table, batch_size):
        for i, blob in zip(out["i"], out["response"], strict=True):
            got[int(i)] = pickle.loads(bytes(blob))
    missing = [i for i, r in enumerate(got) if r is None]
    if missing:
        raise RuntimeError(f"{len(missing)} of {n} model calls came back from no worker")
    responses: list[ChatResponse] = []
    seen: set[int] = set()
    for u in which:
        resp = got[u]
        assert resp is not None
        responses.append(resp if u not in seen else dataclasses.replace(resp, cached=True))
        seen.add(u)
    return responses
