"""The call loops: event-loop threads that carry a client's HTTP calls for its control loop
(``LLMClient``; why and when in ``tagengo.llm.client.call_loops``).

A call goes over and its outcome comes back through a *mailbox*: callables queued for a loop and
run there in order, with one wake-up of that loop per batch rather than one per call
(``asyncio.run_coroutine_threadsafe`` wakes the other loop for every call and again for every
answer, and 64 answers arrive together every round).
"""

from __future__ import annotations

import asyncio
import collections
import threading
from collections.abc import Callable, Coroutine
from typing import Any


class Mailbox:
    """Callables to run on ``loop``, from any thread, in the order they were put."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self._items: collections.deque[tuple[Callable[..., Any], tuple[Any, ...]]] = collections.deque()
        self._lock = threading.Lock()
        self._woken = False  # a drain is scheduled and has not yet taken the queue

    def put(self, fn: Callable[..., Any], *args: Any) -> None:
        with self._lock:
            self._items.append((fn, args))
            if self._woken:
                return
            self._woken = True
        self.loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        with self._lock:
            items, self._items = self._items, collections.deque()
            self._woken = False
        for fn, args in items:
            fn(*args)


class CallLoops:
    """``n`` event loops, each in its own daemon thread, that run coroutines for ``control``."""

    def __init__(self, n: int, control: asyncio.AbstractEventLoop, name: str = "tagengo-llm-calls"):
        self._back = Mailbox(control)
        self._loops: list[tuple[asyncio.AbstractEventLoop, threading.Thread, Mailbox]] = []
        for i in range(n):
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name=f"{name}-{i}", daemon=True)
            thread.start()
            self._loops.append((loop, thread, Mailbox(loop)))

    def __len__(self) -> int:
        return len(self._loops)

    def on_each(self, make: Callable[[], Coroutine[Any, Any, Any]], timeout: float | None = None) -> None:
        """Run ``make()`` on every loop, one after another, from a thread that is none of them."""
        for loop, _, _ in self._loops:
            asyncio.run_coroutine_threadsafe(make(), loop).result(timeout)

    def run(self, lane: int, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        """On the control loop: run ``coro`` on loop ``lane`` (modulo their number); a future of
        the control loop with its outcome. Cancelling that future cancels ``coro`` too."""
        _, _, box = self._loops[lane % len(self._loops)]
        fut = self._back.loop.create_future()
        # [the task once it runs, True if cancelled before]: touched on the call loop only.
        slot: list[Any] = [None, False]
        fut.add_done_callback(lambda f: f.cancelled() and box.put(_cancel, slot))
        box.put(self._start, coro, fut, slot)
        return fut

    def _start(self, coro: Coroutine[Any, Any, Any], fut: asyncio.Future[Any], slot: list[Any]) -> None:
        if slot[1]:
            coro.close()
            return
        task = slot[0] = asyncio.get_running_loop().create_task(coro)
        task.add_done_callback(lambda t: self._back.put(_settle, t, fut))

    def close(self, timeout: float = 30) -> None:
        for loop, thread, _ in self._loops:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            loop.close()
        self._loops = []


def _cancel(slot: list[Any]) -> None:
    if slot[0] is not None:
        slot[0].cancel()
    else:
        slot[1] = True


def _settle(task: asyncio.Task[Any], fut: asyncio.Future[Any]) -> None:
    """On the control loop: hand ``task``'s outcome to ``fut`` (unless the caller gave up)."""
    if fut.done():
        return
    if task.cancelled():
        fut.cancel()
    elif (exc := task.exception()) is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(task.result())
