"""Every `/triage` subcommand: importing this module registers them all, the built-ins first."""

from __future__ import annotations

from triagebot.slackbot import command_builtin, command_flags, command_verify
from triagebot.slackbot.command_registry import SUBCOMMANDS, Subcommand, dispatch

MODULES = (command_builtin, command_flags, command_verify)


def load_subcommands() -> dict[str, Subcommand]:
    """Return the registry, every subcommand module having been imported with this one."""
    return SUBCOMMANDS


__all__ = ["MODULES", "dispatch", "load_subcommands"]  # dispatch from here: every subcommand is loaded
