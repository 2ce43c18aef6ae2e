"""Running jobs: one run now under its lease (`run_job`), or all of them on their triggers (`Scheduler`).

Importing this module registers every job: the list of job modules below is the whole catalogue.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler

from triagebot.jobs import builtin, cleanup, digest, leases, reminders
from triagebot.jobs.registry import JOBS, IntervalTrigger

if TYPE_CHECKING:
    from triagebot.bootstrap import Services

JOB_MODULES = (builtin, cleanup, digest, reminders)  # each registers its jobs with @job on import
log = logging.getLogger(__name__)
SCHEDULER_LEASE = "scheduler"
SCHEDULER_TTL = 60.0


def run_job(services: Services, job_id: str, *, holder: str | None = None) -> str:
    """Run one job now, unless another run of it holds its lease; return its summary."""
    spec = JOBS.get(job_id)
    if spec is None:
        raise KeyError(f"unknown job {job_id!r}; known: {', '.join(sorted(JOBS))}")
    holder = holder or f"run-{uuid.uuid4().hex[:8]}"
    if not leases.acquire(services.sessions, f"job:{job_id}", holder, spec.max_seconds):
        log.info("job %s is already running elsewhere; skipped", job_id)
        return "skipped: already running"
    started = time.monotonic()
    result = "error"
    try:
        result = spec.run(services)
        log.info("job %s finished in %.2fs: %s", job_id, time.monotonic() - started, result)
        return result
    except Exception as exc:
        result = f"error: {type(exc).__name__}"
        log.exception("job %s failed", job_id)
        raise
    finally:
        leases.release(services.sessions, f"job:{job_id}", holder, result)


class Scheduler:
    """APScheduler in this process, firing jobs only while this instance holds the scheduler lease."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.holder = f"sched-{uuid.uuid4().hex[:10]}"
        self.scheduler = BackgroundScheduler(timezone="UTC")

    def start(self) -> None:
        """Schedule every registered job and the lease heartbeat."""
        self.scheduler.add_job(
            self._heartbeat, IntervalTrigger(seconds=SCHEDULER_TTL / 3), id="lease", max_instances=1
        )
        for spec in JOBS.values():
            self.scheduler.add_job(
                self._fire,
                spec.trigger,
                args=[spec.id],
                id=spec.id,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=60,
            )
        self._heartbeat()
        self.scheduler.start()

    def stop(self) -> None:
        """Stop scheduling and give up the lease so another instance takes over at once."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        leases.release(self.services.sessions, SCHEDULER_LEASE, self.holder, "stopped")

    def _heartbeat(self) -> None:
        self.leader = leases.acquire(self.services.sessions, SCHEDULER_LEASE, self.holder, SCHEDULER_TTL)

    def _fire(self, job_id: str) -> None:
        if not getattr(self, "leader", False):
            return
        with contextlib.suppress(Exception):  # logged by run_job; the next tick tries again
            run_job(self.services, job_id, holder=self.holder)


__all__ = ["JOBS", "JOB_MODULES", "Scheduler", "run_job"]
