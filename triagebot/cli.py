"""The `triagebot` command: serve | migrate | demo | draft | gate | replay | run-job."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pydantic import ValidationError
from pydantic_settings import SettingsError

from triagebot import commands as service_commands
from triagebot import draft_command, gate_command
from triagebot.demo import run as demo
from triagebot.settings import BadSetting, describe_settings_error


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with one sub-command per verb."""
    parser = argparse.ArgumentParser(prog="triagebot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    service_commands.register(sub)
    demo.register(sub)
    draft_command.register(sub)
    gate_command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except BadSetting as exc:
        print(f"triagebot {args.command}: {exc}", file=sys.stderr)
    except (ValidationError, SettingsError) as exc:
        # A command that read Settings() itself: the same short message as load_settings() gives.
        if isinstance(exc, ValidationError) and exc.title != "Settings":
            raise
        print(f"triagebot {args.command}: {describe_settings_error(exc)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
