"""The other flows' tables, when they exist: the coverage queries degrade to "none yet" without them."""

from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy import Table


def table(module: str, model: str) -> Table | None:
    """Return `module.model`'s table, or None while that flow is not installed."""
    try:
        found: Any = getattr(importlib.import_module(module), model)
    except (ImportError, AttributeError):
        return None
    found_table: Table = found.__table__
    return found_table


def regression_tests() -> Table | None:
    """The backfill flow's regression tests (spec id, issue id, state, PR URL)."""
    return table("triagebot.backfill.models", "RegressionTest")


def gate_runs() -> Table | None:
    """The gate service's runs."""
    return table("triagebot.gates.tables", "GateRun")


def gate_results() -> Table | None:
    """The gate service's per-spec results."""
    return table("triagebot.gates.tables", "GateSpecResult")


def flag_rollouts() -> Table | None:
    """The rollout record: each flag's stage per environment."""
    return table("triagebot.flags.models", "FlagRollout")


def flag_changes() -> Table | None:
    """Every change to a flag's rollout."""
    return table("triagebot.flags.models", "FlagChange")
