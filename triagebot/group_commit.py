"""Group commit: concurrent requests hand their writes to one thread that commits many in one transaction.

A request awaits its item's future; the writer takes everything queued, applies it in one transaction,
and only after the commit wakes each request with its own result. While one batch commits, the next
one gathers, so batches grow with load and a lone request waits for nothing but its own commit. When a
batch fails, its items are retried one at a time, so a poisoned item fails alone.

`GroupCommit` commits on a thread, for a driver that blocks (SQLite); `AsyncGroupCommit` commits in a
task on the event loop, for an asyncio driver (PostgreSQL through psycopg), with no thread hand-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

_Settled = tuple["asyncio.Future[R]", bool, "R | BaseException"]


class GroupCommit(Generic[T, R]):
    """One writer thread, started on demand, that commits queued items in batches."""

    def __init__(
        self,
        apply_batch: Callable[[Sequence[T]], Sequence[R]],
        apply_one: Callable[[T], R],
        *,
        max_batch: int = 256,
        idle_seconds: float = 5.0,
        name: str = "group-commit",
    ) -> None:
        self._apply_batch = apply_batch
        self._apply_one = apply_one
        self._max_batch = max_batch
        self._idle = idle_seconds
        self._name = name
        self._queue: deque[tuple[T, asyncio.Future[R], asyncio.AbstractEventLoop]] = deque()
        self._ready = threading.Condition()
        self._running = False
        self.batches = 0  # committed batches, for tests and the bench

    async def submit(self, item: T) -> R:
        """Queue `item` and return its result once the transaction holding it has committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        with self._ready:
            self._queue.append((item, future, loop))
            if not self._running:
                # The thread stops after a quiet spell, so an app that is dropped leaves none behind.
                self._running = True
                threading.Thread(target=self._run, name=self._name, daemon=True).start()
            self._ready.notify()
        return await future

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue:
                    if not self._ready.wait(self._idle) and not self._queue:
                        self._running = False
                        return
                count = min(len(self._queue), self._max_batch)
                batch = [self._queue.popleft() for _ in range(count)]
            self._commit(batch)

    def _commit(self, batch: list[tuple[T, asyncio.Future[R], asyncio.AbstractEventLoop]]) -> None:
        items = [item for item, _future, _loop in batch]
        outcomes: list[tuple[bool, R | BaseException]]
        try:
            outcomes = [(True, result) for result in self._apply_batch(items)]
            self.batches += 1
        except Exception:
            log.warning("a batch of %d failed; committing its items one at a time", len(items), exc_info=True)
            outcomes = [self._one(item) for item in items]
        by_loop: dict[asyncio.AbstractEventLoop, list[_Settled[R]]] = {}
        for (_item, future, loop), (ok, value) in zip(batch, outcomes, strict=True):
            by_loop.setdefault(loop, []).append((future, ok, value))
        for loop, settled in by_loop.items():
            # One wake-up per loop and batch; a loop closed meanwhile has nobody waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, settled)

    def _one(self, item: T) -> tuple[bool, R | BaseException]:
        try:
            return True, self._apply_one(item)
        except Exception as exc:
            return False, exc


def _settle(settled: list[_Settled[R]]) -> None:
    for future, ok, value in settled:
        if future.cancelled():  # the client went away; its item is committed all the same
            continue
        if ok:
            future.set_result(value)  # type: ignore[arg-type]
        else:
            assert isinstance(value, BaseException)
            future.set_exception(value)


class AsyncGroupCommit(Generic[T, R]):
    """The same on the event loop, for a store with an asyncio driver: one task commits queued items in
    batches, and while it awaits the database the loop goes on serving requests (no thread to hand off to)."""

    def __init__(
        self,
        apply_batch: Callable[[Sequence[T]], Awaitable[Sequence[R]]],
        *,
        max_batch: int = 256,
        idle_seconds: float = 5.0,
    ) -> None:
        self._apply_batch = apply_batch
        self._max_batch = max_batch
        self._idle = idle_seconds
        self._queue: deque[tuple[T, asyncio.Future[R]]] = deque()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # committed batches, for tests and the bench

    async def submit(self, item: T) -> R:
        """Queue `item` and return its result once the transaction holding it has committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._queue.append((item, future))
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            # The task stops after a quiet spell; an app served by a new loop (tests) gets its own.
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._run())
        assert self._wake is not None
        self._wake.set()
        return await future

    async def _run(self) -> None:
        assert self._wake is not None
        wake = self._wake
        while True:
            if not self._queue:
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), self._idle)
                if not self._queue:
                    return
            batch = [self._queue.popleft() for _ in range(min(len(self._queue), self._max_batch))]
            await self._commit(batch)

    async def _commit(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        items = [item for item, _future in batch]
        outcomes: list[tuple[bool, R | BaseException]]
        try:
            outcomes = [(True, result) for result in await self._apply_batch(items)]
            self.batches += 1
        except Exception:
            log.warning("a batch of %d failed; committing its items one at a time", len(items), exc_info=True)
            outcomes = [await self._one(item) for item in items]
        _settle([(future, ok, value) for (_item, future), (ok, value) in zip(batch, outcomes, strict=True)])

    async def _one(self, item: T) -> tuple[bool, R | BaseException]:
        try:
            return True, (await self._apply_batch([item]))[0]
        except Exception as exc:
            return False, exc
