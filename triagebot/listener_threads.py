"""The threads Slack listeners run on after their ack, which a shutdown or a test can wait for."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any


class ListenerThreads(concurrent.futures.ThreadPoolExecutor):
    """Bolt's listener executor, keeping count of the work still running.

    A listener acks first and stores the click after, so "Slack heard OK" comes before "stored":
    shutting down waits for that work, and tests wait for it before they look at the database.
    """

    def __init__(self, max_workers: int = 10) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="slack-listener")
        self._running: set[concurrent.futures.Future[Any]] = set()
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        """Run `fn` on a listener thread, counted until it ends."""
        future = super().submit(fn, *args, **kwargs)
        with self._lock:
            self._running.add(future)
        future.add_done_callback(self._forget)
        return future

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every listener submitted so far has ended; return False on timeout."""
        with self._lock:
            running = list(self._running)
        _done, pending = concurrent.futures.wait(running, timeout=timeout)
        return not pending

    def _forget(self, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._running.discard(future)
