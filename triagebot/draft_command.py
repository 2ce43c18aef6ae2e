"""`triagebot draft EVENT.json [--out DIR] [--format ts|python] [--verify URL]`: write a spec and its test.

DIR is the app repository's root: the spec goes to `DIR/.triagebot/tests/<id>.yml` and the test
where `DIR/.triagebot/config.yml` says (by default `DIR/e2e/regressions/`).

With --verify URL the draft is run against URL as the gate would run it (trying its alternatives
when it does not reproduce) and the verdict is kept in the spec's `verification:` block and printed
as the last line. Exit status: 0 drafted (reproduced or not_reproduced), 2 bad usage, 3 the
verification could not run (unreachable, host not allowed, no browser): result `error`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from triagebot.drafts.config import SPEC_DIR, Format, load_repo_config
from triagebot.drafts.derive import derive_spec
from triagebot.drafts.render import render_test
from triagebot.errors import BadInput
from triagebot.integrations.sentry.event import normalize_event
from triagebot.settings import BadSetting, Settings, load_settings
from triagebot.spec import dump_spec, parse_spec
from triagebot.verify.run import Outcome, verify_draft


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
    parser.add_argument(
        "--verify", metavar="URL", help="run the draft against this build and record whether it reproduces"
    )
    parser.add_argument(
        "--verify-budget",
        metavar="SECONDS",
        type=float,
        help="time for trying alternatives when the draft does not reproduce (default 60)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the draft (verified when asked); exit 2 with a one-line message when the input is unusable."""
    outcome: list[Outcome] = []
    try:
        written = write_draft(
            args.event,
            out=args.out or Path("."),
            fmt=args.format,
            verify_url=getattr(args, "verify", None),
            verify_budget=getattr(args, "verify_budget", None),
            outcome=outcome,
        )
    except BadInput as exc:
        print(f"triagebot draft: {exc}", file=sys.stderr)
        return 2
    if args.out is None:
        print(f"no --out given: wrote into this directory ({Path.cwd()}) as the app repository's root")
    for path in written:
        print(f"wrote {path}")
    if not outcome:
        return 0
    verification = outcome[0].verification
    for line in outcome[0].tried:
        print(f"tried: {line}")
    print(f"{verification.result} ({verification.base_url}): {verification.detail}")
    return 3 if verification.result == "error" else 0


def write_draft(
    source: str,
    *,
    out: Path,
    fmt: str | None = None,
    verify_url: str | None = None,
    verify_budget: float | None = None,
    outcome: list[Outcome] | None = None,
) -> list[Path]:
    """Derive (and verify, given a URL) the spec, write it and its test under `out`; return the files."""
    payload = _read_json(source)
    repo_config = load_repo_config(out)
    config, preview = repo_config.drafts, repo_config.preview
    event = normalize_event(payload)
    spec = derive_spec(event, test_id_attribute=config.test_id_attribute, preview=preview)
    if verify_url is not None:
        result = verify_draft(
            spec,
            base_url=verify_url,
            settings=_settings_for(verify_url),
            event=event,
            budget_seconds=verify_budget,
            preview=preview,
        )
        spec = result.spec
        if outcome is not None:
            outcome.append(result)
    spec_text = dump_spec(spec)
    parse_spec(_yaml_round_trip(spec_text), file=f"{SPEC_DIR}/{spec.id}.yml")  # what the gate will load
    chosen: Format = "python" if (fmt or config.format) == "python" else "ts"
    test_rel, test_text = render_test(spec, chosen, config=config, preview=preview)
    spec_path, test_path = out / SPEC_DIR / f"{spec.id}.yml", out / test_rel
    for path, text in ((spec_path, spec_text), (test_path, test_text)):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise BadInput(f"{path}: cannot be written: {exc.strerror}") from None
    return [spec_path, test_path]


def _settings_for(url: str) -> Settings:
    """Load settings for browsing `url` (only its host, unless TRIAGEBOT_PREVIEW_HOSTS says more)."""
    try:
        return load_settings().browsing_only(url)
    except BadSetting as exc:
        raise BadInput(str(exc)) from None


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
