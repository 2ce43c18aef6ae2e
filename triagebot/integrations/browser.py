"""Playwright adapter for gates: one Chromium per run, one confined context per spec attempt.

Confinement has two locks. Chromium runs behind `EgressProxy`, which only ever opens connections to
the preview's host and port (this is what stops redirect hops, which route handlers never see). And
every request a context starts (documents, sub-resources, popups) passes a route handler that lets
through only the preview's origin, aborting and recording the rest; a top-level navigation elsewhere
is reported so the spec fails. Blocking third-party sub-resources too (CDNs, analytics) is deliberate:
a spec from a fork must not be able to make the runner reach any other host; pages under test still
load their own assets. Service workers are blocked because their fetches would bypass routing;
WebSockets to other origins are closed. Direct HTTP calls (request steps, data setup) go to URLs built
on the origin and never follow redirects.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from functools import cache
from pathlib import Path
from typing import Any, cast

from playwright.async_api import Browser as PWBrowser
from playwright.async_api import (
    BrowserContext,
    CDPSession,
    ConsoleMessage,
    Frame,
    Page,
    Route,
    WebSocketRoute,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator as PWLocator
from playwright.async_api import Request as PWRequest
from playwright.async_api import Response as PWResponse

from triagebot.integrations.chromium import LAUNCH_ARGS, find_chromium
from triagebot.integrations.egress_proxy import EgressProxy
from triagebot.integrations.ports import (
    BrowserActionError,
    BrowserUnavailable,
    FetchResult,
    Observations,
    PageErrorSeen,
    PageState,
    ResponseSeen,
)
from triagebot.integrations.reachability import probe_origin
from triagebot.origin import origin_of
from triagebot.spec import Locator

DEFAULT_TESTID_ATTRIBUTE = "data-testid"
# Headers a spec may not set on a request step: they would change where or how the request goes.
UNSAFE_HEADERS = {
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "proxy-authorization",
}
# Pages Chromium shows by itself (blank tab, its own error page for a refused navigation).
INTERNAL_PAGES = ("about:blank", "chrome-error://")
EVIDENCE_TIMEOUT_MS = 5_000
# The page-side half of the settle (see page_work.js): the quiet window must span this many turns of
# the page's event loop, so a renderer starved of CPU, whose turns come late, is waited for longer.
SETTLE_TICKS = 5
_SETTLE_POLL_S = 0.025
_SETTLED = "([q, n, age]) => window.__triagebotWork ? window.__triagebotWork.settled(q, n, age) : true"
_COUNTED_IN_PAGE = ("fetch", "xhr")
_STREAMS = ("eventsource", "websocket")  # open for as long as the page lives: never a step's work
_BLOCKED_BY_US = "net::ERR_BLOCKED_BY_CLIENT"


@cache
def page_work_script(max_timer_ms: int) -> str:
    """The init script counting a page's outstanding work; timers longer than `max_timer_ms` are not."""
    script = Path(__file__).with_name("page_work.js").read_text(encoding="utf-8")
    return script.replace("__MAX_TIMER_MS__", str(int(max_timer_ms)))


def css_string(value: str) -> str:
    """Quote a value as a CSS string literal (for attribute selectors)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\{ord(m.group()):x} ", escaped) + '"'


class PlaywrightLauncher:
    """Launches the system (or configured) Chromium headless through Playwright."""

    def __init__(self, *, chromium_path: str | None = None, testid_attribute: str = DEFAULT_TESTID_ATTRIBUTE):
        self.chromium_path = chromium_path
        self.testid_attribute = testid_attribute

    @asynccontextmanager
    async def launch(self, *, origin: str) -> AsyncIterator[PlaywrightBrowser]:
        """Start Chromium for one gate run, able to reach only `origin`, and close it afterwards."""
        executable = find_chromium(self.chromium_path)
        if executable is None:
            raise BrowserUnavailable("no Chromium found (set TRIAGEBOT_CHROMIUM_PATH or install chromium)")
        proxy = EgressProxy(origin)
        await proxy.start()
        try:
            async with async_playwright() as pw:
                pw.selectors.set_test_id_attribute(self.testid_attribute)
                try:
                    # `<-loopback>`: proxy 127.0.0.1 and localhost too (Chromium bypasses them by default).
                    browser = await pw.chromium.launch(
                        executable_path=executable,
                        headless=True,
                        chromium_sandbox=False,
                        args=LAUNCH_ARGS,
                        proxy={"server": proxy.url, "bypass": "<-loopback>"},
                    )
                except PlaywrightError as exc:
                    raise BrowserUnavailable(
                        f"Chromium at {executable} did not start: {exc.message}"
                    ) from None
                try:
                    yield PlaywrightBrowser(browser, self.testid_attribute)
                finally:
                    await browser.close()
        finally:
            await proxy.stop()


class PlaywrightBrowser:
    """A running Chromium that hands out confined contexts, reusing a finished spec's once cleared.

    A context's renderer costs about as much CPU to start as a short spec takes to run, so an
    untraced attempt that finished gets its context back for the next spec after `reset()` has
    cleared what the spec left (see there); a traced attempt always gets a fresh one.
    """

    def __init__(self, browser: PWBrowser, testid_attribute: str) -> None:
        self._browser = browser
        self._testid_attribute = testid_attribute
        self._idle: list[PlaywrightPage] = []
        self.contexts_opened = 0

    async def probe(self, origin: str, timeout_ms: int) -> str | None:
        """Say why the preview cannot be reached, or None (a TCP and, for https, TLS handshake)."""
        return await probe_origin(origin, timeout_ms / 1000)

    @asynccontextmanager
    async def page(
        self, *, origin: str, step_timeout_ms: int, trace: bool, state: PageState | None = None
    ) -> AsyncIterator[PlaywrightPage]:
        """Lend a cleared context confined to `origin` (a fresh one if traced), and take it back after."""
        # A context given a session, cookies or headers keeps them: it is never lent to another spec.
        own = trace or (state is not None and state != PageState())
        confined = None if own else self._take(origin, step_timeout_ms)
        if confined is None:
            confined = await self._open(origin, step_timeout_ms, trace, state or PageState())
        reusable = False
        try:
            yield confined
            reusable = not own
        finally:
            if reusable and await confined.reset():
                self._idle.append(confined)
            else:
                await confined.close()

    def _take(self, origin: str, step_timeout_ms: int) -> PlaywrightPage | None:
        for index, idle in enumerate(self._idle):
            if idle.origin == origin and idle.timeout == step_timeout_ms:
                return self._idle.pop(index)
        return None

    async def _open(self, origin: str, step_timeout_ms: int, trace: bool, state: PageState) -> PlaywrightPage:
        try:
            context = await self._browser.new_context(
                service_workers="block",
                accept_downloads=False,
                storage_state=cast(Any, state.storage_state),
            )
        except PlaywrightError as exc:
            raise BrowserUnavailable(f"cannot open a browser context: {exc.message}") from None
        self.contexts_opened += 1
        confined = PlaywrightPage(context, origin, step_timeout_ms, self._testid_attribute)
        try:
            await _apply_state(context, origin, state)
            await confined.start(trace=trace)
        except BaseException:
            await confined.close()
            raise
        return confined


class PlaywrightPage:
    """One spec's context and page, with everything seen in them recorded in `observations`."""

    def __init__(self, context: BrowserContext, origin: str, step_timeout_ms: int, testid_attribute: str):
        self.context, self.origin, self.timeout = context, origin, step_timeout_ms
        self.testid_attribute = testid_attribute
        self.observations = Observations()
        self._page: Page | None = None
        self._tracing = False
        self._in_flight: dict[PWRequest, float] = {}  # request -> when it started
        self._cdp: CDPSession | None = None

    @property
    def page(self) -> Page:
        assert self._page is not None, "start() first"
        return self._page

    async def start(self, *, trace: bool) -> None:
        """Install the confinement, the listeners, the work counter and the trace, then open the page."""
        self.context.set_default_timeout(self.timeout)
        self.context.set_default_navigation_timeout(self.timeout)
        await self.context.route("**/*", self._route)
        await self.context.route_web_socket(re.compile(".*"), self._route_web_socket)
        self.context.on("request", self._on_request)
        self.context.on("requestfinished", self._on_request_finished)
        self.context.on("response", self._on_response)
        self.context.on("requestfailed", self._on_request_failed)
        self.context.on("page", self._watch)
        await self.context.add_init_script(page_work_script(self.timeout))
        if trace:
            await self.context.tracing.start(screenshots=False, snapshots=True)
            self._tracing = True
        self._page = await self.context.new_page()

    # Confinement -----------------------------------------------------------------------------------

    async def _route(self, route: Route) -> None:
        request = route.request
        if origin_of(request.url) == self.origin:
            await route.continue_()
            return
        self.observations.blocked_requests.append(f"{request.method} {request.url}")
        if request.is_navigation_request() and _is_top_level(request):
            self.observations.left_origin.append(request.url)
        await route.abort("blockedbyclient")

    async def _route_web_socket(self, ws: WebSocketRoute) -> None:
        http_url = re.sub(r"^ws", "http", ws.url)
        if origin_of(http_url) == self.origin:
            ws.connect_to_server()
            return
        self.observations.blocked_requests.append(f"WEBSOCKET {ws.url}")
        await ws.close(code=1008, reason="blocked by the gate")

    def _watch(self, page: Page) -> None:
        page.on("pageerror", self._on_page_error)
        page.on("console", self._on_console)
        page.on("framenavigated", self._on_navigated)

    def _on_navigated(self, frame: Frame) -> None:
        # Navigations the network layer never sees (data:, javascript:, file:) still show up here.
        top_level = frame.parent_frame is None and not frame.url.startswith(INTERNAL_PAGES)
        if top_level and origin_of(frame.url) != self.origin:
            self.observations.left_origin.append(frame.url)

    # Listeners -------------------------------------------------------------------------------------

    def _on_page_error(self, error: Any) -> None:
        name = getattr(error, "name", None) or "Error"
        message = getattr(error, "message", None) or str(error)
        self.observations.page_errors.append(
            PageErrorSeen(name=name, message=message, step=self.observations.step)
        )

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.observations.console_errors.append(message.text)

    def _on_request(self, request: PWRequest) -> None:
        if request.resource_type not in _STREAMS:
            self._in_flight[request] = time.monotonic()

    def _on_request_finished(self, request: PWRequest) -> None:
        self._in_flight.pop(request, None)

    def _on_response(self, response: PWResponse) -> None:
        if response.request.resource_type in _COUNTED_IN_PAGE:
            # Chromium reports a fetch finished only once the page reads its body, which it may never
            # do; the page-side counter follows these from here (page_work.js).
            self._in_flight.pop(response.request, None)
        if response.status >= 500 and origin_of(response.url) == self.origin:
            seen = ResponseSeen(
                response.request.method, response.url, response.status, step=self.observations.step
            )
            self.observations.server_errors.append(seen)

    def _on_request_failed(self, request: PWRequest) -> None:
        self._in_flight.pop(request, None)
        error = request.failure or "failed"
        if _BLOCKED_BY_US not in error:
            seen = ResponseSeen(request.method, request.url, None, error=error, step=self.observations.step)
            self.observations.request_failures.append(seen)

    # Actions ---------------------------------------------------------------------------------------

    def locate(self, locator: Locator) -> PWLocator:
        """Turn a spec locator into a Playwright locator, strict as Playwright Test's: an action on one
        that matches several elements fails and says how many (the rendered tests do the same)."""
        page, value = self.page, locator.value
        if locator.strategy == "testid":
            attribute = locator.attribute or self.testid_attribute
            if attribute == self.testid_attribute:
                found = page.get_by_test_id(value)
            else:
                found = page.locator(f"css=[{attribute}={css_string(value)}]")
        elif locator.strategy == "role":
            found = page.get_by_role(cast(Any, value), name=locator.name)
        elif locator.strategy == "label":
            found = page.get_by_label(value)
        elif locator.strategy == "placeholder":
            found = page.get_by_placeholder(value)
        elif locator.strategy == "text":
            found = page.get_by_text(value)
        elif locator.strategy == "name":
            found = page.locator(f"css=[name={css_string(value)}]")
        else:
            # Forced to the CSS engine: a spec cannot pick another selector engine by prefix.
            found = page.locator(f"css={value}")
        return found

    async def goto(self, url: str) -> None:
        await _act(self.page.goto(url))

    async def click(self, locator: Locator) -> None:
        await _act(self.locate(locator).click())

    async def fill(self, locator: Locator, value: str) -> None:
        await _act(self.locate(locator).fill(value))

    async def press(self, locator: Locator, key: str) -> None:
        await _act(self.locate(locator).press(key))

    async def select_option(self, locator: Locator, value: str | None) -> str:
        found = self.locate(locator)
        script = "el => Array.from(el.options || [], o => [o.value, (o.label || o.text || '').trim()])"
        options = [(str(v), str(label)) for v, label in await _act(found.evaluate(script))]
        if value is None:
            chosen = next((v for v, _label in options if v), None)
        else:
            # The value a request carried is usually the option's value, sometimes its label.
            chosen = next((v for v, _ in options if v == value), None) or next(
                (v for v, label in options if label.casefold() == value.casefold()), None
            )
        if chosen is None:
            wanted = "a non-empty value" if value is None else f"the value or label {value[:80]!r}"
            raise BrowserActionError(f"the <select> has no option with {wanted}")
        await _act(found.select_option(value=chosen))
        return chosen

    async def check(self, locator: Locator, checked: bool) -> None:
        await _act(self.locate(locator).set_checked(checked))

    async def storage_state(self) -> dict[str, Any]:
        return cast(dict[str, Any], await _act(self.context.storage_state()))

    async def wait_for_url(self, matches: Callable[[str], bool]) -> None:
        await _act(self.page.wait_for_url(matches))

    async def fetch(self, method: str, url: str, headers: dict[str, str], body: str | None) -> FetchResult:
        safe = {name: value for name, value in headers.items() if name.lower() not in UNSAFE_HEADERS}
        response = await _act(
            self.context.request.fetch(
                url, method=method, headers=safe, data=body, max_redirects=0, fail_on_status_code=False
            )
        )
        try:
            text = await response.text()
        except PlaywrightError:
            text = ""
        await response.dispose()
        return FetchResult(status=response.status, text=text[:2000])

    async def settle(self, *, quiet_ms: int, timeout_ms: int) -> None:
        """Wait until the page's work is done and it has been quiet `quiet_ms`; `timeout_ms` at most.

        Done means: the document loaded, no fetch, XHR, body read or short timer outstanding in the
        page and their callbacks run (page_work.js), and no request in flight at the network layer.
        Work outstanding longer than a step timeout (a long poll, a stream) does not hold it up.
        """
        deadline = time.monotonic() + timeout_ms / 1000
        age_ms = self.timeout
        while (remaining := deadline - time.monotonic()) > 0:
            with suppress(PlaywrightError):
                await self.page.wait_for_load_state("load", timeout=remaining * 1000)
            try:
                await asyncio.wait_for(
                    self.page.evaluate(_SETTLED, [quiet_ms, SETTLE_TICKS, age_ms]), remaining
                )
            except PlaywrightError:
                # The page navigated while we waited: its new document starts the count afresh.
                await asyncio.sleep(_SETTLE_POLL_S)
                continue
            except TimeoutError:
                return  # a page that never goes quiet is judged on what it did meanwhile
            now = time.monotonic()
            if not any(now - began < age_ms / 1000 for began in self._in_flight.values()):
                return
            await asyncio.sleep(_SETTLE_POLL_S)

    async def body_text(self) -> str:
        return str(await _act(self.page.locator("body").inner_text()))

    async def current_url(self) -> str:
        return self.page.url

    async def save_evidence(self, screenshot: Path, trace: Path) -> tuple[Path | None, Path | None]:
        shot: Path | None = screenshot
        try:
            await self.page.screenshot(path=screenshot, full_page=True, timeout=EVIDENCE_TIMEOUT_MS)
        except PlaywrightError:
            shot = None
        kept: Path | None = trace if self._tracing else None
        if self._tracing:
            try:
                await self.context.tracing.stop(path=trace)
            except PlaywrightError:
                kept = None
        self._tracing = False
        return shot, kept

    async def reset(self) -> bool:
        """Clear what a spec left so another can use this context; False when it cannot be done.

        The page goes to about:blank (its document, timers and requests end with it), other pages
        close, and the context's cookies, permissions, HTTP cache and the origin's storage (local,
        session, IndexedDB, Cache Storage, ...) are cleared. Requests never leave the preview's
        origin, so it is the only origin with anything stored.
        """
        try:
            for other in self.context.pages:
                if other is not self.page:
                    await other.close()
            if self._cdp is None:
                self._cdp = await self.context.new_cdp_session(self.page)
            # Session storage belongs to the tab and can only be cleared while the tab shows the
            # origin; a page that ended elsewhere (an error page) fails here and is not reused.
            session_storage = {"securityOrigin": self.origin, "isLocalStorage": False}
            await asyncio.wait_for(
                self._cdp.send("DOMStorage.clear", {"storageId": session_storage}), EVIDENCE_TIMEOUT_MS / 1000
            )
            await self.page.goto("about:blank", timeout=EVIDENCE_TIMEOUT_MS)
            await self.context.clear_cookies()
            await self.context.clear_permissions()
            await self._cdp.send("Storage.clearDataForOrigin", {"origin": self.origin, "storageTypes": "all"})
            await self._cdp.send("Network.clearBrowserCache")
        except (PlaywrightError, TimeoutError):
            return False
        self.observations = Observations()
        self._in_flight.clear()
        return True

    async def close(self) -> None:
        """Stop any trace and close the context."""
        await self.discard_trace()
        with suppress(PlaywrightError):
            await self.context.close()

    async def discard_trace(self) -> None:
        if self._tracing:
            self._tracing = False
            with suppress(PlaywrightError):
                await self.context.tracing.stop()


async def _apply_state(context: BrowserContext, origin: str, state: PageState) -> None:
    """Give a new context its flags and headers, scoped to the preview's origin."""
    if state.headers:
        # Requests anywhere else are aborted by the route handler or refused by the egress proxy.
        await context.set_extra_http_headers(dict(state.headers))
    if state.cookies:
        await context.add_cookies(
            [{"name": name, "value": value, "url": origin} for name, value in state.cookies]
        )
    if state.local_storage:
        # Data, not code: both values reach the script as JSON literals (ensure_ascii keeps U+2028 out).
        entries, where = json.dumps(list(state.local_storage)), json.dumps(origin)
        script = (
            f"if (location.origin === {where}) for (const [k, v] of {entries}) localStorage.setItem(k, v)"
        )
        await context.add_init_script(script=script)


def _is_top_level(request: PWRequest) -> bool:
    try:
        return request.frame.parent_frame is None
    except PlaywrightError:
        # A popup's first navigation is issued before its frame exists: that is a top-level one too.
        return True


async def _act(awaitable: Any) -> Any:
    """Await a Playwright call, turning its errors into the port's BrowserActionError."""
    try:
        return await awaitable
    except PlaywrightError as exc:
        raise BrowserActionError(_first_line(exc.message)) from None


def _first_line(message: str) -> str:
    lines = [line for line in message.splitlines() if line.strip()]
    return lines[0].strip() if lines else "browser action failed"
