"""Every `/triage` subcommand: importing this module registers them all, the built-ins first."""

from __future__ import annotations

from triagebot.slackbot import command_builtin, command_flags, command_verify
from triagebot.slackbot.command_registry import dispatch

MODULES = (command_builtin, command_flags, command_verify)


__all__ = ["MODULES", "dispatch"]  # dispatch from here: every subcommand is loaded
