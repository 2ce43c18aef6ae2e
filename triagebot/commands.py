"""The service-side sub-commands: serve, migrate, replay and run-job."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx

from triagebot import startup
from triagebot.settings import BadSetting, load_settings, secret
from triagebot.web.signatures import sentry_hook_headers

DEFAULT_REPLAY_URL = "http://127.0.0.1:8000/webhooks/sentry"


def register(sub: Any) -> None:
    """Add serve, migrate, replay and run-job to the CLI."""
    serve = sub.add_parser(
        "serve",
        help="run the service",
        description="Run the service. Without TRIAGEBOT_PUBLIC_URL, links use the host and port served on.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
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

    replay = sub.add_parser(
        "replay",
        help="sign a Sentry webhook fixture and post it",
        description="Sign a Sentry webhook file with TRIAGEBOT_SENTRY_CLIENT_SECRET and post it, as Sentry "
        "would. To feed the running demo, add --demo.",
    )
    replay.add_argument("fixture", type=Path, help="a Sentry webhook body (JSON)")
    replay.add_argument(
        "--url",
        default=None,
        help=f"where to post (default: {DEFAULT_REPLAY_URL}, or the demo's service with --demo)",
    )
    replay.add_argument(
        "--demo",
        type=Path,
        nargs="?",
        const=Path(".triagebot-demo"),
        default=None,
        metavar="WORKDIR",
        help="post to the running `triagebot demo`, signed with its secret (default WORKDIR .triagebot-demo)",
    )

    replay.add_argument(
        "--resource", help="Sentry-Hook-Resource (default: from the file name, e.g. issue.created.json)"
    )
    replay.set_defaults(run=run_replay)

    from triagebot.jobs.scheduler import JOBS  # importing the scheduler registers every job

    names = ", ".join(sorted(JOBS))
    job = sub.add_parser(
        "run-job", help="run one scheduled job once", description=f"Run one scheduled job now. Jobs: {names}."
    )
    job.add_argument("name", metavar="NAME", help=f"one of: {names}")
    job.set_defaults(run=run_job_once)


def run_serve(args: argparse.Namespace) -> int:
    """Migrate, then serve HTTP with uvicorn."""
    import uvicorn

    from triagebot.app import create_app
    from triagebot.bootstrap import build_services
    from triagebot.db import migrate
    from triagebot.observability import setup_logging, setup_sentry

    settings = load_settings()
    if args.workers > 1 and settings.database_url.startswith("sqlite"):
        print("triagebot serve: --workers needs PostgreSQL (SQLite has one writer)", file=sys.stderr)
        return 2
    listening = served_url(args.host, args.port)
    if "public_url" not in settings.model_fields_set:
        settings = settings.model_copy(update={"public_url": listening})
    require_database(settings.database_url)
    setup_logging()
    setup_sentry(settings)
    print(startup.summary(settings, listening=listening), file=sys.stderr, flush=True)
    if not args.no_migrate:
        migrate(settings.database_url)
    # Access logs are off: the legacy Sentry URL carries its token in the path.
    options: dict[str, Any] = {"host": args.host, "port": args.port, "access_log": False, "log_level": "info"}
    if args.workers > 1:
        # Worker processes read the environment afresh; they must build the same links.
        os.environ["TRIAGEBOT_PUBLIC_URL"] = settings.public_url
        # Each worker process builds its own services; the outbox and the scheduler lease are
        # already safe across processes, exactly as across machines.
        uvicorn.run("triagebot.app:app_from_environment", factory=True, workers=args.workers, **options)
        return 0
    uvicorn.run(create_app(build_services(settings)), **options)
    return 0


def run_migrate(_args: argparse.Namespace) -> int:
    """Apply migrations."""
    from triagebot.db import migrate

    settings = load_settings()
    require_database(settings.database_url)
    migrate(settings.database_url)
    print("database is up to date")
    return 0


def served_url(host: str, port: int) -> str:
    """Return the base URL of `serve --host H --port P` (a wildcard address is reached on loopback)."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def require_database(url: str) -> None:
    """Connect once, so an unreachable database is one line naming TRIAGEBOT_DATABASE_URL."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    connect_args: dict[str, Any] = {}
    if parsed.drivername == "postgresql":
        # A host that drops packets would otherwise hold the start-up for minutes.
        parsed, connect_args = parsed.set(drivername="postgresql+psycopg"), {"connect_timeout": 10}
    engine = create_engine(parsed, connect_args=connect_args)
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        reason = " ".join(str(exc.orig or exc).split("\n")[:1]).strip() or type(exc.orig).__name__
        shown = parsed.render_as_string(hide_password=True)
        raise BadSetting(f"TRIAGEBOT_DATABASE_URL: cannot connect to {shown}: {reason}") from None
    finally:
        engine.dispose()


def resource_from_name(path: Path) -> str:
    """Derive Sentry-Hook-Resource from a fixture name like `event_alert.triggered.json`."""
    return path.name.split(".", 1)[0]


def run_replay(args: argparse.Namespace) -> int:
    """Post a fixture signed with TRIAGEBOT_SENTRY_CLIENT_SECRET, as Sentry would."""
    settings = load_settings()
    url = args.url or DEFAULT_REPLAY_URL
    client_secret = secret(settings.sentry_client_secret)
    if args.demo is not None:
        demo = _demo_target(args.demo)
        if demo is None:
            print(
                f"triagebot replay: no running demo in {args.demo} (start `triagebot demo`)", file=sys.stderr
            )
            return 2
        url, client_secret = args.url or demo[0], demo[1]
    try:
        body = args.fixture.read_bytes()
        data = json.loads(body)
    except (OSError, ValueError) as exc:
        print(f"triagebot replay: cannot read {args.fixture}: {exc}", file=sys.stderr)
        return 2
    # Sentry posts compact JSON and signs exactly those bytes; re-encode the same way.
    body = json.dumps(data, separators=(",", ":")).encode()
    if client_secret is None:
        print(
            "triagebot replay: set TRIAGEBOT_SENTRY_CLIENT_SECRET to sign the body (or --demo)",
            file=sys.stderr,
        )
        return 2
    headers = sentry_hook_headers(client_secret, args.resource or resource_from_name(args.fixture), body)
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        print(f"triagebot replay: {url}: {exc}", file=sys.stderr)
        return 1
    print(f"{response.status_code} {response.text}")
    return 0 if response.is_success else 1


def _demo_target(workdir: Path) -> tuple[str, str] | None:
    """Read the running demo's webhook URL and signing secret, written by `triagebot demo`."""
    from triagebot.demo.setup import REPLAY_FILE

    try:
        info = json.loads((workdir / REPLAY_FILE).read_text())
        return str(info["url"]), str(info["sentry_client_secret"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def run_job_once(args: argparse.Namespace) -> int:
    """Run one job now and print its summary."""
    from triagebot.bootstrap import build_services
    from triagebot.jobs.scheduler import JOBS, run_job
    from triagebot.observability import setup_logging

    setup_logging()
    if args.name not in JOBS:
        print(
            f"triagebot run-job: unknown job {args.name!r}; known: {', '.join(sorted(JOBS))}", file=sys.stderr
        )
        return 2
    settings = load_settings()
    require_database(settings.database_url)
    print(run_job(build_services(settings), args.name))
    return 0
