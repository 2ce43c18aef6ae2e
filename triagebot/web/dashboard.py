"""The dashboard: coverage gaps, issues with their threads, tests, gate runs with evidence, flag rollouts.

Plain server-rendered HTML (jinja2, autoescaped), no JavaScript. Every page but `/login` needs the
dashboard token (see web/auth.py); buttons are POST forms with a CSRF token that call the same service
functions as the Slack buttons.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from triagebot.backfill import service as backfill_service
from triagebot.backfill.delivery import NO_REPOSITORY
from triagebot.bootstrap import Services
from triagebot.coverage import pages, queries, tests_query
from triagebot.db import reading, transaction, utcnow
from triagebot.integrations.localchat import LOCAL_CHANNEL
from triagebot.integrations.localrepo import LocalRepoHost
from triagebot.triage.models import Issue
from triagebot.web import charts
from triagebot.web.auth import COOKIE, SESSION_SECONDS, dashboard_auth
from triagebot.web.markdown import render_markdown

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "dashboard"
SECURITY_HEADERS = {
    # No scripts at all; inline styles and SVG only; forms post back here.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
ACTIONS = ("create-test", "assign", "resolve", "archive", "wont-test")
# The banner after an action shows only these texts, picked by code: `?done=` can be put in any link,
# so free text there would let anyone make the dashboard say anything.
DONE = {
    "drafting": "Drafting the regression test; the pull request appears in the thread below.",
    "exists": "A regression test already exists for this issue.",
    "no-repository": f"Cannot draft a regression test: {NO_REPOSITORY}.",
    "assigning": "Assigning in Sentry.",
    "need-assignee": "Say whom to assign: their email in Sentry.",
    "resolving": "Resolving in Sentry.",
    "archiving": "Archiving in Sentry until it escalates.",
    "wont-test": "Marked as won't test.",
    "need-reason": "Say why this issue gets no test.",
}


@functools.cache  # one environment (and one template cache) for every route
def environment() -> Environment:
    """The dashboard's jinja2 environment: autoescaped HTML, undefined names are errors."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = lambda value: value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"
    env.filters["number"] = lambda value: f"{int(value or 0):,}"
    env.filters["percent"] = lambda value: "-" if value is None else f"{value * 100:.1f}%"
    env.filters["slack_text"] = charts.slack_text
    env.filters["safe_url"] = charts.safe_url
    env.filters["runs_text"] = runs_text
    env.filters["markdown"] = render_markdown
    return env


def runs_text(test: tests_query.TestRow) -> str:
    """Say a test's gate record in words: `passed (2 runs, none flaky)`."""
    if not test.runs:
        return test.last_status or "not gated yet"
    runs = f"{test.runs} run{'' if test.runs == 1 else 's'}"
    flaky = "none flaky" if not test.flaky else f"{test.flaky} flaky"
    return f"{test.last_status or '-'} ({runs}, {flaky})"


PAGE_ERRORS = (400, 403, 404, 422)  # answered as a page; 303 to the login and 401 stay as they are


class PageRoute(APIRoute):
    """A dashboard route whose refusals (a missing issue, `?days=abc`) are HTML pages, not JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        env = environment()

        async def page_errors(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
                where = ".".join(str(part) for part in first["loc"][1:]) or "request"
                return _error_page(env, 400, f"{where}: {first['msg']}")
            except HTTPException as exc:
                if exc.status_code not in PAGE_ERRORS:
                    raise
                return _error_page(env, exc.status_code, str(exc.detail))

        return page_errors


def _error_page(env: Environment, status: int, message: str) -> HTMLResponse:
    html = env.get_template("error.html.j2").render(status=status, message=message)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def local_next(target: str | None) -> str:
    """Return a same-site path to go to after login (never another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target if not urlsplit(target).netloc else "/"


def router(services: Services) -> APIRouter:
    """Build the dashboard routes."""
    api = APIRouter(route_class=PageRoute)
    auth = dashboard_auth(services)
    env = environment()

    def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(template).render(
            csrf=auth.csrf_token(request),
            path=request.url.path,
            flash=DONE.get(request.query_params.get("done", ""), ""),
            local_chat=services.chat_is_local,
            **context,
        )
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    guard = auth.require

    def check_csrf(request: Request, token: str) -> None:
        if not auth.csrf_valid(request, token):
            raise HTTPException(403, "the form expired; reload the page and try again")

    def sign_in(target: str) -> Response:
        response = RedirectResponse(local_next(target), status_code=303)
        response.set_cookie(
            COOKIE,
            auth.new_session(),
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="lax",
            secure=auth.secure_cookie,
            path="/",
        )
        return response

    @api.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/", token: str | None = None, failed: str = "") -> Response:
        if not auth.enabled:
            raise HTTPException(503, "the dashboard is off: set TRIAGEBOT_DASHBOARD_TOKEN")
        if token is not None and auth.token_matches(token):
            return sign_in(next)  # the login URL logged at start in development
        return render(
            request, "login.html.j2", next=local_next(next), failed=bool(failed) or token is not None
        )

    @api.post("/login")
    def login(request: Request, token: str = Form(""), next: str = Form("/")) -> Response:
        if not auth.enabled:
            raise HTTPException(503, "the dashboard is off: set TRIAGEBOT_DASHBOARD_TOKEN")
        if not auth.token_matches(token.strip()):
            # Post/redirect/get: a refresh does not resend the token, and the form page itself is a 200.
            return RedirectResponse(f"/login?next={quote(local_next(next))}&failed=1", status_code=303)
        return sign_in(next)

    @api.post("/logout")
    def logout(request: Request, csrf: str = Form("")) -> Response:
        guard(request)
        check_csrf(request, csrf)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @api.get("/", response_class=HTMLResponse)
    def coverage_page(
        request: Request, project: str | None = None, days: int = queries.DEFAULT_DAYS, show: str = "gaps"
    ) -> Response:
        guard(request)
        days = min(max(days, 1), 365)
        states = tuple(queries.LABELS) if show == "all" else queries.GAPS
        now = utcnow()
        with reading(services.sessions) as session:
            report = queries.coverage(
                session, project=project or None, days=days, states=states, limit=200, now=now
            )
            bars = pages.first_seen_by_day(session, days=min(days, 60), now=now, project=project or None)
        return render(
            request,
            "coverage.html.j2",
            report=report,
            chart=charts.first_seen_chart(bars),
            show=show,
            project=project or "",
            thread_url=thread_url,
        )

    def thread_url(channel: str | None, ts: str | None) -> str | None:
        if services.chat_is_local or not (channel and ts):
            return None
        return f"https://slack.com/app_redirect?channel={quote(channel)}"

    @api.get("/issues/{issue_id}", response_class=HTMLResponse)
    def issue_page(request: Request, issue_id: str) -> Response:
        guard(request)
        with reading(services.sessions) as session:
            issue = session.get(Issue, issue_id)
            if issue is None:
                raise HTTPException(404, "no such issue")
            state, pr_url = queries.state_of_issue(session, issue_id)
            tests = tests_query.list_tests(session, issue_id=issue_id)
            gates = pages.gate_history(session, issue_id)
            thread = pages.local_thread(session, issue) if services.chat_is_local else []
            verification = backfill_service.get_test(session, issue_id)
        return render(
            request,
            "issue.html.j2",
            issue=issue,
            state=state,
            state_label=queries.LABELS[state],
            pr_url=pr_url,
            tests=tests,
            gates=gates,
            thread=thread,
            slack_thread=thread_url(issue.channel, issue.thread_ts),
            verification=verification,
        )

    @api.get("/issues/{issue_id}/verification/{kind}")
    def verification_evidence(request: Request, issue_id: str, kind: str) -> Response:
        guard(request)
        if kind not in ("screenshot", "trace"):
            raise HTTPException(404, "no such evidence")
        with reading(services.sessions) as session:
            test = backfill_service.get_test(session, issue_id)
        stored = (test.verify_screenshot if kind == "screenshot" else test.verify_trace) if test else None
        trace_name = f"verification-{quote(issue_id, safe='')}.zip"
        return evidence_response(services.settings.data_dir, stored, kind, trace_name)

    @api.post("/issues/{issue_id}/{action}")
    def issue_action(
        request: Request,
        issue_id: str,
        action: str,
        csrf: str = Form(""),
        reason: str = Form(""),
        email: str = Form(""),
    ) -> Response:
        guard(request)
        check_csrf(request, csrf)
        if action not in ACTIONS:
            raise HTTPException(404, "no such action")
        done = run_action(services, issue_id=issue_id, action=action, reason=reason, email=email)
        return RedirectResponse(f"/issues/{quote(issue_id)}?done={quote(done)}", status_code=303)

    @api.get("/pulls/{number}", response_class=HTMLResponse)
    def pull_page(request: Request, number: int) -> Response:
        guard(request)
        host = services.code_host
        if not isinstance(host, LocalRepoHost) or (pull := host.pull_page(number)) is None:
            raise HTTPException(404, f"no local pull request #{number}")
        return render(request, "pull.html.j2", pull=pull, repo=host.name)

    @api.get("/tests", response_class=HTMLResponse)
    def tests_page(request: Request) -> Response:
        guard(request)
        with reading(services.sessions) as session:
            rows = tests_query.list_tests(session)
        return render(request, "tests.html.j2", tests=rows)

    @api.get("/gates", response_class=HTMLResponse)
    def gates_page(request: Request) -> Response:
        guard(request)
        with reading(services.sessions) as session:
            runs = pages.gate_runs(session)
        return render(request, "gates.html.j2", runs=runs)

    @api.get("/gates/{gate_id}", response_class=HTMLResponse)
    def gate_page(request: Request, gate_id: int) -> Response:
        guard(request)
        with reading(services.sessions) as session:
            run, results = pages.gate_run(session, gate_id)
        if run is None:
            raise HTTPException(404, "no such gate run")
        return render(request, "gate.html.j2", run=run, results=results, evidence_name=lambda p: Path(p).name)

    @api.get("/gates/{gate_id}/files/{result_id}/{kind}")
    def evidence(request: Request, gate_id: int, result_id: int, kind: str) -> Response:
        guard(request)
        if kind not in ("screenshot", "trace"):
            raise HTTPException(404, "no such evidence")
        with reading(services.sessions) as session:
            _run, results = pages.gate_run(session, gate_id)
        found = next((row for row in results if row["id"] == result_id), None)
        stored = found.get(kind) if found else None
        trace_name = f"trace-{gate_id}-{result_id}.zip"
        return evidence_response(services.settings.data_dir, stored, kind, trace_name)

    @api.get("/flags", response_class=HTMLResponse)
    def flags_page(request: Request) -> Response:
        guard(request)
        now = utcnow()
        with reading(services.sessions) as session:
            timelines = pages.flag_timelines(session)
        charts_by_flag = {(t.key, t.environment): charts.rollout_chart(t, now=now) for t in timelines}
        return render(request, "flags.html.j2", timelines=timelines, charts=charts_by_flag)

    return api


def evidence_response(data_dir: Path, stored: str | None, kind: str, trace_name: str) -> FileResponse:
    """Serve a stored screenshot, or a trace as a download named `trace_name`; 404 when it is gone."""
    path = evidence_file(data_dir, stored)
    if path is None:
        raise HTTPException(404, "no such evidence (it may have been cleaned up)")
    if kind == "screenshot":
        return FileResponse(path, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})
    return FileResponse(path, media_type="application/zip", filename=trace_name)


def evidence_file(data_dir: Path, stored: str | None) -> Path | None:
    """Resolve a stored evidence path, refusing anything outside the evidence folder."""
    if not stored:
        return None
    root = (data_dir / "evidence").resolve()
    path = Path(stored)
    path = (path if path.is_absolute() else Path.cwd() / path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def run_action(services: Services, *, issue_id: str, action: str, reason: str, email: str = "") -> str:
    """Do what the matching Slack button does, as the dashboard user; return the banner's code."""
    user = backfill_service.DASHBOARD_USER
    with transaction(services.sessions) as session:
        issue = session.get(Issue, issue_id)
        if issue is None:
            raise HTTPException(404, "no such issue")
        channel = issue.channel or services.settings.slack_channel or LOCAL_CHANNEL
        sentry_kinds = {
            "resolve": backfill_service.SENTRY_RESOLVE,
            "archive": backfill_service.SENTRY_ARCHIVE,
        }
        if action == "create-test":
            missing = services.backfill.missing_setup(issue) if services.backfill else None
            if missing is not None:
                return "no-repository"  # said where the person clicked, not only in the server log
            outcome = backfill_service.request_test(session, issue_id=issue_id, user=user, channel=channel)
            done = "drafting" if outcome == "queued" else "exists"
        elif action == "assign":
            if "@" not in email or len(email.strip()) > 320:
                return "need-assignee"
            backfill_service.request_sentry_change(
                session,
                kind=backfill_service.SENTRY_ASSIGN,
                issue_id=issue_id,
                user=user,
                channel=channel,
                email=email,
            )
            done = "assigning"
        elif action in sentry_kinds:
            backfill_service.request_sentry_change(
                session, kind=sentry_kinds[action], issue_id=issue_id, user=user, channel=channel
            )
            done = "resolving" if action == "resolve" else "archiving"
        else:
            if not reason.strip():
                return "need-reason"
            backfill_service.record_wont_test(session, issue_id=issue_id, reason=reason, user=user)
            done = "wont-test"
    services.outbox.kick()
    return done
