"""The other flows' tables that the coverage queries read, imported where they are declared."""

from __future__ import annotations

from sqlalchemy import Table

from triagebot.backfill.models import RegressionTest
from triagebot.flags.models import FlagChange, FlagRollout
from triagebot.gates.tables import GateRun, GateSpecResult


def _table(model: object) -> Table:
    found: Table = model.__table__  # type: ignore[attr-defined]
    return found


def regression_tests() -> Table:
    """The backfill flow's regression tests (spec id, issue id, state, PR URL)."""
    return _table(RegressionTest)


def gate_runs() -> Table:
    """The gate service's runs."""
    return _table(GateRun)


def gate_results() -> Table:
    """The gate service's per-spec results."""
    return _table(GateSpecResult)


def flag_rollouts() -> Table:
    """The rollout record: each flag's stage per environment."""
    return _table(FlagRollout)


def flag_changes() -> Table:
    """Every change to a flag's rollout."""
    return _table(FlagChange)
