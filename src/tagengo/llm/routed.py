"""Several clients behind one call: each request goes to the client its route names.

``generate --routing`` uses it to send each language to its own teacher
(tagengo.run.routing_table). Every named config gets an ordinary client (its own cache identity,
retries, limits, budget, accounting and, with ``--batch``, its own batches), all drawing their
progress on one console (rich shows their bars together), and one ``chat_many`` asks each client
for its share at the same time, one thread per client (each client runs its own event loop).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rich.console import Console

from tagengo.llm.config import LLMConfig
from tagengo.llm.types import ChatRequest, ChatResponse


class RoutedClient:
    """``configs``: route name -> the config of its client (built on first use)."""

    def __init__(self, configs: dict[str, LLMConfig], *, progress: bool = False) -> None:
        self.configs = dict(configs)
        self.progress = progress
        self.console = Console(stderr=True)
        self.clients: dict[str, Any] = {}

    def client(self, name: str) -> Any:
        if name not in self.clients:
            from tagengo.llm import build_client

            self.clients[name] = build_client(
                self.configs[name], progress=self.progress, console=self.console
            )
        return self.clients[name]

    def chat_many(
        self, requests: list[ChatRequest], routes: list[str], *, desc: str = ""
    ) -> list[ChatResponse]:
        """Answers in request order; ``routes[i]`` names the client of ``requests[i]``. Raises what
        a client raises (``BudgetExhausted``, ``RunAborted``, ``BatchPending``) once every client
        is done with its share; the first client's error in route order wins."""
        if len(routes) != len(requests):
            raise ValueError(f"{len(requests)} requests but {len(routes)} routes")
        groups: dict[str, list[int]] = {}
        for i, route in enumerate(routes):
            groups.setdefault(route, []).append(i)
        for name in groups:
            self.client(name)  # built here, in this thread: a bad config fails before any call
        out: list[ChatResponse | None] = [None] * len(requests)

        def ask(name: str) -> list[ChatResponse]:
            label = f"{desc}: {name}" if desc else name
            return self.clients[name].chat_many([requests[i] for i in groups[name]], desc=label)

        errors: list[BaseException] = []
        with ThreadPoolExecutor(max_workers=max(1, len(groups))) as pool:
            futures = {name: pool.submit(ask, name) for name in groups}
            for name, fut in futures.items():
                try:
                    got = fut.result()
                except Exception as e:
                    errors.append(e)
                    got = list(getattr(e, "responses", None) or [None] * len(groups[name]))
                for i, resp in zip(groups[name], got, strict=True):
                    out[i] = resp
        if errors:
            if hasattr(errors[0], "responses"):
                errors[0].responses = out  # type: ignore[attr-defined]
            raise errors[0]
        return out  # type: ignore[return-value]

    def summary(self) -> dict[str, Any]:
        """Every client's figures, per model name."""
        merged: dict[str, Any] = {}
        for client in self.clients.values():
            merged.update(client.summary())
        return merged

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
        self.clients.clear()

    def __enter__(self) -> RoutedClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
