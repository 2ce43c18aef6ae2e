"""The demo's surroundings: its work dir, the sample app's git repository, the service's socket and
settings, the replayed Sentry webhook, and where logs go."""

from __future__ import annotations

import errno
import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

from triagebot.demo.narration import DemoError
from triagebot.observability import LOG_FORMAT, quiet_chatty_loggers
from triagebot.settings import Settings

MARKER = ".triagebot-demo"  # marks a work dir this command made, so a rerun may delete it
REPO_NAME = "tinyshop"
# Bundled file -> its path in the app's repository (the browser loads app.js from /static/app.js, so a
# drafted spec's `covers.paths` names a file that exists there).
SAMPLE_FILES = {"server.py": "server.py", "page.html": "page.html", "app.js": "static/app.js"}
ISSUE_ID = "4200000001"
SENTRY_HOST = "https://tinyshop.example.com"  # the host the bundled event was captured on
CHANNEL = "triage"
ORG, PROJECT = "acme", "tiny-shop"  # how the demo's Sentry names the organization and project
REPLAY_FILE = "replay.json"  # where `triagebot replay --demo` finds the running demo's URL and secret


@dataclass(frozen=True)
class DemoIssue:
    """A Sentry issue the demo reports, so the coverage ranking has more than the one it fixes."""

    id: str
    short_id: str
    title: str
    culprit: str
    events: int
    users: int


DEMO_ISSUES = (
    DemoIssue(
        ISSUE_ID,
        "TINY-SHOP-1",
        "TypeError: Cannot read properties of undefined (reading 'discount')",
        "/static/app.js in HTMLButtonElement.<anonymous>",
        87,
        31,
    ),
    DemoIssue(
        "4200000002", "TINY-SHOP-2", "ReferenceError: analytics is not defined", "/static/app.js", 342, 120
    ),
    DemoIssue("4200000003", "TINY-SHOP-3", "ChunkLoadError: Loading chunk 7 failed.", "/checkout", 58, 40),
    DemoIssue("4200000004", "TINY-SHOP-4", "TypeError: Failed to fetch", "/api/cart", 12, 9),
)
REPO_CONFIG = """\
# Where triagebot puts drafted regression tests, and in which language.
drafts:
  format: ts
  dir: e2e/regressions
  test_id_attribute: data-testid
"""


def fresh_workdir(path: Path) -> Path:
    """Recreate the work dir, refusing to delete a folder this command did not make."""
    path = path.resolve()
    if path.exists() and any(path.iterdir()):
        if not (path / MARKER).exists():
            raise DemoError(f"{path} exists and is not a demo work dir; pass another --workdir")
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / MARKER).write_text("made by `triagebot demo`; deleted by the next run\n")
    return path


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` as the demo's author; DemoError with git's own words on failure."""
    from triagebot.integrations.localrepo import IDENTITY

    try:
        result = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            check=False,
            # The user's git config (signing, hooks, templates) has no say over the demo's repository.
            env={**os.environ, **IDENTITY, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"},
        )
    except FileNotFoundError:
        raise DemoError("git is not installed (apt-get install git)") from None
    if result.returncode != 0:
        raise DemoError(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def make_app_repo(path: Path) -> str:
    """Create the sample app's git repository on `main`; return the first commit."""
    path.mkdir()
    git(path, "init", "--quiet", "--initial-branch=main")
    package = resources.files("triagebot.demo.sampleapp")
    for name, target in SAMPLE_FILES.items():
        (path / target).parent.mkdir(parents=True, exist_ok=True)
        (path / target).write_bytes(package.joinpath(name).read_bytes())
    (path / ".triagebot").mkdir()
    (path / ".triagebot" / "config.yml").write_text(REPO_CONFIG)
    (path / "README.md").write_text(
        "# Tiny Shop\n\nThe sample app of `triagebot demo`. "
        "Applying an unknown coupon throws in the browser.\n"
    )
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "Tiny Shop 1.4.0")
    return git(path, "rev-parse", "HEAD").strip()


def bind(port: int) -> tuple[socket.socket, bool]:
    """Bind the service's socket on 127.0.0.1:`port`, or any free port if taken; say whether it moved."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        moved = False
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            sock.close()
            raise DemoError(f"cannot listen on 127.0.0.1:{port}: {exc}") from None
        sock.bind(("127.0.0.1", 0))
        moved = True
    sock.listen(128)
    sock.setblocking(False)
    return sock, moved


def demo_settings(workdir: Path, *, url: str, dashboard_token: str, gate_token: str) -> Settings:
    """Settings for the demo, built in code: the user's `.env` and accounts are never used."""
    return Settings(
        _env_file=None,
        mode="development",
        database_url=f"sqlite:///{workdir / 'triagebot.db'}",
        public_url=url,
        data_dir=workdir / "data",
        sentry_client_secret=secrets.token_hex(32),
        sentry_legacy_token=None,
        sentry_api_token=None,
        sentry_org=None,
        slack_bot_token=None,
        slack_signing_secret=None,
        slack_channel=CHANNEL,
        slack_interval_seconds=0.0,  # the local chat has no rate limit to respect
        github_token=None,
        github_app_id=None,
        github_app_private_key=None,
        github_webhook_secret=None,
        github_repo=None,
        local_repo_path=workdir / REPO_NAME,
        gate_token=gate_token,
        preview_hosts=["127.0.0.1"],
        dashboard_token=dashboard_token,
        routes={},
        scheduler_enabled=True,
        worker_enabled=True,
        sentry_dsn=None,
    )


# The replayed Sentry event -----------------------------------------------------------------------


def issue_url(issue_id: str) -> str:
    """The issue's page on Sentry, as the demo's organization would have it."""
    return f"https://{ORG}.sentry.io/issues/{issue_id}/"


def sentry_issue_body(issue: DemoIssue, now: datetime) -> bytes:
    """Sentry's `issue.created` webhook for one demo issue, with its short id, project and link."""
    seen = now.isoformat().replace("+00:00", "Z")
    data = {
        "id": issue.id,
        "shortId": issue.short_id,
        "title": issue.title,
        "culprit": issue.culprit,
        "level": "error",
        "status": "unresolved",
        "substatus": "new",
        "platform": "javascript",
        "type": "error",
        "project": {"id": "1", "name": "Tiny Shop", "slug": PROJECT, "platform": "javascript"},
        "count": str(issue.events),
        "userCount": issue.users,
        "firstSeen": seen,
        "lastSeen": seen,
        "permalink": issue_url(issue.id),
        "metadata": {"type": issue.title.split(":", 1)[0], "value": issue.title.split(": ", 1)[-1]},
    }
    body = {
        "action": "created",
        "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
        "data": {"issue": data},
        "installation": {"uuid": "00000000-0000-4000-8000-000000000000"},
    }
    return json.dumps(body, separators=(",", ":")).encode()


def write_replay_info(workdir: Path, *, url: str, client_secret: str) -> Path:
    """Leave the running demo's webhook URL and signing secret where `triagebot replay --demo` reads them."""
    path = workdir / REPLAY_FILE
    path.touch(mode=0o600)
    path.write_text(json.dumps({"url": f"{url}/webhooks/sentry", "sentry_client_secret": client_secret}))
    return path


def commit_fix(repo: Path) -> str:
    """Commit the coupon fix on main, so the fixed build has its own commit; return it."""
    app = repo / SAMPLE_FILES["app.js"]
    text = app.read_text()
    fixed = text.replace('if (BUILD === "fixed" && coupon === undefined)', "if (coupon === undefined)")
    if fixed == text:
        raise DemoError("the sample app's coupon check was not found; the fix cannot be committed")
    app.write_text(fixed)
    git(repo, "commit", "--quiet", "-am", "Fix: an unknown coupon code shows an error instead of throwing")
    return git(repo, "rev-parse", "HEAD").strip()


def sentry_webhook_body(preview_url: str, now: datetime) -> bytes:
    """Wrap the sample app's event as Sentry's `event_alert.triggered` webhook, seen on `preview_url`."""
    text = resources.files("triagebot.demo.sampleapp").joinpath("sentry_event.json").read_text()
    event = json.loads(text.replace(SENTRY_HOST, preview_url))
    exception = event["exception"]["values"][0]
    event.update(
        {
            "issue_id": ISSUE_ID,
            "title": f"{exception['type']}: {exception['value']}",
            "culprit": "/static/app.js in HTMLButtonElement.<anonymous>",
            "datetime": now.isoformat().replace("+00:00", "Z"),
            "timestamp": now.timestamp(),
            "project": 1,
            # As Sentry sends them: the event's own page, and its API URL naming the project's slug.
            "web_url": f"{issue_url(ISSUE_ID)}events/{event['event_id']}/",
            "issue_url": f"https://sentry.io/api/0/issues/{ISSUE_ID}/",
            "url": f"https://sentry.io/api/0/projects/{ORG}/{PROJECT}/events/{event['event_id']}/",
        }
    )
    body = {
        "action": "triggered",
        "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
        "data": {
            "event": event,
            "triggered_rule": "Send a notification for new issues",
            "issue_alert": {"title": "Send a notification for new issues", "settings": []},
        },
        "installation": {"uuid": "00000000-0000-4000-8000-000000000000"},
    }
    # Sentry signs the exact bytes it sends: compact JSON.
    return json.dumps(body, separators=(",", ":")).encode()


def show_path(path: Path) -> str:
    """A path relative to the current directory when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def log_to(path: Path) -> Callable[[], None]:
    """Send logs to a file, keeping the terminal for the narration; return how to stop."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    quiet_chatty_loggers()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the demo's own polling would flood it

    def stop() -> None:
        root.removeHandler(handler)
        handler.close()

    return stop
