"""The service-side sub-commands: serve, migrate, replay and run-job."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import httpx

from triagebot.settings import Settings, secret
from triagebot.web.signatures import sentry_hook_headers


def register(sub: Any) -> None:
    """Add serve, migrate, replay and run-job to the CLI."""
    serve = sub.add_parser("serve", help="run the service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-migrate", action="store_true", help="skip applying migrations at start")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (PostgreSQL only; one per core is a good start)",
    )
    serve.set_defaults(run=run_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations and exit")
    migrate.set_defaults(run=run_migrate)

    replay = sub.add_parser("replay", help="sign a Sentry webhook fixture and post it")
    replay.add_argument("fixture", type=Path)
    replay.add_argument("--url", default="http://127.0.0.1:8000/webhooks/sentry")
    replay.add_argument(
        "--resource", help="Sentry-Hook-Resource (default: from the file name, e.g. issue.created.json)"
    )
    replay.set_defaults(run=run_replay)

    job = sub.add_parser("run-job", help="run one scheduled job once")
    job.add_argument("name")
    job.set_defaults(run=run_job_once)


def run_serve(args: argparse.Namespace) -> int:
    """Migrate, then serve HTTP with uvicorn."""
    import uvicorn

    from triagebot.app import create_app
    from triagebot.bootstrap import build_services
    from triagebot.db import migrate
    from triagebot.observability import setup_logging, setup_sentry

    settings = Settings()
    setup_logging()
    setup_sentry(settings)
    if not args.no_migrate:
        migrate(settings.database_url)
    # Access logs are off: the legacy Sentry URL carries its token in the path.
    options: dict[str, Any] = {"host": args.host, "port": args.port, "access_log": False, "log_level": "info"}
    if args.workers > 1:
        if settings.database_url.startswith("sqlite"):
            print("triagebot serve: --workers needs PostgreSQL (SQLite has one writer)", file=sys.stderr)
            return 2
        # Each worker process builds its own services; the outbox and the scheduler lease are
        # already safe across processes, exactly as across machines.
        uvicorn.run("triagebot.app:app_from_environment", factory=True, workers=args.workers, **options)
        return 0
    uvicorn.run(create_app(build_services(settings)), **options)
    return 0


def run_migrate(_args: argparse.Namespace) -> int:
    """Apply migrations."""
    from triagebot.db import migrate

    migrate(Settings().database_url)
    print("database is up to date")
    return 0


def resource_from_name(path: Path) -> str:
    """Derive Sentry-Hook-Resource from a fixture name like `event_alert.triggered.json`."""
    return path.name.split(".", 1)[0]


def run_replay(args: argparse.Namespace) -> int:
    """Post a fixture signed with TRIAGEBOT_SENTRY_CLIENT_SECRET, as Sentry would."""
    settings = Settings()
    try:
        body = args.fixture.read_bytes()
        data = json.loads(body)
    except (OSError, ValueError) as exc:
        print(f"triagebot replay: cannot read {args.fixture}: {exc}", file=sys.stderr)
        return 2
    # Sentry posts compact JSON and signs exactly those bytes; re-encode the same way.
    body = json.dumps(data, separators=(",", ":")).encode()
    client_secret = secret(settings.sentry_client_secret)
    if client_secret is None:
        print("triagebot replay: set TRIAGEBOT_SENTRY_CLIENT_SECRET to sign the body", file=sys.stderr)
        return 2
    headers = sentry_hook_headers(client_secret, args.resource or resource_from_name(args.fixture), body)
    try:
        response = httpx.post(args.url, content=body, headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        print(f"triagebot replay: {args.url}: {exc}", file=sys.stderr)
        return 1
    print(f"{response.status_code} {response.text}")
    return 0 if response.is_success else 1


def run_job_once(args: argparse.Namespace) -> int:
    """Run one job now and print its summary."""
    from triagebot.bootstrap import build_services
    from triagebot.jobs.registry import JOBS, load_jobs, run_job
    from triagebot.observability import setup_logging

    setup_logging()
    load_jobs()
    if args.name not in JOBS:
        print(
            f"triagebot run-job: unknown job {args.name!r}; known: {', '.join(sorted(JOBS))}", file=sys.stderr
        )
        return 2
    print(run_job(build_services(Settings()), args.name))
    return 0
