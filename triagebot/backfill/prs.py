"""What a regression-test pull request holds: its files, title and body; and keeping PR state in sync."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from sqlmodel import col, select

from triagebot.backfill import service
from triagebot.backfill.models import PR_CLOSED, PR_OPEN, RegressionTest
from triagebot.db import SessionFactory, transaction
from triagebot.drafts.config import SPEC_DIR, DraftConfig, PreviewConfig
from triagebot.drafts.derive import derive_spec
from triagebot.drafts.render import render_test
from triagebot.errors import BadInput, DeliveryError
from triagebot.integrations.sentry.event import normalize_event
from triagebot.spec import Click, ExpectUrl, Fill, Goto, Locator, Request, Spec, Step, dump_spec
from triagebot.triage.models import Issue

if TYPE_CHECKING:
    from triagebot.integrations.ports import CodeHost
    from triagebot.outbox.worker import Outbox

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
TITLE_MAX = 256  # GitHub accepts longer titles, but lists cut them far sooner
BODY_MAX = 65_000  # GitHub refuses bodies over 65,536 characters
NO_EVENT = "no event to draft from; configure TRIAGEBOT_SENTRY_API_TOKEN"


@dataclass(frozen=True)
class Draft:
    """The files of one regression test, ready to commit."""

    spec: Spec
    spec_path: str
    spec_yaml: str
    test_path: str
    test_text: str
    config: DraftConfig
    preview: PreviewConfig | None = None  # the repository's `preview` section: sign-in, flags, headers

    @property
    def files(self) -> dict[str, str]:
        """Repo-relative path -> content."""
        return {self.spec_path: self.spec_yaml, self.test_path: self.test_text}

    @property
    def branch(self) -> str:
        """The pull request's branch: one per Sentry issue, so clicking again finds it."""
        return f"{service.BRANCH_PREFIX}{self.spec.id}"


def build_draft(issue: Issue, config: DraftConfig, preview: PreviewConfig | None = None) -> Draft:
    """Derive the spec from the issue's latest event and render its test; BadInput when impossible."""
    if not issue.latest_event:
        raise BadInput(NO_EVENT)
    spec = derive_spec(
        normalize_event(issue.latest_event),
        issue=issue,
        test_id_attribute=config.test_id_attribute,
        preview=preview,
    )
    return _assemble(spec, config, preview)


def with_spec(draft: Draft, spec: Spec) -> Draft:
    """The same draft holding another spec (a verified one): its YAML and rendered test redone."""
    return _assemble(spec, draft.config, draft.preview)


def _assemble(spec: Spec, config: DraftConfig, preview: PreviewConfig | None) -> Draft:
    """Write the spec's YAML and render its test as the repository's config says."""
    test_path, test_text = render_test(spec, config.format, config=config, preview=preview)
    return Draft(
        spec=spec,
        spec_path=f"{SPEC_DIR}/{spec.id}.yml",
        spec_yaml=dump_spec(spec),
        test_path=test_path,
        test_text=test_text,
        config=config,
        preview=preview,
    )


# How a PR's title starts, from its spec's verification (None: not verified).
TITLE_LEADS = {"reproduced": "Reproduced", "not_reproduced": "Not reproduced", "error": "Not verified"}


def pr_title(issue: Issue, spec: Spec) -> str:
    """`Reproduced: regression test for SHOP-12: <title>` (the verdict first), on one line."""
    name = issue.short_id or spec.issue.short_id or f"Sentry issue {issue.id}"
    title = " ".join((issue.title or spec.issue.title or spec.id).split())
    lead = TITLE_LEADS[spec.verification.result] if spec.verification else "Unverified"
    text = f"{lead}: regression test for {name}: {title}"
    return text if len(text) <= TITLE_MAX else text[: TITLE_MAX - 1] + "…"


# PR bodies are Markdown that GitHub renders: outside text must not become markup, links, images,
# HTML, @-mentions (which notify people) or #-references.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()+\-.!|~])")


def md(value: Any, limit: int = 500) -> str:
    """Escape outside text for inline Markdown, on one line."""
    text = " ".join(str(value if value is not None else "").split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("#", "&#35;").replace("@", "&#64;")


def md_link(label: str, url: str | None) -> str:
    """A Markdown link to an http(s) URL we trust, with an escaped label (the label alone otherwise)."""
    if not url or not url.startswith(("https://", "http://")):
        return md(label)
    href = (
        url.replace(" ", "%20")
        .replace("(", "%28")
        .replace(")", "%29")
        .replace("<", "%3C")
        .replace(">", "%3E")
    )
    return f"[{md(label)}]({href})"


def code(value: str) -> str:
    """A code span for text we produced ourselves (paths), with backticks removed."""
    return "`" + value.replace("`", "'") + "`"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Environment for Markdown bodies: strict, no HTML autoescape (the md filter escapes instead)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(md=md, code=code)
    env.globals.update(md_link=md_link)
    return env


def describe_locator(locator: Locator) -> str:
    """Say in words how a step finds its element (escaped Markdown)."""
    if locator.strategy == "role":
        found = f"the {md(locator.value, 60)} named “{md(locator.name or '', 120)}”"
    elif locator.strategy == "testid":
        found = f"{md(locator.attribute or 'data-testid', 60)}=“{md(locator.value, 120)}”"
    else:
        found = f"{md(locator.strategy, 20)} “{md(locator.value, 160)}”"
    return found + (" (weak locator)" if locator.weak else "")


def describe_step(step: Step) -> str:
    """Say one step in words (escaped Markdown)."""
    if isinstance(step, Goto):
        return f"open {md(step.path, 300)}"
    if isinstance(step, Click):
        return f"click {describe_locator(step.locator)}"
    if isinstance(step, Fill):
        made_up = " (a synthetic value: events never carry what was typed)" if step.synthetic else ""
        return f"fill {describe_locator(step.locator)} with “{md(step.value, 120)}”{made_up}"
    if isinstance(step, ExpectUrl):
        return f"expect the URL to become {md(step.path, 300)}"
    if isinstance(step, Request):
        return f"send {md(step.method, 10)} {md(step.path, 300)} and expect no 5xx"
    return md(getattr(step, "action", "step"), 40)


def what_to_check(spec: Spec, step_index: int | None) -> list[str]:
    """Say what a reviewer should look at when the draft did not reproduce (escaped Markdown)."""
    checks: list[str] = []
    if step_index is not None and 0 <= step_index < len(spec.steps):
        checks.append(
            f"step {step_index + 1} ({describe_step(spec.steps[step_index])}): does that element still "
            "exist under that name? Give it a test id and edit the step."
        )
    if any(isinstance(step, Fill) for step in spec.steps):
        checks.append("the typed values are made up: put in one that triggers the error")
    if spec.flags:
        checks.append("the feature flags the event carried: is the build run with them?")
    checks.append("the data the failing page had (a signed-in user, records): `sign_in` or a `setup`")
    checks.append("whether the build verified against still has the bug (it may be fixed there already)")
    return checks


def pr_body(
    issue: Issue,
    draft: Draft,
    *,
    thread_url: str | None,
    evidence_url: str | None = None,
    unverified_reason: str | None = None,
    failed_step: int | None = None,
) -> str:
    """Render the pull request's description from templates/pr_body.md.j2, the verdict first.

    `evidence_url` is where the verification's screenshot and trace are served (`…/screenshot`,
    `…/trace`); `failed_step` the step a non-reproducing run stopped at.
    """
    spec = draft.spec
    steps = [describe_step(step) for step in spec.steps]  # numbered as the spec's notes number them
    assertions = spec.assertions
    page_error = assertions.page_error
    text = (
        environment()
        .get_template("pr_body.md.j2")
        .render(
            issue=issue,
            spec=spec,
            name=issue.short_id or spec.issue.short_id or f"Sentry issue {issue.id}",
            sentry_url=issue.web_url or spec.issue.link,
            thread_url=thread_url,
            spec_path=draft.spec_path,
            test_path=draft.test_path,
            test_format="pytest-playwright" if draft.config.format == "python" else "@playwright/test",
            steps=steps,
            start=spec.start,
            page_error=": ".join(part for part in (page_error.type, page_error.message) if part)
            if page_error
            else None,
            no_server_errors=assertions.no_server_errors,
            text_absent=assertions.text_absent,
            notes=spec.notes,
            flags=[(flag.key, flag.value) for flag in spec.flags],
            routes=spec.covers.routes,
            paths=spec.covers.paths,
            verification=spec.verification,
            evidence_url=evidence_url,
            unverified_reason=unverified_reason,
            checks=what_to_check(spec, failed_step)
            if spec.verification and spec.verification.result == "not_reproduced"
            else [],
        )
    )
    return text if len(text) <= BODY_MAX else text[: BODY_MAX - 40] + "\n\n…(cut to GitHub's limit)\n"


def sync_open_pulls(sessions: SessionFactory, host: CodeHost | None, outbox: Outbox) -> str:
    """Ask the code host about every open or closed draft and apply what changed (missed webhooks)."""
    if host is None:
        return "skipped: no code host configured"
    with transaction(sessions) as session:
        pending = [
            (test.id, test.repo, test.pr_number)
            for test in session.execute(
                select(RegressionTest).where(
                    col(RegressionTest.state).in_((PR_OPEN, PR_CLOSED)),
                    col(RegressionTest.pr_number).is_not(None),
                )
            ).scalars()
        ]
    changed = failed = 0
    for test_id, repo, number in pending:
        if repo is None or number is None:
            continue
        try:
            pull = host.get_pull(repo, number)
        except DeliveryError as exc:
            failed += 1
            log.warning("pr-sync: %s#%s unavailable: %s", repo, number, exc)
            continue
        with transaction(sessions) as session:
            test = session.get(RegressionTest, test_id)
            if test is None:
                continue
            outcome = service.apply_pull_state(
                session, test, state=pull.state, merged=pull.merged, url=pull.url
            )
            changed += outcome != "unchanged"
    if changed:
        outbox.kick()
    return f"checked {len(pending)} pull requests, {changed} changed, {failed} unavailable"


def merge_local_pull(sessions: SessionFactory, host: CodeHost | None, outbox: Outbox, issue_id: str) -> str:
    """Merge an issue's draft on the local-repository code host (demo, dashboard) and activate the test."""
    from triagebot.integrations.localrepo import LocalRepoHost

    if not isinstance(host, LocalRepoHost):
        raise BadInput("merging from triagebot works only with the local-repository code host")
    with transaction(sessions) as session:
        test = service.get_test(session, issue_id)
        if test is None or test.pr_number is None or test.repo is None:
            raise BadInput(f"issue {issue_id} has no draft pull request")
        repo, number = test.repo, test.pr_number
    pull = host.merge_pull(repo, number)
    with transaction(sessions) as session:
        test = service.get_test(session, issue_id)
        assert test is not None
        outcome = service.apply_pull_state(session, test, state=pull.state, merged=pull.merged, url=pull.url)
    outbox.kick()
    return outcome
