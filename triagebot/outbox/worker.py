"""The delivery loop: claim due rows, call their handler, settle them (done, retry later, dead)."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from triagebot.db import SessionFactory, transaction, utcnow
from triagebot.errors import PermanentFailure, RetryLater
from triagebot.outbox import store
from triagebot.outbox.models import DEAD, OutboxMessage

log = logging.getLogger(__name__)

Handler = Callable[[OutboxMessage], None]
# Lanes are named "<system>:<destination>"; the interval is per system (Slack: one call a second a channel).
LaneIntervals = dict[str, float]


@dataclass
class Outbox:
    """Delivers outbox rows through registered handlers; one per process, safe to run in several."""

    sessions: SessionFactory
    handlers: dict[str, Handler] = field(default_factory=dict)
    lane_intervals: LaneIntervals = field(default_factory=dict)
    worker_id: str = field(default_factory=lambda: f"w-{uuid.uuid4().hex[:10]}")
    poll_seconds: float = 1.0
    on_settled: Callable[[str, str], None] | None = None  # (kind, result) for metrics
    slow_kinds: set[str] = field(default_factory=set)
    _wakes: dict[bool, threading.Event] = field(
        default_factory=lambda: {False: threading.Event(), True: threading.Event()}, init=False
    )
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _threads: list[threading.Thread] = field(default_factory=list, init=False)

    def register(self, kind: str, handler: Handler, *, slow: bool = False) -> None:
        """Route rows of `kind` to `handler`; `slow` ones (a browser run) get a thread of their own."""
        self.handlers[kind] = handler
        if slow:
            self.slow_kinds.add(kind)

    def kick(self) -> None:
        """Wake the delivery threads: something was just committed."""
        for wake in self._wakes.values():
            wake.set()

    def drain(self, *, max_rounds: int = 1000, slow: bool | None = None) -> int:
        """Deliver what is due now, in this thread; return how many rows were handled.

        `slow=None` takes every kind (tests, `run-job outbox`); True or False one thread's share.
        """
        kinds = self.slow_kinds if slow else None
        skip = self.slow_kinds if slow is False else ()
        handled = 0
        for _ in range(max_rounds):
            batch = store.claim(self.sessions, self.worker_id, kinds=kinds, skip_kinds=skip)
            if not batch:
                break
            closed: set[str] = set()
            deferred: list[int] = []
            for message in batch:
                if message.lane in closed and message.id is not None:
                    deferred.append(message.id)
                    continue
                if self.deliver(message) == "throttled" and message.lane:
                    closed.add(message.lane)
            store.release(self.sessions, deferred)
            handled += len(batch) - len(deferred)
        return handled

    def deliver(self, message: OutboxMessage) -> str:
        """Run one claimed row's handler, then settle the row.

        No transaction is held while the handler calls out (a slow Slack must not block intake on
        SQLite's single writer), so handlers are idempotent: a crash after the call but before
        settling repeats the row, and handlers check what they already did.
        """
        assert message.id is not None
        result = "done"
        try:
            if message.lane and self._throttled(message):
                result = "throttled"
                return result
            handler = self.handlers.get(message.kind)
            if handler is None:
                raise PermanentFailure(f"no handler for outbox kind {message.kind!r}")
            handler(message)
            with transaction(self.sessions) as session:
                store.settle_done(session, message.id)
        except RetryLater as exc:
            result = self._retry(message, exc)
        except PermanentFailure as exc:
            log.error("outbox %s #%s failed for good: %s", message.kind, message.id, exc)
            with transaction(self.sessions) as session:
                store.settle_dead(session, message.id, str(exc))
            result = "dead"
        except Exception as exc:  # a bug or an unexpected error: keep the row, retry with backoff
            log.exception("outbox %s #%s raised", message.kind, message.id)
            result = self._retry(message, RetryLater(f"{type(exc).__name__}: {exc}"))
        finally:
            if self.on_settled:
                self.on_settled(message.kind, result)
        return result

    def _throttled(self, message: OutboxMessage) -> bool:
        """Take the row's lane slot, or put the row back until the lane frees up."""
        assert message.lane is not None
        interval = self.lane_intervals.get(message.lane.split(":", 1)[0], 0.0)
        if not interval:
            return False
        with transaction(self.sessions) as session:
            busy_until = store.take_lane_slot(session, message.lane, interval)
            if busy_until is None:
                return False
            delay = max(0.0, (busy_until - utcnow()).total_seconds())
            store.settle_later(session, message, delay, "waiting for lane", count=False)
        return True

    def _retry(self, message: OutboxMessage, exc: RetryLater) -> str:
        delay = exc.after if exc.after is not None else store.backoff(message.attempts + 1)
        with transaction(self.sessions) as session:
            if exc.after is not None and message.lane:
                store.push_lane(session, message.lane, utcnow() + timedelta(seconds=exc.after))
            status = store.settle_later(session, message, delay, str(exc), count=True)
        if status == DEAD:
            log.error(
                "outbox %s #%s gave up after %s attempts: %s",
                message.kind,
                message.id,
                store.MAX_ATTEMPTS,
                exc,
            )
            return "dead"
        log.warning("outbox %s #%s retry in %.1fs: %s", message.kind, message.id, delay, exc)
        return "retry"

    def start(self) -> None:
        """Start the delivery threads: one for quick calls, one for slow kinds such as gate runs.

        A gate can keep a browser busy for minutes; Slack replies must not wait behind it.
        """
        if not self._threads:
            self._stop.clear()
            for slow in (False, True):
                thread = threading.Thread(target=self._run, args=(slow,), name=f"outbox-{slow}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self) -> None:
        """Stop the background threads after their current row."""
        self._stop.set()
        self.kick()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads = []

    def _run(self, slow: bool) -> None:
        while not self._stop.is_set():
            try:
                handled = self.drain(max_rounds=50, slow=slow)
            except Exception:  # the database may be briefly unreachable; try again next round
                log.exception("outbox round failed")
                handled = 0
            if not handled:
                self._wakes[slow].wait(self.poll_seconds)
                self._wakes[slow].clear()
                # A short pause lets a burst of commits land first, so their edits coalesce into one
                # and a webhook storm does not turn into a claim query per webhook.
                self._stop.wait(0.2)
