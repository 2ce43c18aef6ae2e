"""Outbox handlers of the backfill flow: open the draft PR, act on Sentry, tell one user something."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import yaml

from triagebot.backfill import prs, service
from triagebot.backfill.models import DRAFTING, FAILED, PR_OPEN, RegressionTest
from triagebot.backfill.service import DASHBOARD_USER
from triagebot.db import SessionFactory, reading, transaction, utcnow
from triagebot.drafts.config import CONFIG_PATH, SPEC_DIR, parse_repo_config
from triagebot.errors import BadInput, PermanentFailure, RetryLater
from triagebot.integrations.ports import BrowserLauncher, Chat, CodeHost, PullRequest, SentryApi
from triagebot.integrations.sentry.event import normalize_event
from triagebot.messages.mrkdwn import link, safe
from triagebot.outbox import store
from triagebot.outbox.models import OutboxMessage
from triagebot.outbox.worker import Outbox
from triagebot.settings import Settings
from triagebot.spec import Spec, dump_spec, parse_spec
from triagebot.triage import service as triage
from triagebot.triage.models import Issue
from triagebot.verify.run import Outcome, verify_or_refuse
from triagebot.verify.where import NONE_CONFIGURED, verify_target

log = logging.getLogger(__name__)

RepoFor = Callable[[Issue], str | None]
NO_REPOSITORY = (
    "no repository is configured for this project: set TRIAGEBOT_GITHUB_REPO (or a route) "
    "and TRIAGEBOT_GITHUB_TOKEN, or TRIAGEBOT_LOCAL_REPO_PATH"
)
ThreadUrl = Callable[[Issue], str | None]


@dataclass
class BackfillDelivery:
    """Turns backfill outbox rows into code-host, Sentry and chat calls."""

    sessions: SessionFactory
    chat: Chat
    code_host: CodeHost | None
    sentry: SentryApi | None
    repo_for: RepoFor  # the app repository of an issue's Sentry project
    thread_url: ThreadUrl  # a link to the issue's thread, for the PR body
    settings: Settings | None = None  # None: drafts are opened unverified
    launcher: BrowserLauncher | None = None  # None: the gate runner's default (Playwright)

    def register(self, outbox: Outbox) -> None:
        """Route this flow's outbox kinds to their handlers."""
        outbox.register(service.OPEN_PR, self.open_pr)
        outbox.register(service.SENTRY_ASSIGN, self.assign)
        outbox.register(service.SENTRY_RESOLVE, self.resolve)
        outbox.register(service.SENTRY_ARCHIVE, self.archive)
        outbox.register(service.EPHEMERAL, self.ephemeral)
        outbox.register(service.VERIFY, self.reverify)

    # The draft pull request ---------------------------------------------------------------------

    def missing_setup(self, issue: Issue) -> str | None:
        """Say why a draft cannot be opened for this issue, before anyone waits for it; else None."""
        if self.code_host is None or self.repo_for(issue) is None:
            return NO_REPOSITORY
        return None

    def open_pr(self, message: OutboxMessage) -> None:
        """Draft the test and open its PR; every step first looks for what an earlier try already made."""
        issue_id = message.payload["issue_id"]
        with transaction(self.sessions) as session:
            test = service.get_test(session, issue_id)
            issue = triage.get_issue_or_raise(session, issue_id)
            if test is None or test.state != DRAFTING:
                return  # done by an earlier try, or superseded
            repo = self.repo_for(issue)
            # A verification an earlier try already ran (before GitHub failed) is not run again.
            verified = test.spec_yaml if test.verified_at is not None else None
        try:
            if self.code_host is None or repo is None:
                raise BadInput(NO_REPOSITORY)
            pull, draft = self._open(self.code_host, repo, issue, verified)
        except (BadInput, PermanentFailure) as exc:
            self._fail(issue_id, str(exc))
            raise PermanentFailure(str(exc)) from None
        except RetryLater as exc:
            if message.attempts + 1 >= store.MAX_ATTEMPTS:
                self._fail(issue_id, f"gave up after {store.MAX_ATTEMPTS} tries: {exc}")
            else:
                self._note_error(issue_id, str(exc))
            raise
        with transaction(self.sessions) as session:
            test = service.get_test(session, issue_id)
            issue = triage.get_issue_or_raise(session, issue_id)
            assert test is not None
            test.state, test.repo, test.branch = PR_OPEN, repo, pull.branch
            test.pr_number, test.pr_url, test.spec_id = pull.number, pull.url, draft.spec.id
            test.spec_yaml, test.rendered_path = draft.spec_yaml, draft.test_path
            test.last_error, test.updated_at = None, utcnow()
            session.add(test)
            triage.queue_reply(
                session,
                issue,
                f"{verdict_line(test)} Drafted {link(pull.url, f'PR #{pull.number}')} "
                f"(`{safe(draft.test_path, 300)}`); merging it makes the test active.",
            )
            triage.queue_root_edit(session, issue)
        if pull.state != "open" or pull.merged:
            # An earlier PR of this branch was already closed or merged; record that too.
            with transaction(self.sessions) as session:
                test = service.get_test(session, issue_id)
                assert test is not None
                service.apply_pull_state(session, test, state=pull.state, merged=pull.merged, url=pull.url)

    def _open(
        self, host: CodeHost, repo: str, issue: Issue, verified: str | None
    ) -> tuple[PullRequest, prs.Draft]:
        if not issue.latest_event:
            raise BadInput(prs.NO_EVENT)
        head = host.default_head(repo)
        config = parse_repo_config(host.read_file(repo, CONFIG_PATH, head.sha))
        draft = prs.build_draft(issue, config.drafts, config.preview)
        if verified is not None:
            draft = prs.with_spec(draft, parse_spec(yaml.safe_load(verified)))
        else:
            draft = self._verify(issue, repo, draft, config.verify_base_url)
        existing = host.find_pull(repo, draft.branch)
        if existing is not None:
            return existing, draft
        host.create_branch(
            repo,
            branch=draft.branch,
            base_sha=head.sha,
            files=draft.files,
            message=f"{prs.pr_title(issue, draft.spec)}\n\nDrafted from Sentry issue {issue.id}.",
        )
        pull = host.open_pull(
            repo,
            branch=draft.branch,
            base=head.branch,
            title=prs.pr_title(issue, draft.spec),
            body=self._body(issue, draft),
        )
        return pull, draft

    # Verification -------------------------------------------------------------------------------

    def _verify(self, issue: Issue, repo: str, draft: prs.Draft, configured: str | None) -> prs.Draft:
        """Run the draft against the build with the bug and record the verdict on the test's row."""
        if self.settings is None:
            return draft
        with reading(self.sessions) as session:
            target = verify_target(session, repo=repo, configured=configured, settings=self.settings)
        if target is None:
            self._record(issue.id, draft.spec, None, unverified=NONE_CONFIGURED)
            return draft
        event = normalize_event(issue.latest_event) if issue.latest_event else None
        outcome = verify_or_refuse(
            draft.spec,
            base_url=target.url,
            settings=self.settings,
            event=event,
            launcher=self.launcher,
            preview=draft.preview,  # the repository's sign-in, flags and headers, as the gate uses them
        )
        log.info(
            "verified %s against %s (%s): %s", issue.id, target.url, target.source, outcome.verdict.result
        )
        draft = prs.with_spec(draft, outcome.spec)
        self._record(issue.id, draft.spec, outcome)
        return draft

    def _record(self, issue_id: str, spec: Spec, outcome: Outcome | None, *, unverified: str = "") -> None:
        with transaction(self.sessions) as session:
            test = service.get_test(session, issue_id)
            if test is None:
                return
            service.record_verification(
                session, test, spec_yaml=dump_spec(spec), outcome=outcome, unverified=unverified
            )

    def _body(self, issue: Issue, draft: prs.Draft) -> str:
        with reading(self.sessions) as session:
            test = service.get_test(session, issue.id)
        evidence = None
        if test is not None and test.verify_screenshot and self.settings is not None:
            evidence = (
                f"{self.settings.public_url.rstrip('/')}/issues/{quote(issue.id, safe='')}/verification"
            )
        return prs.pr_body(
            issue,
            draft,
            thread_url=self.thread_url(issue),
            evidence_url=evidence,
            unverified_reason=test.verdict_detail if test is not None and test.verdict is None else None,
            failed_step=test.verify_step if test is not None else None,
        )

    def reverify(self, message: OutboxMessage) -> None:
        """Run an existing draft's verification again (`/triage verify`) and bring its PR up to date."""
        issue_id = message.payload["issue_id"]
        with reading(self.sessions) as session:
            test = service.get_test(session, issue_id)
            issue = triage.get_issue_or_raise(session, issue_id)
            if test is None or test.pr_number is None or test.repo is None or self.code_host is None:
                return
            repo, number, branch, spec_yaml = test.repo, test.pr_number, test.branch, test.spec_yaml
            spec_path = f"{SPEC_DIR}/{test.spec_id}.yml" if test.spec_id else None
        host = self.code_host
        head = host.default_head(repo)
        config = parse_repo_config(host.read_file(repo, CONFIG_PATH, head.sha))
        draft = prs.build_draft(issue, config.drafts, config.preview)
        # The branch's spec, as a reviewer may have edited it; else the one committed at drafting.
        text = host.read_file(repo, spec_path, branch) if spec_path and branch else None
        text = text or spec_yaml
        if text:
            try:
                draft = prs.with_spec(draft, parse_spec(yaml.safe_load(text), file=spec_path or "spec"))
            except (BadInput, yaml.YAMLError) as exc:
                self._say(
                    issue_id,
                    f":warning: Could not verify: the draft's spec does not load: {safe(str(exc), 500)}",
                )
                return
        draft = self._verify(issue, repo, draft, config.verify_base_url)
        with transaction(self.sessions) as session:
            test = service.get_test(session, issue_id)
            assert test is not None
            triage.queue_reply(session, issue, f"{verdict_line(test)} (verified again on request)")
            triage.queue_root_edit(session, issue)
        host.update_pull(repo, number, title=prs.pr_title(issue, draft.spec), body=self._body(issue, draft))

    def _fail(self, issue_id: str, error: str) -> None:
        """Mark the draft failed and say why in the thread (a later click tries again)."""
        with transaction(self.sessions) as session:
            test = service.get_test(session, issue_id)
            issue = triage.get_issue_or_raise(session, issue_id)
            if test is not None:
                test.state, test.last_error, test.updated_at = FAILED, error[:4000], utcnow()
                session.add(test)
            triage.queue_reply(
                session,
                issue,
                f":warning: Could not draft a regression test: {safe(error, 1500)}\n"
                "Fix the cause and click *Create regression test* again.",
            )
            triage.queue_root_edit(session, issue)

    def _note_error(self, issue_id: str, error: str) -> None:
        with transaction(self.sessions) as session:
            test = service.get_test(session, issue_id)
            if test is not None:
                test.last_error = error[:4000]
                session.add(test)

    # Sentry buttons -----------------------------------------------------------------------------

    def assign(self, message: OutboxMessage) -> None:
        """Assign the Sentry issue to the person picked (or the clicker), found in Sentry by email."""
        issue_id, user = message.payload["issue_id"], message.payload["user"]
        target = message.payload.get("target") or user
        if not self._sentry_ready(issue_id):
            return
        email = message.payload.get("email") or self.chat.user_email(target)
        if email is None:
            self._say(
                issue_id,
                f":bust_in_silhouette: Could not assign {service.mention(target)}: Slack shares no email for "
                "them (the app needs the users:read.email scope). Assign in Sentry instead.",
            )
            return
        self._sentry_call(issue_id, {"assignedTo": email})
        with transaction(self.sessions) as session:
            issue = triage.get_issue_or_raise(session, issue_id)
            issue.assignee, issue.updated_at = email, utcnow()
            session.add(issue)
            triage.queue_reply(
                session,
                issue,
                f":bust_in_silhouette: Assigned to {safe(email, 320)} by {service.mention(user)} "
                f"from {_where(user)}.",
            )
            triage.queue_root_edit(session, issue)

    def resolve(self, message: OutboxMessage) -> None:
        """Resolve the Sentry issue."""
        self._set_status(message, {"status": "resolved"}, ":white_check_mark: Resolved by {by}.")

    def archive(self, message: OutboxMessage) -> None:
        """Archive the Sentry issue until it escalates, as Sentry's own Slack app does."""
        change = {"status": "ignored", "substatus": "archived_until_escalating"}
        self._set_status(message, change, ":file_cabinet: Archived until it escalates by {by}.")

    def _set_status(self, message: OutboxMessage, change: dict[str, str], said: str) -> None:
        """Make the change on Sentry, then record the status and say so once in the thread."""
        issue_id, user = message.payload["issue_id"], message.payload["user"]
        if not self._sentry_ready(issue_id):
            return
        self._sentry_call(issue_id, change)
        with transaction(self.sessions) as session:
            issue = triage.get_issue_or_raise(session, issue_id)
            already = issue.status == change["status"]
            issue.status, issue.updated_at = change["status"], utcnow()
            session.add(issue)
            if not already:
                triage.queue_reply(
                    session, issue, said.format(by=f"{service.mention(user)} from {_where(user)}")
                )
            triage.queue_root_edit(session, issue)

    def _sentry_ready(self, issue_id: str) -> bool:
        if self.sentry is not None:
            return True
        self._say(
            issue_id,
            ":warning: Sentry's API is not configured (TRIAGEBOT_SENTRY_API_TOKEN, TRIAGEBOT_SENTRY_ORG).",
        )
        return False

    def _sentry_call(self, issue_id: str, changes: dict[str, Any]) -> None:
        assert self.sentry is not None
        try:
            self.sentry.update_issue(issue_id, changes)
        except PermanentFailure as exc:
            self._say(issue_id, f":warning: Sentry refused the change: {safe(str(exc), 1000)}")
            raise

    def _say(self, issue_id: str, text: str) -> None:
        with transaction(self.sessions) as session:
            triage.queue_reply(session, triage.get_issue_or_raise(session, issue_id), text)

    # Ephemeral answers --------------------------------------------------------------------------

    def ephemeral(self, message: OutboxMessage) -> None:
        """Show a message to one user in a channel."""
        payload = message.payload
        self.chat.post_ephemeral(channel=payload["channel"], user=payload["user"], text=payload["text"])


def _where(user: str) -> str:
    return "the dashboard" if user == DASHBOARD_USER else "Slack"


def verdict_line(test: RegressionTest) -> str:
    """Say a draft's verdict in one line of Slack mrkdwn (outside text escaped)."""
    where, detail = safe(test.verified_url or "", 300), safe(test.verdict_detail or "", 600)
    if test.verdict == "reproduced":
        return f":dart: Reproduced on {where}: {detail}."
    if test.verdict == "not_reproduced":
        return f":grey_question: Not reproduced on {where}: {detail}; the PR says what to check."
    if test.verdict == "error":
        return f":warning: Not verified: the run against {where} could not happen: {detail}."
    return ":grey_question: Unverified: no build to verify against is configured."


def get_by_issue(sessions: SessionFactory, issue_id: str) -> RegressionTest | None:
    """Return an issue's regression test (for the dashboard and tests)."""
    with reading(sessions) as session:
        return service.get_test(session, issue_id)
