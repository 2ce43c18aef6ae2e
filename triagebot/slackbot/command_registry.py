"""`/triage` subcommands as data: a registry from name to handler, the parser, and the dispatcher.

A subcommand is a handler decorated with `@subcommand(...)` in a `command_*` module; the list of those
modules is `triagebot.slackbot.subcommands`, which the dispatcher imports.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from triagebot.bootstrap import Services

log = logging.getLogger(__name__)

Blocks = list[dict[str, Any]]


class UsageError(Exception):
    """Bad arguments: the message, and the usage line, go back to the user."""


@dataclass(frozen=True)
class Invocation:
    """One `/triage` call: who asked where, the subcommand's arguments, and the services to answer with."""

    services: Services
    name: str
    args: list[str]
    user_id: str = ""
    channel_id: str = ""
    team_domain: str | None = None
    share: bool = False

    def option(self, flag: str) -> str | None:
        """Return the value of `--flag N` or `--flag=N`, or None."""
        for index, arg in enumerate(self.args):
            if arg == flag:
                if index + 1 >= len(self.args):
                    raise UsageError(f"`{flag}` needs a value")
                return self.args[index + 1]
            if arg.startswith(flag + "="):
                return arg.split("=", 1)[1]
        return None

    def positional(self, *flags_with_values: str) -> list[str]:
        """Return the arguments that are neither options nor option values."""
        found: list[str] = []
        skip = False
        for arg in self.args:
            if skip:
                skip = False
                continue
            if arg in flags_with_values:
                skip = True
                continue
            if arg.startswith("--"):
                continue
            found.append(arg)
        return found


@dataclass
class Answer:
    """What a subcommand says: fallback text plus blocks (split into pages when too long)."""

    text: str
    blocks: Blocks = field(default_factory=list)
    private: bool = False  # never posted in channel, even with --share (mistakes, errors)


Handler = Callable[[Invocation], Answer]


@dataclass(frozen=True)
class Subcommand:
    """A registered subcommand: its handler and how `help` describes it."""

    name: str
    handler: Handler
    usage: str
    summary: str


SUBCOMMANDS: dict[str, Subcommand] = {}


def subcommand(name: str, usage: str, summary: str) -> Callable[[Handler], Handler]:
    """Register a `/triage NAME` handler."""

    def wrap(handler: Handler) -> Handler:
        SUBCOMMANDS[name] = Subcommand(name, handler, usage, summary)
        return handler

    return wrap


def parse(text: str) -> tuple[str, list[str], bool]:
    """Split `/triage` text into the subcommand, its arguments and whether `--share` was asked for."""
    try:
        words = shlex.split(text.strip())
    except ValueError as exc:  # an unbalanced quote
        raise UsageError(f"could not read the arguments: {exc}") from None
    share = "--share" in words
    words = [word for word in words if word != "--share"]
    if not words:
        return "help", [], share
    return words[0].lower(), words[1:], share


def dispatch(invocation: Invocation) -> Answer:
    """Run the invocation's subcommand; unknown names and bad arguments get a helpful answer."""
    command = SUBCOMMANDS.get(invocation.name)
    if command is None:
        return usage_answer(f"I don't know `/triage {invocation.name}`.", None)
    try:
        return command.handler(invocation)
    except UsageError as exc:
        return usage_answer(str(exc), command)


def usage_answer(problem: str, command: Subcommand | None) -> Answer:
    """Explain a mistake and show the usage (of one subcommand, or all of them)."""
    from triagebot.messages.mrkdwn import safe

    lines = [f":warning: {safe(problem, 1000)}"]
    if command is not None:
        lines.append(f"Usage: `{command.usage}`")
    else:
        lines.append("Try one of these:")
        lines.extend(f"• `{sub.usage}` - {sub.summary}" for sub in sorted_commands())
    text = "\n".join(lines)
    return Answer(
        text=text, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}], private=True
    )


def sorted_commands() -> list[Subcommand]:
    """Return the registered subcommands, `help` last."""
    return sorted(SUBCOMMANDS.values(), key=lambda sub: (sub.name == "help", sub.name))
