"""`triagebot gate`: run the regression specs against a deployed preview, from CI or a terminal.

Exit status: 0 the gate passed, 1 a regression test failed, 2 it could not run as asked (bad usage,
a host that is not allowed, a spec or config that does not validate, a variable the operator did not
allow, no browser), 3 no test failed but at least one could not run (the preview unreachable, a
sign-in variable unset, the sign-in page missing): that is not a verdict on the change.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from triagebot.drafts.config import PreviewConfig, parse_preview_config
from triagebot.errors import BadInput
from triagebot.gates.report import junit_xml, markdown_summary, progress_line, summary_text
from triagebot.gates.runner import GateOptions, ProgressEvent, run_gate
from triagebot.gates.selection import select_specs
from triagebot.integrations.ports import BrowserUnavailable
from triagebot.settings import load_settings
from triagebot.spec import Spec, load_specs

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE, EXIT_COULD_NOT_RUN = 0, 1, 2, 3


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def register(sub: Any) -> None:
    """Add the `gate` sub-command to the CLI."""
    parser = sub.add_parser(
        "gate",
        help="run regression specs against a deployed preview",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--base-url", required=True, help="the preview's origin, e.g. https://pr-45.example.app"
    )
    parser.add_argument("--specs", type=Path, default=Path(".triagebot/tests"), help="folder of spec files")
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="the app's .triagebot/config.yml (default: config.yml beside the spec folder), for preview.*",
    )
    parser.add_argument(
        "--changed-file", action="append", dest="changed_files", metavar="PATH", help="a file the PR changes"
    )
    parser.add_argument(
        "--changed-files-from", type=Path, metavar="FILE", help="a file listing changed paths, one per line"
    )
    parser.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML here")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="write a markdown summary here")
    parser.add_argument("--concurrency", type=_positive, help="specs run at once (default from settings)")
    parser.add_argument("--retries", type=int, choices=[0, 1, 2], help="retries of a failed spec (default 1)")
    parser.add_argument(
        "--quarantine", action="append", default=[], metavar="SPEC_ID", help="run and report, but do not gate"
    )
    parser.set_defaults(run=run)


def _fail(message: str) -> int:
    print(f"triagebot gate: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _changed_files(args: argparse.Namespace) -> list[str] | None:
    files: list[str] | None = list(args.changed_files) if args.changed_files else None
    if args.changed_files_from is not None:
        listed = args.changed_files_from.read_text(encoding="utf-8").splitlines()
        files = [*(files or []), *(line.strip() for line in listed if line.strip())]
    return files


def _load(folder: Path) -> list[Spec]:
    if not folder.is_dir():
        raise BadInput(f"spec folder {folder} does not exist")
    specs = load_specs(folder)
    seen: set[str] = set()
    for spec in specs:
        if spec.id in seen:
            raise BadInput(f"{folder}: two specs share the id {spec.id!r}")
        seen.add(spec.id)
    return specs


def run(args: argparse.Namespace) -> int:
    """Run the gate and return its exit status."""
    try:
        settings = load_settings().browsing_only(args.base_url)  # BadSetting: one line at the edge
        specs = _load(args.specs)
        preview = _preview_config(args.config, args.specs)
        changed = _changed_files(args)
    except ValidationError as exc:
        return _fail(f"settings: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")
    except OSError as exc:
        return _fail(f"{exc.filename}: {exc.strerror}")
    except BadInput as exc:
        return _fail(str(exc))
    selected, selection = select_specs(specs, changed)
    options = GateOptions.from_settings(
        settings, concurrency=args.concurrency, retries=args.retries, preview=preview
    )
    print(f"triagebot gate: {selection.reason}; running {len(selected)} against {args.base_url}", flush=True)

    def progress(event: ProgressEvent) -> None:
        print(progress_line(event), flush=True)

    try:
        result = run_gate(
            selected,
            base_url=args.base_url,
            settings=settings,
            options=options,
            quarantine=set(args.quarantine),
            selection=selection,
            progress=progress,
        )
    except BadInput as exc:
        return _fail(str(exc))
    except BrowserUnavailable as exc:
        return _fail(str(exc))
    print(summary_text(result), flush=True)
    try:
        if args.junit is not None:
            _write(args.junit, junit_xml(result))
        if args.markdown is not None:
            _write(args.markdown, markdown_summary(result))
    except OSError as exc:
        return _fail(f"{exc.filename}: {exc.strerror}")
    if result.verdict == "error":
        print("triagebot gate: could not run every test; this is not a verdict on the change", flush=True)
        return EXIT_COULD_NOT_RUN
    return EXIT_PASSED if result.verdict == "passed" else EXIT_FAILED


def _preview_config(path: Path | None, specs: Path) -> PreviewConfig:
    """Read the `preview` section of the config beside the specs (or the one named); empty if none."""
    if path is None:
        path = specs.parent / "config.yml"
        if not path.is_file():
            return PreviewConfig()
    return parse_preview_config(path.read_text(encoding="utf-8"), source=str(path))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Run `triagebot gate` on its own (the CLI normally dispatches here)."""
    parser = argparse.ArgumentParser(prog="triagebot")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["gate", *(argv or [])])
    return int(args.run(args))
