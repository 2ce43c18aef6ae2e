"""Outbox handlers of the gate flow: run a gate, list a PR's changed files, report on the commit.

The run reads specs from the code host and drives the browser with no transaction open; it only
opens short ones to record progress. A heartbeat renews the outbox claim while the browser runs,
so a gate longer than the outbox lease is never claimed by a second worker (a crashed worker stops
renewing, and the row is picked up again once the lease runs out).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from triagebot.db import SessionFactory, transaction
from triagebot.errors import BadInput, DeliveryError, NotConfigured, RetryLater
from triagebot.flags.service import list_rollouts
from triagebot.gates import service
from triagebot.gates.commit_report import commit_report, gate_url, summary_markdown
from triagebot.gates.models import GateResult
from triagebot.gates.runner import UNREACHABLE, GateOptions, run_gate
from triagebot.gates.selection import select_specs
from triagebot.gates.specs_source import LoadedSpecs, load_at
from triagebot.gates.tables import ERROR, FAILED, PASSED, QUEUED, RUNNING, GateRun
from triagebot.integrations.ports import BrowserLauncher, BrowserUnavailable
from triagebot.messages.mrkdwn import link, safe
from triagebot.outbox import store
from triagebot.outbox.models import OutboxMessage
from triagebot.outbox.worker import Outbox
from triagebot.settings import Settings
from triagebot.triage.models import Issue
from triagebot.triage.service import queue_reply

log = logging.getLogger(__name__)

HOST_ATTEMPTS = 3  # reading specs: after this many failed tries the gate reports an error
HEARTBEAT_SECONDS = 60.0  # well inside the outbox's five-minute lease


@dataclass
class GateDelivery:
    """Turns gate outbox rows into code host calls and browser runs."""

    sessions: SessionFactory
    settings: Settings
    code_host: Callable[[], Any]  # returns the CodeHost (GitHub or local repo), or None when none is set up
    launcher: BrowserLauncher | None = None  # None: the runner's default (Playwright)
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    on_finished: Callable[[str, float], None] | None = None  # (verdict, seconds), for metrics

    def register(self, outbox: Outbox) -> None:
        """Route this flow's outbox kinds to their handlers."""
        outbox.register(service.GATE_RUN, self.run, slow=True)
        outbox.register(service.GATE_REPORT, self.report)
        outbox.register(service.PR_FILES, self.pr_files)

    def _host(self) -> Any:
        host = self.code_host()
        if host is None:
            raise NotConfigured("no code host: set TRIAGEBOT_GITHUB_TOKEN (or an App) or a local repository")
        return host

    # --- gate.run -------------------------------------------------------------------------------

    def run(self, message: OutboxMessage) -> None:
        """Run one gate: read its specs at the commit, select, browse, store results, queue reports."""
        gate_id = int(message.payload["gate_id"])
        with transaction(self.sessions) as session:
            queued = (gate := service.get_gate(session, gate_id)) is not None and gate.state == QUEUED
            gate = service.start(session, gate_id)
            if gate is None:
                return  # finished or superseded already
            if queued:
                service.queue_report(session, gate)  # "running" on the commit
            repo, sha, preview = gate.repo, gate.sha, gate.preview_url
        loaded = self._specs(message, gate_id, repo, sha)
        if loaded is None:
            return
        with transaction(self.sessions) as session:
            gate = service.get_gate(session, gate_id)
            if gate is None or gate.state != RUNNING:
                return
            selected, selection = select_specs(loaded.specs, gate.changed_files)
            quarantine = service.quarantined(session, [spec.id for spec in selected])
            flags = [flag.key for spec in selected for flag in spec.flags]
            service.plan(
                session, gate, selected=[s.id for s in selected], reason=selection.reason, flags=flags
            )
        result: GateResult | None = None
        error: str | None = None
        began = time.monotonic()
        try:
            with self._heartbeat(message):
                result = run_gate(
                    selected,
                    base_url=preview,
                    settings=self.settings,
                    options=GateOptions.from_settings(self.settings, preview=loaded.preview),
                    quarantine=quarantine,
                    selection=selection,
                    launcher=self.launcher,
                )
        except BrowserUnavailable as exc:
            error = f"the browser failed to launch: {exc}"
        except BadInput as exc:  # a host no longer allowed, or a malformed preview URL
            error = f"refused to browse the preview: {exc}"
        verdict = ERROR if error else _verdict(result, loaded)
        if verdict == ERROR and error is None and loaded.errors:
            error = f"{len(loaded.errors)} spec file(s) do not validate"
        if verdict == ERROR and error is None and result is not None:
            error = _could_not_run(result)
        if result is not None and verdict == FAILED and _unreachable(result):
            verdict, error = ERROR, f"the preview at {preview} is unreachable"
        self._finish(gate_id, result=result, verdict=verdict, error=error, spec_errors=loaded.errors)
        if self.on_finished:
            self.on_finished(verdict, time.monotonic() - began)

    def _specs(self, message: OutboxMessage, gate_id: int, repo: str, sha: str) -> LoadedSpecs | None:
        """Read the commit's specs; after repeated code host trouble, finish the gate as an error."""
        try:
            return load_at(self._host(), repo, sha)
        except RetryLater:
            if message.attempts + 1 < HOST_ATTEMPTS:
                raise
            problem = "the code host kept failing while reading specs"
        except (DeliveryError, NotConfigured) as exc:
            problem = f"could not read specs at {sha[:7]}: {exc}"
        self._finish(gate_id, result=None, verdict=ERROR, error=problem, spec_errors=())
        return None

    @contextmanager
    def _heartbeat(self, message: OutboxMessage) -> Iterator[None]:
        """Keep renewing the row's claim while the block runs."""
        if message.id is None or not message.claimed_by:
            yield
            return
        stop = threading.Event()
        message_id, worker = message.id, message.claimed_by

        def beat() -> None:
            while not stop.wait(self.heartbeat_seconds):
                try:
                    if not store.extend_claim(self.sessions, message_id, worker):
                        log.warning("gate outbox row %s: claim lost while running", message_id)
                except Exception:  # the database blinked; the next beat tries again
                    log.exception("gate outbox row %s: heartbeat failed", message_id)

        thread = threading.Thread(target=beat, name=f"gate-heartbeat-{message_id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _finish(
        self,
        gate_id: int,
        *,
        result: GateResult | None,
        verdict: str,
        error: str | None,
        spec_errors: Sequence[tuple[str, str]],
    ) -> None:
        with transaction(self.sessions) as session:
            gate = service.finish(
                session, gate_id, result=result, verdict=verdict, error=error, spec_errors=spec_errors
            )
            if gate is None:
                log.info("gate %s was superseded while running; its result is discarded", gate_id)
                return
            rollouts = list_rollouts(session, gate.flags) if gate.flags else []
            gate.summary = summary_markdown(
                self.settings, gate, result=result, spec_errors=spec_errors, rollouts=rollouts
            )
            gate.report_target = self.report_target()
            session.add(gate)
            service.queue_report(session, gate)
            if result is not None:
                self._tell_threads(session, gate, result)

    def _tell_threads(self, session: Session, gate: GateRun, result: GateResult) -> None:
        """Post in each failing backfilled test's Sentry thread that it fails on this preview."""
        assert gate.id is not None
        # A gate started from a deployment or the API may not name its PR; the heads recorded from
        # `pull_request` events usually do.
        head = service.pull_request_of(session, gate.repo, gate.sha) if gate.pr is None else None
        pr = head.pr if head is not None else gate.pr
        where = f"PR #{pr}'s preview" if pr is not None else f"the preview of {gate.sha[:7]}"
        for spec_result in result.results:
            if spec_result.status != "failed" or spec_result.quarantined:
                continue
            issue = session.get(Issue, spec_result.issue_id)
            if issue is None or not (issue.channel and issue.thread_ts):
                continue
            name = safe(spec_result.short_id or issue.short_id or f"Sentry issue {issue.id}", 200)
            failure = spec_result.failure
            detail = f"\n> {safe(f'{failure.step}: {failure.message}', 500)}" if failure else ""
            text = (
                f":x: {name}'s regression test fails on {safe(where, 300)} "
                f"({safe(gate.repo, 200)}): {link(gate_url(self.settings, gate.id), 'evidence')}{detail}"
            )
            queue_reply(session, issue, text, dedupe_key=f"gate-reply:{gate.id}:{spec_result.spec_id}")

    def report_target(self) -> str:
        """Say how this service reports on commits: a check run with an App, else a commit status."""
        settings = self.settings
        if settings.github_app_id and settings.github_app_private_key:
            return "check_run"
        return "status"

    # --- gate.report ----------------------------------------------------------------------------

    def report(self, message: OutboxMessage) -> None:
        """Report a gate's state on its commit (commit status with a token, check run with an App)."""
        gate_id, state = int(message.payload["gate_id"]), str(message.payload["state"])
        with transaction(self.sessions) as session:
            gate = service.get_gate(session, gate_id)
            if gate is None:
                return
            counts = _counts(service.results_of(session, gate_id))
            report = commit_report(self.settings, gate, state, counts)
            repo, sha, check_run_id = gate.repo, gate.sha, gate.check_run_id
        host = self._host()
        if self.report_target() == "status":
            host.create_status(
                repo,
                sha,
                state=report.status_state,
                context=service.STATUS_CONTEXT,
                description=report.description,
                target_url=report.target_url,
            )
            return
        output = {"title": report.title, "summary": report.summary, "details_url": report.target_url}
        if check_run_id is None:
            created = host.create_check_run(
                repo,
                head_sha=sha,
                name=service.STATUS_CONTEXT,
                status=report.check_status,
                conclusion=report.check_conclusion,
                external_id=str(gate_id),
                **output,
            )
            with transaction(self.sessions) as session:
                gate = service.get_gate(session, gate_id)
                if gate is not None:
                    gate.check_run_id = str(created)
                    session.add(gate)
            return
        host.update_check_run(
            repo, int(check_run_id), status=report.check_status, conclusion=report.check_conclusion, **output
        )

    # --- gate.pr_files --------------------------------------------------------------------------

    def pr_files(self, message: OutboxMessage) -> None:
        """List a PR's changed files at its head commit, for selecting specs."""
        repo, pr, sha = message.payload["repo"], int(message.payload["pr"]), message.payload["sha"]
        files = self._host().list_pull_files(repo, pr)
        with transaction(self.sessions) as session:
            service.store_changed_files(session, repo=repo, pr=pr, sha=sha, files=files)


def _verdict(result: GateResult | None, loaded: LoadedSpecs) -> str:
    """Failed when a gating spec failed; error when only infrastructure or invalid specs did; else passed."""
    verdict = result.verdict if result is not None else PASSED
    if verdict == PASSED and loaded.errors:
        return ERROR
    return verdict


def _could_not_run(result: GateResult) -> str | None:
    """Say why specs could not run (the first one's reason, and how many shared the fate)."""
    stopped = [r.failure for r in result.results if r.status == "error" and r.failure is not None]
    if not stopped:
        return None
    reason = stopped[0].message.removeprefix("could not run: ")
    return reason if len(stopped) == 1 else f"{reason} (and {len(stopped) - 1} more spec(s) could not run)"


def _unreachable(result: GateResult) -> bool:
    """Say whether every spec failed only because the preview could not be reached."""
    failures = [r.failure for r in result.results if r.status != "passed"]
    if not failures or len(failures) != len(result.results):
        return False
    return all(f is not None and any(code in f.message for code in UNREACHABLE) for f in failures)


def _counts(results: Sequence[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in ("passed", "failed", "flaky", "quarantined", "error"):
        counts[name] = sum(1 for r in results if r.outcome == name)
    return counts
