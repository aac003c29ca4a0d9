"""The part every loopback test server shares: an aiohttp application served on 127.0.0.1
from its own thread and event loop, so a synchronous test (or a benchmark) can start it, talk
to it over real HTTP and stop it. Port 0 picks a free port; ``url`` is the ``/v1`` API root."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, ClassVar, Self

from aiohttp import web


class LoopbackServer:
    """Subclasses give ``app()`` (their routes) and may set ``runner_options`` and ``thread_name``."""

    thread_name: ClassVar[str] = "loopback-server"
    #: Extra ``web.AppRunner`` keywords (e.g. ``handler_cancellation``).
    runner_options: ClassVar[dict[str, Any]] = {}

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def app(self) -> web.Application:
        raise NotImplementedError

    async def _serve(self) -> None:
        # shutdown_timeout: stopping does not wait for requests that hang on purpose.
        self._runner = web.AppRunner(
            self.app(), access_log=None, handle_signals=False, shutdown_timeout=0.5, **self.runner_options
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def start(self) -> Self:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=self.thread_name, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=30)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
