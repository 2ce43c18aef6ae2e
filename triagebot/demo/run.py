"""`triagebot demo`: the whole loop on one machine, with no Slack, Sentry or GitHub account.

It sets up a work dir (SQLite, a local git repository holding the sample app), starts the service
in-process with its local stand-ins (threads on the dashboard, pull requests as branches), serves
the sample app's buggy and fixed builds, replays the Sentry event the bug produces, clicks
**Create regression test**, merges the drafted test, and gates both builds: the buggy one must
fail with evidence and the fixed one pass. Every step goes over HTTP or through the same service
function a button calls, so the demo exercises the product, not a shortcut beside it.
"""

from __future__ import annotations

import argparse
import io
import logging
import secrets
import shutil
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from triagebot.demo.narration import (
    POLL_SECONDS,
    DemoError,
    Narrator,
    printable,
    render_message,
    spec_excerpt,
    terminal_lines,
    test_excerpt,
    wait_for,
)
from triagebot.demo.setup import (
    DEMO_ISSUES,
    ISSUE_ID,
    REPO_NAME,
    bind,
    commit_fix,
    demo_settings,
    fresh_workdir,
    git,
    log_to,
    make_app_repo,
    sentry_issue_body,
    sentry_webhook_body,
    show_path,
    write_replay_info,
)
from triagebot.drafts.config import SPEC_DIR
from triagebot.settings import Settings
from triagebot.web.signatures import sentry_hook_headers

if TYPE_CHECKING:  # the service's modules load only when the demo runs, not for every CLI command
    from triagebot.backfill.models import RegressionTest
    from triagebot.bootstrap import Services

NO_CHROMIUM = (
    "no Chromium found. Install one: `make demo` does it for you, or run "
    "`playwright install chromium` or `apt-get install chromium`, "
    "or point TRIAGEBOT_CHROMIUM_PATH at one"
)
GATE_WAIT = 120.0
STEPS = 9
REPLIES_WAIT = 10.0
EXPECTED_REPLIES = 3  # drafted, merged, and the buggy build's failing gate


log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    """Add `demo` to the CLI."""
    demo = sub.add_parser(
        "demo", help="run the whole loop locally: Sentry event -> thread -> regression test -> gates"
    )
    demo.add_argument("--port", type=int, default=8000, help="port for the service (0: any free port)")
    demo.add_argument("--workdir", type=Path, default=Path(".triagebot-demo"), help="recreated each run")
    demo.add_argument("--no-pause", action="store_true", help="exit when done instead of serving on")
    demo.set_defaults(run=run_demo)


# The run -----------------------------------------------------------------------------------------


@dataclass
class Demo:
    """Everything one demo run starts, so it can all be stopped."""

    workdir: Path
    narrator: Narrator
    port: int
    stops: list[Callable[[], None]] = field(default_factory=list)
    settings: Settings | None = None
    built: Services | None = None
    url: str = ""
    dashboard_token: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    gate_token: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    gate_ids: list[int] = field(default_factory=list)
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def stop(self) -> None:
        """Stop the service and the sample apps, newest first."""
        for stop in reversed(self.stops):
            try:
                stop()
            except Exception:  # shutting down: note it and keep stopping the rest
                log.exception("demo: error while stopping")
        self.stops.clear()
        self.http.close()

    @property
    def services(self) -> Services:
        """The running service's wiring (after `set_up`)."""
        assert self.built is not None, "set_up() first"
        return self.built

    @property
    def repo(self) -> Path:
        """The sample app's git repository."""
        return self.workdir / REPO_NAME

    # Steps ---------------------------------------------------------------------------------------

    def check_tools(self) -> None:
        """Find git and Chromium before anything slow starts."""
        from triagebot.integrations.chromium import find_chromium

        with self.narrator.step("Checking for git and Chromium") as found:
            if shutil.which("git") is None:
                raise DemoError("git is not installed (apt-get install git)")
            chromium = find_chromium(Settings(_env_file=None).chromium_path)
            if chromium is None:
                raise DemoError(NO_CHROMIUM)
            found(f"git and Chromium found ({chromium})")

    def set_up(self) -> None:
        """Make the work dir, its database and the sample app's repository; start the service."""
        from triagebot.db import migrate

        with self.narrator.step("Setting up the work dir") as found:
            self.workdir = fresh_workdir(self.workdir)
            self.stops.append(log_to(self.workdir / "triagebot.log"))
            first = make_app_repo(self.repo)
            sock, moved = bind(self.port)
            self.stops.append(sock.close)
            self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            self.settings = demo_settings(
                self.workdir, url=self.url, dashboard_token=self.dashboard_token, gate_token=self.gate_token
            )
            migrate(self.settings.database_url)
            secret_value = self.settings.sentry_client_secret
            assert secret_value is not None
            write_replay_info(self.workdir, url=self.url, client_secret=secret_value.get_secret_value())
            found(
                f"Work dir {show_path(self.workdir)}: SQLite database, git repo {REPO_NAME} "
                f"(main @ {first[:7]}, with .triagebot/config.yml)"
            )
        with self.narrator.step("Starting the service") as found:
            self._serve(sock)
            if moved:
                self.narrator.detail(f"port {self.port} is taken, so the service took a free one")
            found(f"Service on {self.url}: local chat, local repo host, outbox worker and scheduler")

    def _serve(self, sock: socket.socket) -> None:
        import uvicorn

        from triagebot.app import create_app
        from triagebot.bootstrap import build_services

        assert self.settings is not None
        self.built = build_services(self.settings)
        self.stops.append(self.built.engine.dispose)
        # log_config=None: uvicorn's records go to the demo's log file, not over the narration.
        config = uvicorn.Config(
            create_app(self.services), log_config=None, access_log=False, lifespan="on", log_level="info"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="demo-service")
        thread.start()

        def stop() -> None:
            server.should_exit = True
            thread.join(timeout=15)

        def started() -> bool | None:
            if not thread.is_alive():
                raise DemoError("the service stopped while starting; its log says why")
            return True if server.started else None

        self.stops.append(stop)
        wait_for(self.narrator, "the service to start", started)
        if self.http.get(f"{self.url}/healthz").status_code != 200:
            raise DemoError(f"{self.url}/healthz does not answer 200")

    def serve_builds(self) -> tuple[str, str]:
        """Serve the sample app's buggy and fixed builds; return their URLs."""
        from triagebot.demo.sampleapp import serve_sample_app

        with self.narrator.step("Serving Tiny Shop") as found:
            buggy, fixed = serve_sample_app("buggy"), serve_sample_app("fixed")
            self.stops += [buggy.stop, fixed.stop]
            self._main_deployed(buggy.url)
            found(f"Tiny Shop served: buggy build {buggy.url}, fixed build {fixed.url}")
        return buggy.url, fixed.url

    def _main_deployed(self, url: str) -> None:
        """Record the buggy build as main's preview, as a deployment_status would: drafts verify there."""
        from triagebot.db import transaction
        from triagebot.integrations.localrepo import LocalRepoHost
        from triagebot.verify.where import record_default_preview

        host = self.services.code_host
        if isinstance(host, LocalRepoHost):
            with transaction(self.services.sessions) as session:
                record_default_preview(session, repo=host.name, url=url, sha=None)

    def replay_event(self, buggy_url: str) -> None:
        """Post the bug's Sentry event, signed, and wait for its thread."""
        from triagebot.settings import secret

        assert self.settings is not None
        with self.narrator.step("Replaying the Sentry event") as found:
            now = datetime.now(UTC)
            client_secret = secret(self.settings.sentry_client_secret)
            assert client_secret is not None
            # The shop's other errors come first, as `issue.created`: without tests, they are what
            # the coverage ranking lists.
            sent = [("issue", sentry_issue_body(issue, now)) for issue in DEMO_ISSUES]
            sent.append(("event_alert", sentry_webhook_body(buggy_url, now)))
            for resource, body in sent:
                headers = sentry_hook_headers(client_secret, resource, body)
                answer = self.http.post(f"{self.url}/webhooks/sentry", content=body, headers=headers)
                if answer.status_code != 202:
                    raise DemoError(f"POST /webhooks/sentry answered {answer.status_code}: {answer.text}")
            root = wait_for(self.narrator, "the issue's thread", self._root_message)
            found(
                f"Signed webhooks accepted: {len(DEMO_ISSUES)} issues; thread opened for Sentry issue "
                f"{ISSUE_ID}, whose event the draft replays"
            )
            for line in root:
                self.narrator.detail(f"│ {line}")

    def _root_message(self) -> list[str] | None:
        from sqlalchemy import select
        from sqlmodel import col

        from triagebot.db import reading
        from triagebot.integrations.localchat import LocalMessage
        from triagebot.triage.models import Issue

        with reading(self.services.sessions) as session:
            issue = session.get(Issue, ISSUE_ID)
            if issue is None or not issue.thread_ts:
                return None
            stmt = select(LocalMessage).where(col(LocalMessage.ts) == issue.thread_ts)
            root = session.execute(stmt).scalar_one_or_none()
            return render_message(root.blocks, root.text) if root is not None else None

    def _replies(self) -> list[str]:
        from triagebot.coverage.pages import local_thread
        from triagebot.db import reading
        from triagebot.triage.models import Issue

        with reading(self.services.sessions) as session:
            issue = session.get(Issue, ISSUE_ID)
            messages = local_thread(session, issue) if issue is not None else []
        return [" ".join(terminal_lines(m["text"])) for m in messages if not m["root"]]

    def create_test(self) -> str:
        """Click Create regression test, wait for the PR branch, merge it; return the branch's head."""
        from triagebot.backfill.models import FAILED, PR_OPEN
        from triagebot.backfill.prs import merge_local_pull

        with self.narrator.step("Clicking Create regression test") as found:
            # The dashboard's button: the same route and service function as a click in the browser.
            answer = self.http.post(
                f"{self.url}/issues/{ISSUE_ID}/create-test",
                headers={"Authorization": f"Bearer {self.dashboard_token}"},
            )
            if answer.status_code != 303:
                raise DemoError(f"the dashboard's button answered {answer.status_code}: {answer.text}")

            def drafted() -> RegressionTest | None:
                test = self._test()
                if test is not None and test.state == FAILED:
                    raise DemoError(f"drafting failed: {test.last_error}")
                return test if test is not None and test.state == PR_OPEN else None

            test = wait_for(self.narrator, "the draft pull request", drafted, status=self._test_state)
            branch, rendered = test.branch or "", test.rendered_path or ""
            found(f"PR branch {branch} created in {show_path(self.repo)} (local PR #{test.pr_number})")
            self.narrator.detail(
                f"verified before the PR opened: {test.verdict or 'unverified'}"
                + (f" on {test.verified_url}: {test.verdict_detail}" if test.verdict else "")
            )
            spec_path = f"{SPEC_DIR}/{test.spec_id}.yml"
            spec_text = git(self.repo, "show", f"{branch}:{spec_path}")
            test_text = git(self.repo, "show", f"{branch}:{rendered}")
            self.narrator.detail(f"{spec_path} ({len(spec_text.splitlines())} lines), the spec:")
            self.narrator.detail("\n".join(f"│ {line}" for line in spec_excerpt(spec_text)))
            self.narrator.detail(f"{rendered} ({len(test_text.splitlines())} lines), for Playwright:")
            self.narrator.detail("\n".join(f"│ {line}" for line in test_excerpt(test_text)))
            self.narrator.detail(f"git log --stat main..{branch}:")
            log_text = git(self.repo, "log", "--stat", "--format=%h %s", f"main..{branch}")
            self.narrator.detail("\n".join(f"│ {line}" for line in log_text.strip().splitlines()))
        with self.narrator.step("Merging the pull request") as found:
            outcome = merge_local_pull(
                self.services.sessions, self.services.code_host, self.services.outbox, ISSUE_ID
            )
            if outcome != "active":
                raise DemoError(f"merging left the regression test {outcome}")
            head = git(self.repo, "rev-parse", branch).strip()
            main = git(self.repo, "rev-parse", "main").strip()
            found(f"Local PR #{test.pr_number} merged into main ({main[:7]}): the regression test is active")
        return head

    def _test(self) -> RegressionTest | None:
        from triagebot.backfill.delivery import get_by_issue

        return get_by_issue(self.services.sessions, ISSUE_ID)

    def _test_state(self) -> str:
        test = self._test()
        return test.state if test is not None else "queued"

    def gate(self, label: str, preview_url: str, sha: str, *, expect: str) -> None:
        """Gate one build through the API and show its verdict; DemoError unless it is `expect`."""
        from triagebot.integrations.localrepo import LocalRepoHost

        host = self.services.code_host
        assert isinstance(host, LocalRepoHost)
        auth = {"Authorization": f"Bearer {self.gate_token}"}
        with self.narrator.step(f"Gating the {label} build") as found:
            answer = self.http.post(
                f"{self.url}/api/gates",
                json={"repo": host.name, "sha": sha, "preview_url": preview_url},
                headers=auth,
            )
            if answer.status_code != 202:
                raise DemoError(f"POST /api/gates answered {answer.status_code}: {answer.text}")
            gate_id = int(answer.json()["id"])
            self.gate_ids.append(gate_id)
            seen: dict[str, Any] = {"state": "queued"}

            def finished() -> dict[str, Any] | None:
                seen.update(self.http.get(f"{self.url}/api/gates/{gate_id}", headers=auth).json())
                return seen if seen["state"] in ("passed", "failed", "error") else None

            def status() -> str:
                specs = ", ".join(seen.get("selected_specs") or [])
                return seen["state"] + (f" ({specs})" if specs else "")

            gate = wait_for(
                self.narrator, f"gate #{gate_id} of {preview_url}", finished, status=status, timeout=GATE_WAIT
            )
            state = gate["state"]
            outcomes = ", ".join(f"{r['spec_id']} {r['outcome']}" for r in gate["results"]) or "no specs"
            found(f"{label.capitalize()} build {state.upper()} (gate #{gate_id}: {outcomes})")
            if gate["error"]:
                self.narrator.detail(f"error: {gate['error']}")
            evidence = self._evidence(gate_id)
            if state != expect:
                raise DemoError(f"the {label} build should have {expect} its gate, but it {state}")
            if state == "failed" and not evidence:
                raise DemoError("the gate failed without a screenshot or trace")

    def _evidence(self, gate_id: int) -> list[Path]:
        """Show each failing spec's step, message and evidence files; return the files."""
        from triagebot.db import reading
        from triagebot.gates.service import results_of

        with reading(self.services.sessions) as session:
            rows = [row for row in results_of(session, gate_id) if row.outcome != "passed"]
        files = []
        for row in rows:
            message = (row.message or "-").splitlines()[0]
            self.narrator.detail(f"{row.spec_id}: failing step: {printable(row.failing_step or '-')}")
            self.narrator.detail(f"{' ' * len(row.spec_id)}  error: {printable(message)}")
            for kind, stored in (("screenshot", row.screenshot), ("trace", row.trace)):
                if stored and Path(stored).is_file():
                    files.append(Path(stored))
                    self.narrator.detail(f"{' ' * len(row.spec_id)}  {kind}: {show_path(Path(stored))}")
        return files

    def show_thread(self) -> None:
        """Print the replies the thread collected along the way (the last may still be on its way)."""
        deadline = time.monotonic() + REPLIES_WAIT
        while len(replies := self._replies()) < EXPECTED_REPLIES and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
        self.narrator.say("The issue's thread, as the dashboard shows it:")
        for reply in replies:
            self.narrator.say(f"  │ {reply}")

    def where_to_look(self) -> None:
        """Print the dashboard's one-click login and the pages worth opening."""
        login = f"{self.url}/login?token={quote(self.dashboard_token)}&next={quote(f'/issues/{ISSUE_ID}')}"
        gates = ", ".join(f"{self.url}/gates/{gate_id}" for gate_id in self.gate_ids)
        self.narrator.say("Where to look:")
        self.narrator.say(f"  dashboard, signed in:  {login}")
        self.narrator.say(f"  the issue and thread:  {self.url}/issues/{ISSUE_ID}")
        self.narrator.say(f"  gate runs, evidence:   {self.url}/gates ({gates})")
        self.narrator.say(f"  the app's repository:  git -C {show_path(self.repo)} log --stat --all")
        self.narrator.say(
            f"  send your own events:  triagebot replay EVENT.json --demo {show_path(self.workdir)}"
            " (signed with this run's secret, posted to this service)"
        )
        self.narrator.say(f"  the service's log:     {show_path(self.workdir / 'triagebot.log')}")


def run_demo(args: argparse.Namespace) -> int:
    """Run the demo; exit 0 only when the buggy build failed its gate and the fixed build passed."""
    started = time.monotonic()
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="replace")  # a terminal without UTF-8 still gets the narration
    narrator = Narrator(total=STEPS, live=sys.stdout.isatty())
    narrator.say("triagebot demo: a Sentry event becomes a regression test that gates the fix")
    demo = Demo(workdir=args.workdir, narrator=narrator, port=args.port)
    try:
        demo.check_tools()
        demo.set_up()
        buggy_url, fixed_url = demo.serve_builds()
        demo.replay_event(buggy_url)
        sha = demo.create_test()
        demo.gate("buggy", buggy_url, sha, expect="failed")
        fixed_sha = commit_fix(demo.repo)
        narrator.detail(f"the fix is its own commit on main: {fixed_sha[:7]}")
        demo.gate("fixed", fixed_url, fixed_sha, expect="passed")
        narrator.say(
            f"\nDone in {time.monotonic() - started:.1f}s: the buggy build failed, the fixed one passed.\n"
        )
        demo.show_thread()
        narrator.say("")
        demo.where_to_look()
        if not args.no_pause and sys.stdin is not None and sys.stdin.isatty():
            narrator.say("\nThe service keeps running so you can click through; press Ctrl-C to stop it.")
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                narrator.say("\nStopping.")
        return 0
    except DemoError as exc:
        if not exc.shown:
            narrator.say(f"error: {exc}")
        narrator.say(f"\nThe demo stopped early ({time.monotonic() - started:.1f}s).")
        if demo.url:
            narrator.say(f"The service's log: {show_path(demo.workdir / 'triagebot.log')}")
        return 1
    except KeyboardInterrupt:
        narrator.say("\nInterrupted.")
        return 130
    finally:
        demo.stop()  # the service's thread would otherwise keep the process alive
