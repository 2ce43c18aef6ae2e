"""The job registry: each job has an id, a trigger, a description and the longest it may run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

if TYPE_CHECKING:
    from triagebot.bootstrap import Services


@dataclass(frozen=True)
class Job:
    """A scheduled job: `run(services)` returns a one-line summary of what it did."""

    id: str
    trigger: Any
    run: Callable[[Services], str]
    max_seconds: float = 600.0  # its lease lasts this long, so an overrunning job is not started twice
    description: str = ""


JOBS: dict[str, Job] = {}


def job(
    id: str, trigger: Any, description: str, max_seconds: float = 600.0
) -> Callable[[Callable[[Services], str]], Callable[[Services], str]]:
    """Register a function as a scheduled job."""

    def wrap(func: Callable[[Services], str]) -> Callable[[Services], str]:
        JOBS[id] = Job(id=id, trigger=trigger, run=func, max_seconds=max_seconds, description=description)
        return func

    return wrap


__all__ = ["JOBS", "CronTrigger", "IntervalTrigger", "Job", "job"]
