"""`triagebot draft EVENT.json [--out DIR] [--format ts|python]`: write a spec and its rendered test.

DIR is the app repository's root: the spec goes to `DIR/.triagebot/tests/<id>.yml` and the test
where `DIR/.triagebot/config.yml` says (by default `DIR/e2e/regressions/`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from triagebot.drafts.config import SPEC_DIR, Format, load_config
from triagebot.drafts.derive import derive_spec
from triagebot.drafts.event import normalize_event
from triagebot.drafts.render import render_test
from triagebot.drafts.spec import dump_spec, parse_spec
from triagebot.errors import BadInput


def register(sub: Any) -> None:
    """Add the `draft` sub-command to the CLI."""
    parser = sub.add_parser(
        "draft",
        help="write a regression spec and Playwright test from a Sentry event file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "event", metavar="EVENT.json", help="a Sentry event, webhook body or API response ('-' reads stdin)"
    )
    parser.add_argument(
        "--out", metavar="DIR", type=Path, default=None, help="the app repository root (default: here)"
    )
    parser.add_argument(
        "--format", choices=["ts", "python"], help="test language (default: from config, else ts)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the draft; exit 2 with a one-line message when the input is unusable."""
    try:
        written = write_draft(args.event, out=args.out or Path("."), fmt=args.format)
    except BadInput as exc:
        print(f"triagebot draft: {exc}", file=sys.stderr)
        return 2
    if args.out is None:
        print(f"no --out given: wrote into this directory ({Path.cwd()}) as the app repository's root")
    for path in written:
        print(f"wrote {path}")
    return 0


def write_draft(source: str, *, out: Path, fmt: str | None = None) -> list[Path]:
    """Derive and write the spec and its test under the repo root `out`; return the files written."""
    payload = _read_json(source)
    config = load_config(out)
    spec = derive_spec(normalize_event(payload), test_id_attribute=config.test_id_attribute)
    spec_text = dump_spec(spec)
    parse_spec(_yaml_round_trip(spec_text), file=f"{SPEC_DIR}/{spec.id}.yml")  # what the gate will load
    chosen: Format = "python" if (fmt or config.format) == "python" else "ts"
    test_rel, test_text = render_test(spec, chosen, config=config)
    spec_path, test_path = out / SPEC_DIR / f"{spec.id}.yml", out / test_rel
    for path, text in ((spec_path, spec_text), (test_path, test_text)):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise BadInput(f"{path}: cannot be written: {exc.strerror}") from None
    return [spec_path, test_path]


def _read_json(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{source}: cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{source}: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def _yaml_round_trip(text: str) -> Any:
    return yaml.safe_load(text)
