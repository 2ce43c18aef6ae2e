"""Group commit: concurrent requests share one transaction, and each answers once its item is stored."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from anyio import CapacityLimiter, to_thread

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """Hands items from concurrent requests to `write` in batches, one call (one transaction) a batch.

    An idle server writes each item at once; under load the next batch fills while one commits, so
    commits grow instead of queueing. A request still waits for the commit holding its item, so its
    answer means "stored". `write` runs in a worker thread and returns one result per item.
    """

    def __init__(self, write: Callable[[Sequence[Item]], Sequence[Result]], max_batch: int = 500) -> None:
        self._write = write
        self._max_batch = max_batch
        self._queue: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writing = 0
        self._flusher: asyncio.Task[None] | None = None
        self._limiter: CapacityLimiter | None = None

    @property
    def waiting(self) -> int:
        """How many items wait for their commit."""
        return len(self._queue) + self._writing

    async def submit(self, item: Item) -> Result:
        """Queue `item` and return its result once the batch holding it is committed."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        # The future is not the write itself: a client hanging up cancels only its own wait.
        return await future

    async def _flush(self) -> None:
        if self._limiter is None:
            self._limiter = CapacityLimiter(1)  # one writer thread; batching does the rest
        try:
            while self._queue:
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
                self._writing = len(batch)
                try:
                    results = await to_thread.run_sync(
                        self._write, [item for item, _ in batch], limiter=self._limiter
                    )
                except Exception as exc:  # the whole batch failed: every request hears why
                    for _, future in batch:
                        if not future.done():  # a request cancelled meanwhile waits no more
                            future.set_exception(exc)
                else:
                    for (_, future), result in zip(batch, results, strict=True):
                        if not future.done():
                            future.set_result(result)
                finally:
                    self._writing = 0
        finally:
            self._flusher = None
