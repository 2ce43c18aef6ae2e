"""Run regression specs against a preview in one browser, each spec in its own context, several at once.

Concurrency is asyncio with a semaphore, not threads: Playwright's API is not thread-safe (one
instance per thread would mean one browser per thread), and the work is waiting on Chromium, which
one event loop does well. One browser process is shared; each attempt gets a fresh context, so
cookies, storage and routes never leak between specs.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

from triagebot.drafts.config import Login, PreviewConfig
from triagebot.gates.models import (
    Attempt,
    Evidence,
    FailedResponse,
    Failure,
    GateResult,
    Selection,
    SpecResult,
    SpecStatus,
)
from triagebot.gates.preview_access import CannotEnter, PreviewAccess
from triagebot.gates.setup import signed_setup_request
from triagebot.gates.steps import describe_step
from triagebot.integrations.ports import (
    Browser,
    BrowserActionError,
    BrowserLauncher,
    BrowserPage,
    BrowserUnavailable,
    Observations,
    PageErrorSeen,
    PageState,
    ResponseSeen,
)
from triagebot.origin import path_matches, preview_origin, url_on_origin
from triagebot.settings import Settings, secret
from triagebot.spec import (
    Check,
    Click,
    ExpectUrl,
    Fill,
    Goto,
    Locator,
    PageError,
    Press,
    Request,
    Select,
    Spec,
    Step,
    loaded_before,
)

START_STEP = -1  # step_index of the spec's `start` navigation
# What the machine can carry: past a few contexts per core the CPU is saturated, so more at once only
# stretches every spec (and the wait for its late errors) without finishing the gate sooner. Each
# context costs a renderer process; half of the available memory is left to everything else.
SPECS_PER_CORE = 4
MB_PER_CONTEXT = 120
MAX_AUTO_CONCURRENCY = 32
SERVER_ERROR = 500
UNAUTHORIZED = 401
# Before acting on a page just arrived at: its work done and quiet this long (see spec.loaded_before).
ARRIVAL_QUIET_MS = 50
# Why a first navigation fails when the preview, not the app, is the problem: Chromium's network and
# certificate errors and the egress proxy's tunnel refusal. A slow first page is not among them: on a
# loaded machine a healthy preview can be slow, and a preview that does not answer at all is caught by
# the probe (a TCP connection within the step timeout) before any spec starts.
PREVIEW_DOWN = re.compile(r"net::ERR_")
# Chromium's and Node's words for a preview that never answered: "could not test", not a failure.
UNREACHABLE = (
    "ERR_CONNECTION_REFUSED",
    "ERR_CONNECTION_RESET",
    "ERR_CONNECTION_CLOSED",
    "ERR_NAME_NOT_RESOLVED",
    "ERR_NAME_RESOLUTION_FAILED",
    "ERR_ADDRESS_UNREACHABLE",
    "ERR_INTERNET_DISCONNECTED",
    "ERR_TUNNEL_CONNECTION_FAILED",
    "ERR_EMPTY_RESPONSE",
    "ERR_TIMED_OUT",
    "ECONNREFUSED",
)


@dataclass(frozen=True)
class GateOptions:
    """How a gate runs; `from_settings` fills it from TRIAGEBOT_* settings."""

    data_dir: Path = Path(".triagebot-data")
    concurrency: int | None = None  # None: from the machine and the number of specs (auto_concurrency)
    step_timeout_ms: int = 10_000
    spec_timeout_ms: int = 60_000
    retries: int = 1  # a spec that fails and then passes on a retry is flaky
    settle_ms: int = 250  # quiet window after the last step's work (requests, callbacks) is done
    # Playwright Test's default too: a failure is retried, and the retry's trace shows it.
    trace: Literal["on-retry", "always"] = "on-retry"
    setup_secret: str | None = None
    preview: PreviewConfig | None = None  # the repository's sign-in, flags and headers recipe

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> GateOptions:
        """Build options from settings, with explicit overrides (e.g. from the CLI) winning."""
        options = cls(
            data_dir=settings.data_dir,
            concurrency=settings.gate_concurrency,
            step_timeout_ms=settings.gate_step_timeout_ms,
            spec_timeout_ms=settings.gate_spec_timeout_ms,
            setup_secret=secret(getattr(settings, "gate_setup_secret", None)),
        )
        return replace(options, **{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]


@dataclass(frozen=True)
class ProgressEvent:
    """Something worth a progress line: a spec started, failed an attempt and will retry, or finished."""

    kind: Literal["started", "retrying", "finished"]
    spec_id: str
    attempt: int = 1
    result: SpecResult | None = None
    message: str | None = None


Progress = Callable[[ProgressEvent], None]


class _StepFailed(Exception):
    def __init__(self, step_index: int | None, step: str, message: str, *, infrastructure: bool = False):
        super().__init__(message)
        self.failure = Failure(step_index=step_index, step=step, message=message)
        self.infrastructure = infrastructure


@dataclass
class _Cursor:
    """Where an attempt got to, so a spec timeout can say which step was running."""

    index: int | None = None
    step: str = "(not started)"
    deadline: float = 0.0  # time.monotonic() at which the spec times out
    setup_up: bool = False
    described: dict[int, str] = field(default_factory=dict)

    def at(self, index: int | None, step: str) -> None:
        """Record that step `index` is running."""
        self.index, self.step = index, step
        if index is not None:
            self.described[index] = step

    def blame(self, seen_at: int | None) -> tuple[int | None, str]:
        """Name the step an observation belongs to (the one running when it was seen)."""
        if seen_at is None:
            return self.index, self.step
        return seen_at, self.described.get(seen_at, self.step)


def auto_concurrency(specs: int, cpus: int | None = None, available_mb: int | None = None) -> int:
    """How many specs to run at once when not configured: what the cores and the free memory carry."""
    cores = cpus or usable_cores()
    memory = available_mb if available_mb is not None else available_memory_mb()
    by_memory = memory // 2 // MB_PER_CONTEXT if memory else MAX_AUTO_CONCURRENCY
    return max(1, min(specs, SPECS_PER_CORE * cores, by_memory, MAX_AUTO_CONCURRENCY))


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, which containers narrow), else all of them."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def available_memory_mb() -> int | None:
    """Memory available for new processes (MemAvailable), or None where /proc/meminfo is absent."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        return None
    return None


def new_run_id() -> str:
    """Return a sortable, path-safe id for a gate run."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + secrets.token_hex(3)


def run_gate(
    specs: Sequence[Spec],
    *,
    base_url: str,
    settings: Settings,
    options: GateOptions | None = None,
    quarantine: Collection[str] = (),
    selection: Selection | None = None,
    progress: Progress | None = None,
    launcher: BrowserLauncher | None = None,
    run_id: str | None = None,
) -> GateResult:
    """Run `specs` against the preview at `base_url` and return the verdict (blocking)."""
    return asyncio.run(
        run_gate_async(
            specs,
            base_url=base_url,
            settings=settings,
            options=options,
            quarantine=quarantine,
            selection=selection,
            progress=progress,
            launcher=launcher,
            run_id=run_id,
        )
    )


async def run_gate_async(
    specs: Sequence[Spec],
    *,
    base_url: str,
    settings: Settings,
    options: GateOptions | None = None,
    quarantine: Collection[str] = (),
    selection: Selection | None = None,
    progress: Progress | None = None,
    launcher: BrowserLauncher | None = None,
    run_id: str | None = None,
) -> GateResult:
    """Run `specs` against the preview at `base_url`; RefusedHost/BadInput before any browsing.

    Raises BrowserUnavailable when no browser can be started.
    """
    origin = preview_origin(base_url, settings)  # refuses before a browser starts
    options = options or GateOptions.from_settings(settings)
    access = PreviewAccess.resolve(options.preview, settings)  # refuses variables not allowed
    run_id = run_id or new_run_id()
    if launcher is None:
        # The default adapter; services pass their own launcher (built in bootstrap) instead.
        from triagebot.integrations.browser import PlaywrightLauncher

        launcher = PlaywrightLauncher(chromium_path=settings.chromium_path)
    started_at, clock = datetime.now(UTC), time.monotonic()
    evidence_root = options.data_dir / "evidence" / run_id
    results: list[SpecResult] = []
    if options.concurrency is None:
        options = replace(options, concurrency=auto_concurrency(len(specs)))
    if specs:
        async with launcher.launch(origin=origin) as browser:
            runner = _Runner(browser, origin, run_id, options, evidence_root, set(quarantine), progress)
            runner.access = access
            runner.unreachable = await browser.probe(origin, options.step_timeout_ms)
            results = list(await asyncio.gather(*(runner.run_spec(spec) for spec in specs)))
    return GateResult(
        run_id=run_id,
        base_url=origin,
        started_at=started_at,
        duration_ms=_ms_since(clock),
        results=results,
        selection=selection,
        evidence_dir=str(evidence_root) if evidence_root.exists() else None,
    )


def _ms_since(clock: float) -> int:
    return int((time.monotonic() - clock) * 1000)


class _Runner:
    """Runs the specs of one gate against one browser."""

    def __init__(
        self,
        browser: Browser,
        origin: str,
        run_id: str,
        options: GateOptions,
        evidence_root: Path,
        quarantine: set[str],
        progress: Progress | None,
    ) -> None:
        self.browser, self.origin, self.run_id, self.options = browser, origin, run_id, options
        self.evidence_root, self.quarantine, self.progress = evidence_root, quarantine, progress
        self.slots = asyncio.Semaphore(max(1, options.concurrency or 1))
        self.access = PreviewAccess()
        self.unreachable: str | None = None  # why the preview could not be reached before any spec
        self._signed_in: dict[str, Any] | _StepFailed | None = None  # one sign-in per run, shared
        self._signing_in = asyncio.Lock()

    def _emit(self, event: ProgressEvent) -> None:
        if self.progress is not None:
            self.progress(event)

    async def run_spec(self, spec: Spec) -> SpecResult:
        """Run one spec, retrying a failure once to tell flaky from failing."""
        async with self.slots:
            self._emit(ProgressEvent("started", spec.id))
            clock = time.monotonic()
            attempts: list[Attempt] = []
            for number in range(1, self.options.retries + 2):
                attempt = await self._attempt(spec, number)
                attempts.append(attempt)
                if attempt.passed or attempt.infrastructure or number > self.options.retries:
                    break
                message = attempt.failure.message if attempt.failure else None
                self._emit(ProgressEvent("retrying", spec.id, number, message=message))
            result = SpecResult(
                spec_id=spec.id,
                issue_id=spec.issue.id,
                short_id=spec.issue.short_id,
                title=spec.issue.title,
                status=_status(attempts),
                quarantined=spec.id in self.quarantine,
                attempts=attempts,
                duration_ms=_ms_since(clock),
            )
            self._emit(ProgressEvent("finished", spec.id, len(attempts), result=result))
            return result

    async def _attempt(self, spec: Spec, number: int) -> Attempt:
        clock = time.monotonic()
        cursor = _Cursor()
        setup_run_id = f"{self.run_id}-{spec.id}-{number}"
        failure: Failure | None = None
        infrastructure = False
        try:
            state = await self._page_state(spec)  # before the spec's clock: a shared sign-in may wait
            trace = self.options.trace == "always" or number > 1
            cursor.deadline = time.monotonic() + self.options.spec_timeout_ms / 1000
            async with self.browser.page(
                origin=self.origin, step_timeout_ms=self.options.step_timeout_ms, trace=trace, state=state
            ) as page:
                try:
                    await asyncio.wait_for(
                        self._execute(spec, page, cursor, setup_run_id), self.options.spec_timeout_ms / 1000
                    )
                except _StepFailed as exc:
                    failure, infrastructure = exc.failure, exc.infrastructure
                except TimeoutError:
                    failure = Failure(
                        step_index=cursor.index,
                        step=cursor.step,
                        message=f"spec timed out after {self.options.spec_timeout_ms} ms",
                    )
                finally:
                    teardown_problem = await self._teardown(spec, page, cursor, setup_run_id)
                if failure is None and teardown_problem:
                    failure, infrastructure = (
                        Failure(step_index=None, step="setup down", message=teardown_problem),
                        True,
                    )
                if failure is not None:
                    evidence = await self._evidence(spec, page, number)
                    failure = failure.model_copy(update={"evidence": evidence})
        except BrowserUnavailable as exc:
            failure, infrastructure = Failure(step_index=None, step="browser", message=str(exc)), True
        except _StepFailed as exc:  # could not enter the preview: nothing of the app's ran
            failure, infrastructure = exc.failure, True
        if failure is not None:
            failure = self._scrubbed(failure)
        return Attempt(
            number=number,
            passed=failure is None,
            duration_ms=_ms_since(clock),
            failure=failure,
            infrastructure=infrastructure,
        )

    async def _execute(self, spec: Spec, page: BrowserPage, cursor: _Cursor, setup_run_id: str) -> None:
        """Set up data, run the start navigation and every step, then check the assertions."""
        if spec.setup is not None:
            await self._setup(spec, page, cursor, "up", setup_run_id)
            cursor.setup_up = True
        if spec.start is not None:
            await self._start(spec, page, cursor, spec.start)
        arrivals = loaded_before(spec)
        for index, step in enumerate(spec.steps):
            if index in arrivals:
                await page.settle(quiet_ms=ARRIVAL_QUIET_MS, timeout_ms=self._settle_budget_ms(cursor))
            await self._run_step(spec, page, cursor, index, step)
        # Observations keep the last step's index: what arrives late was most likely caused by it.
        cursor.index, cursor.step = None, "after the last step"
        await page.settle(quiet_ms=self.options.settle_ms, timeout_ms=self._settle_budget_ms(cursor))
        self._check(spec, page.observations, cursor)
        if spec.assertions.text_absent:
            text = await self._call(cursor, page.body_text)
            for unwanted in spec.assertions.text_absent:
                if unwanted in text:
                    # The text is usually a symptom (an error banner); prefer its cause if it has arrived.
                    self._check(spec, page.observations, cursor)
                    raise _StepFailed(None, "text_absent", f"the page shows {unwanted!r}")

    def _settle_budget_ms(self, cursor: _Cursor) -> int:
        """What the settle may take: the spec's own remaining time, less room to check the page after."""
        remaining_ms = (cursor.deadline - time.monotonic()) * 1000
        return max(0, int(max(remaining_ms - self.options.step_timeout_ms, remaining_ms / 2)))

    async def _start(self, spec: Spec, page: BrowserPage, cursor: _Cursor, start: str) -> None:
        """Open the first page; a preview that does not answer it is "could not run", not a failure."""
        try:
            await self._step(
                spec, page, cursor, START_STEP, f"goto {start}", page.goto, self._nav(spec, start)
            )
        except _StepFailed as exc:
            if exc.failure.step_index == START_STEP and PREVIEW_DOWN.search(exc.failure.message):
                message = f"could not run: the preview did not serve {start}: {exc.failure.message}"
                raise _StepFailed(START_STEP, exc.failure.step, message, infrastructure=True) from None
            raise

    async def _run_step(self, spec: Spec, page: BrowserPage, cursor: _Cursor, index: int, step: Step) -> None:
        """Run one of the spec's steps."""
        description = describe_step(step)
        if isinstance(step, Goto):
            await self._step(spec, page, cursor, index, description, page.goto, self._nav(spec, step.path))
        elif isinstance(step, Click):
            await self._step(spec, page, cursor, index, description, page.click, step.locator)
        elif isinstance(step, Fill):
            await self._step(spec, page, cursor, index, description, page.fill, step.locator, step.value)
        elif isinstance(step, Press):
            await self._step(spec, page, cursor, index, description, page.press, step.locator, step.key)
        elif isinstance(step, Select):
            action = page.select_option
            await self._step(spec, page, cursor, index, description, action, step.locator, step.value)
        elif isinstance(step, Check):
            await self._step(spec, page, cursor, index, description, page.check, step.locator, step.checked)
        elif isinstance(step, ExpectUrl):
            wanted = step.path
            matches = lambda url, wanted=wanted: path_matches(url, self.origin, wanted)  # noqa: E731
            await self._step(spec, page, cursor, index, description, page.wait_for_url, matches)
        elif isinstance(step, Request):
            await self._request(spec, page, cursor, index, description, step)

    # Entering the preview: headers, flags, sign-in ------------------------------------------------

    async def _page_state(self, spec: Spec) -> PageState:
        """Build what the spec's context carries before its first page, signing in if it needs to."""
        if self.unreachable:
            raise _StepFailed(
                None,
                "preview",
                f"could not run: the preview at {self.origin} is unreachable: {self.unreachable}",
            )
        try:
            headers = {**self.access.headers(), **self.access.flag_headers(spec.flags)}
            cookies = self.access.flag_cookies(spec.flags)
            storage = self.access.flag_storage(spec.flags)
        except CannotEnter as exc:
            raise _StepFailed(None, "preview", f"could not run: {exc}") from None
        # With no recipe the repository has said nothing about signing in: run signed out, as before.
        wants = spec.sign_in and self.access.config.login is not None
        signed_in = await self._sign_in() if wants else None
        return PageState(
            cookies=tuple(cookies.items()),
            local_storage=tuple(storage.items()),
            headers=tuple(headers.items()),
            storage_state=signed_in,
        )

    async def _sign_in(self) -> dict[str, Any]:
        """Sign in once per run (the first spec that needs it does) and share the session."""
        async with self._signing_in:
            if self._signed_in is None:
                try:
                    self._signed_in = await self._signed_in_state()
                except _StepFailed as exc:
                    self._signed_in = exc
        if isinstance(self._signed_in, _StepFailed):
            raise self._signed_in
        return self._signed_in

    async def _signed_in_state(self) -> dict[str, Any]:
        login = self.access.config.login
        assert login is not None
        try:
            values = {name: self.access.value(name) for name in login.variables}
            headers = self.access.headers()
        except CannotEnter as exc:
            raise _StepFailed(None, "sign in", f"could not run: the sign-in needs {exc}") from None
        state = PageState(headers=tuple(headers.items()))
        # Its own context, whose trace is never kept: it types the sign-in values.
        async with self.browser.page(
            origin=self.origin, step_timeout_ms=self.options.step_timeout_ms, trace=False, state=state
        ) as page:
            try:
                if login.request is not None:
                    await self._sign_in_by_request(page, login, values)
                else:
                    await self._sign_in_by_form(page, login, values)
                return await page.storage_state()
            except BrowserActionError as exc:
                raise _StepFailed(None, "sign in", f"could not run: signing in failed: {exc}") from None

    async def _sign_in_by_request(self, page: BrowserPage, login: Login, values: dict[str, str]) -> None:
        assert login.request is not None
        body = json.dumps({field: values[name] for field, name in login.request.json_fields.items()})
        headers = {**self.access.headers(), "Content-Type": "application/json"}
        path = login.request.path
        result = await page.fetch(login.request.method, self._url(path), headers, body)
        if not 200 <= result.status < 400:
            raise _StepFailed(
                None, "sign in", f"could not run: the sign-in request {path} answered {result.status}"
            )

    async def _sign_in_by_form(self, page: BrowserPage, login: Login, values: dict[str, str]) -> None:
        assert login.url is not None
        probe = await page.fetch("GET", self._url(login.url), self.access.headers(), None)
        if probe.status in (404, 410) or probe.status >= SERVER_ERROR:
            raise _StepFailed(
                None, "sign in", f"could not run: the sign-in page {login.url} answered {probe.status}"
            )
        await page.goto(self._url(login.url))
        last: Locator | None = None
        for selector, name in login.fields.items():
            last = Locator(strategy="css", value=selector)
            try:
                await page.fill(last, values[name])
            except BrowserActionError:
                raise _StepFailed(
                    None, "sign in", f"could not run: the sign-in page {login.url} has no field {selector}"
                ) from None
        if login.submit:
            await page.click(Locator(strategy="css", value=login.submit))
        elif last is not None:
            await page.press(last, "Enter")
        if login.success_url:
            wanted = login.success_url
            try:
                await page.wait_for_url(lambda url: path_matches(url, self.origin, wanted))
            except BrowserActionError:
                where = await page.current_url()
                raise _StepFailed(
                    None, "sign in", f"could not run: signing in did not reach {wanted} (stayed at {where})"
                ) from None
        else:
            await page.settle(quiet_ms=self.options.settle_ms, timeout_ms=self.options.step_timeout_ms)

    def _nav(self, spec: Spec, path: str) -> str:
        """Return the URL of a page to open, with the spec's flags in the query when the recipe says so."""
        url = self._url(path)
        pairs = self.access.flag_query(spec.flags)
        if not pairs:
            return url
        head, _, fragment = url.partition("#")
        joined = head + ("&" if "?" in head else "?") + urlencode(pairs)
        return joined + (f"#{fragment}" if fragment else "")

    def _scrubbed(self, failure: Failure) -> Failure:
        """Take every value read for the preview back out of a failure and its evidence."""
        if not self.access.secrets:
            return failure
        scrub = self.access.scrub
        evidence = failure.evidence
        evidence = evidence.model_copy(
            update={
                "page_errors": [scrub(e) for e in evidence.page_errors],
                "console_errors": [scrub(e) for e in evidence.console_errors],
                "failed_responses": [
                    r.model_copy(update={"url": scrub(r.url), "error": r.error and scrub(r.error)})
                    for r in evidence.failed_responses
                ],
                "blocked_requests": [scrub(b) for b in evidence.blocked_requests],
                "final_url": evidence.final_url and scrub(evidence.final_url),
            }
        )
        return failure.model_copy(
            update={"message": scrub(failure.message), "step": scrub(failure.step), "evidence": evidence}
        )

    async def _call(self, cursor: _Cursor, action: Callable[..., Awaitable[Any]], *args: object) -> Any:
        try:
            return await action(*args)
        except BrowserActionError as exc:
            raise _StepFailed(cursor.index, cursor.step, str(exc)) from None

    async def _step(
        self,
        spec: Spec,
        page: BrowserPage,
        cursor: _Cursor,
        index: int,
        description: str,
        action: Callable[..., Awaitable[Any]],
        *args: object,
    ) -> None:
        cursor.at(index, description)
        page.observations.step = index
        try:
            await self._call(cursor, action, *args)
        finally:
            # The page error a regression test exists for usually fires during the step that failed
            # (or makes it fail): report it rather than a locator timeout that follows from it.
            seen, wanted = page.observations, spec.assertions.page_error
            thrown = wanted is not None and any(page_error_matches(wanted, e) for e in seen.page_errors)
            if seen.server_errors and wanted is not None and not thrown:
                # An app throws on a failed response a moment after it arrives: let that happen, so
                # the 5xx is reported only when no such error follows.
                await page.settle(quiet_ms=self.options.settle_ms, timeout_ms=self._settle_budget_ms(cursor))
            self._check(spec, seen, cursor)

    async def _request(
        self, spec: Spec, page: BrowserPage, cursor: _Cursor, index: int, description: str, step: Request
    ) -> None:
        cursor.at(index, description)
        page.observations.step = index
        url = self._url(step.path)
        headers = {**step.headers, **self.access.headers(), **self.access.flag_headers(spec.flags)}
        result = await self._call(cursor, page.fetch, step.method, url, headers, step.body)
        status = result.status
        if status == UNAUTHORIZED:
            # The replay never reached the code under test: a pass here would be a silent green.
            message = (
                f"could not run: {step.method} {step.path} answered 401: the preview wants credentials "
                "the gate did not send (preview.headers in .triagebot/config.yml, and their variables)"
            )
            raise _StepFailed(index, description, message, infrastructure=True)
        if status >= SERVER_ERROR:
            page.observations.server_errors.append(ResponseSeen(step.method, url, status, step=index))
            raise _StepFailed(index, description, f"{step.method} {step.path} answered {status}")
        self._check(spec, page.observations, cursor)

    def _check(self, spec: Spec, seen: Observations, cursor: _Cursor) -> None:
        """Fail on navigation off the origin, the spec's page error, or a 5xx from the preview."""
        if seen.left_origin:
            raise _StepFailed(
                cursor.index,
                cursor.step,
                f"the page tried to leave the preview origin: {seen.left_origin[0]}",
            )
        wanted = spec.assertions.page_error
        if wanted is not None:
            for error in seen.page_errors:
                if page_error_matches(wanted, error):
                    raise _StepFailed(*cursor.blame(error.step), f"page error {error.name}: {error.message}")
        if spec.assertions.no_server_errors and seen.server_errors:
            first = seen.server_errors[0]
            raise _StepFailed(
                *cursor.blame(first.step), f"{first.method} {first.url} answered {first.status}"
            )

    async def _setup(
        self, spec: Spec, page: BrowserPage, cursor: _Cursor, action: Literal["up", "down"], setup_run_id: str
    ) -> None:
        assert spec.setup is not None
        cursor.at(None, f"setup {action}")
        if not self.options.setup_secret:
            raise _StepFailed(
                None,
                cursor.step,
                "spec needs data setup but TRIAGEBOT_GATE_SETUP_SECRET is not set",
                infrastructure=True,
            )
        body, headers = signed_setup_request(
            self.options.setup_secret,
            action=action,
            fixture=spec.setup.fixture,
            data=spec.setup.data,
            run_id=setup_run_id,
        )
        try:
            headers = {**self.access.headers(), **headers}
            result = await page.fetch("POST", self._url(spec.setup.path), headers, body)
        except BrowserActionError as exc:
            raise _StepFailed(
                None, cursor.step, f"setup endpoint unreachable: {exc}", infrastructure=True
            ) from None
        if not 200 <= result.status < 300:
            message = f"setup {action} answered {result.status}: {result.text[:200]}"
            raise _StepFailed(None, cursor.step, message, infrastructure=True)

    async def _teardown(
        self, spec: Spec, page: BrowserPage, cursor: _Cursor, setup_run_id: str
    ) -> str | None:
        """Undo the data setup (best effort, bounded); return the problem if it failed."""
        if spec.setup is None or not cursor.setup_up:
            return None
        try:
            timeout = self.options.step_timeout_ms / 1000
            await asyncio.wait_for(self._setup(spec, page, _Cursor(), "down", setup_run_id), timeout)
        except _StepFailed as exc:
            return exc.failure.message
        except TimeoutError:
            return "setup down timed out"
        return None

    async def _evidence(self, spec: Spec, page: BrowserPage, number: int) -> Evidence:
        folder = self.evidence_root / spec.id
        folder.mkdir(parents=True, exist_ok=True)
        screenshot, trace = await page.save_evidence(
            folder / f"attempt-{number}-screenshot.png", folder / f"attempt-{number}-trace.zip"
        )
        if trace is not None and not self.access.scrub_zip(trace):  # traces record request headers
            trace = None
        seen = page.observations
        try:
            final_url: str | None = await page.current_url()
        except BrowserActionError:
            final_url = None
        return Evidence(
            page_errors=[f"{error.name}: {error.message}" for error in seen.page_errors],
            console_errors=list(seen.console_errors),
            failed_responses=[
                FailedResponse(method=r.method, url=r.url, status=r.status, error=r.error)
                for r in [*seen.server_errors, *seen.request_failures]
            ],
            blocked_requests=list(seen.blocked_requests),
            final_url=final_url,
            screenshot=str(screenshot) if screenshot else None,
            trace=str(trace) if trace else None,
        )

    def _url(self, path: str) -> str:
        return url_on_origin(self.origin, path)


def _status(attempts: list[Attempt]) -> SpecStatus:
    last = attempts[-1]
    if last.passed:
        return "passed" if len(attempts) == 1 else "flaky"
    return "error" if last.infrastructure else "failed"


def page_error_matches(wanted: PageError, seen: PageErrorSeen) -> bool:
    """Say whether a page error is the one the spec forbids (type equal, message contained)."""
    if wanted.type and wanted.type != seen.name:
        return False
    if not wanted.message:
        return True
    # Sentry may prefix or truncate the value ("Uncaught TypeError: ..."), so compare by containment.
    expected, actual = " ".join(wanted.message.split()), " ".join(seen.message.split())
    return expected in actual or (len(actual) >= 8 and actual in expected)
