"""Placeholder: the `drafts` sub-command is registered here."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add the sub-command to the CLI."""
    del sub


def run(args: argparse.Namespace) -> int:
    """Run the sub-command."""
    return 0
