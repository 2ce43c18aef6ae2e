"""From a normalized Sentry event to a regression spec: where to start, what to do, what must not happen.

Browser events replay their breadcrumbs (navigations, clicks, inputs) from the first page the user
saw; server events replay the failing request. Either way the assertions say the Sentry exception
must not happen again, no 5xx may come back and the error text must not be shown. Everything taken
from the event is data in the spec, never code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from triagebot.drafts.config import PreviewConfig
from triagebot.drafts.locators import (
    choose_locator,
    component_selector,
    link_locators,
    parse_selector,
    synthetic_value,
)
from triagebot.drafts.requests_seen import RequestSeen, requests_seen, value_for
from triagebot.errors import BadInput
from triagebot.integrations.sentry.event import Breadcrumb, Frame, SentryEvent
from triagebot.spec import (
    SPEC_ID,
    Assertions,
    Check,
    Click,
    Covers,
    ExceptionInfo,
    ExpectUrl,
    Fill,
    FlagRef,
    Goto,
    IssueRef,
    Locator,
    PageError,
    Press,
    Request,
    Select,
    Setup,
    Spec,
    Step,
)

EVENT_ID = re.compile(r"^[0-9a-f]{32}$")

PATH_MAX = 2048
MAX_STEPS = 100
MAX_COVERED_PATHS = 20
# Chromium words its own engine errors its own way; other browsers' messages never match them.
CHROMIUM_FAMILY = ("chrome", "chromium", "edge", "opera", "brave", "samsung", "electron", "yandex", "vivaldi")
ENGINE_ERRORS = frozenset({"TypeError", "ReferenceError", "RangeError", "SyntaxError", "URIError"})
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
# Body and query fields whose values are personal or secret: replaced before they reach a spec.
PERSONAL_KEY = re.compile(
    r"mail|name|phone|mobile|tel|addr|street|city|zip|postal|birth|dob|ssn|passport|card|cvc|cvv|iban|"
    r"account|pass|secret|token|auth|session|cookie|key|ip|user|login|contact|message|comment|note",
    re.IGNORECASE,
)
# Of those, the secret ones: replaced by `redacted`, their length not kept either.
SECRET_KEY = re.compile(
    r"card|cvc|cvv|iban|ssn|passport|account|pass|secret|token|auth|session|cookie|key", re.IGNORECASE
)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Frames from installed packages, bundler runtimes and the engine are not the app's own source.
FOREIGN_PATH = re.compile(
    r"(?:^|/)(?:node_modules|site-packages|dist-packages|\.vite|webpack/bootstrap|__vite|@vite|"
    r"@fs|lib/python[0-9.]*|usr/lib|usr/local/lib)(?:/|$)|^<|^\[|^native$|^(?:node|internal):|\.min\.js$"
)
# Where apps are usually deployed or built; cut off so a path is relative to the repository root.
DEPLOY_ROOT = re.compile(
    r"^/?(?:app|code|src/app|usr/src/app|srv(?:/app)?|var/task|workspace|opt/app|home/[^/]+)/"
)
# Breadcrumbs that show the user signing in during the session: the draft replays those instead.
SIGN_IN_PATH = re.compile(r"log-?in|sign-?in|signin|auth|session|sso|oauth", re.IGNORECASE)
USER_KEYS = ("id", "email", "username")
ID_SEGMENT = re.compile(r"/(?:[0-9]{3,}|[0-9a-f]{8}-[0-9a-f-]{27,})(?=/|$|\?|#)", re.IGNORECASE)


class NothingToReplay(BadInput):
    """The event names neither a page nor a request, so no test can replay it."""


def derive_spec(
    event: SentryEvent,
    *,
    issue: object | None = None,
    test_id_attribute: str = "data-testid",
    preview: PreviewConfig | None = None,
) -> Spec:
    """Draft the regression spec for a Sentry event (and its issue, when known)."""
    notes: list[str] = []
    issue_ref = _issue_ref(event, issue, notes)
    if event.is_browser:
        start, steps = _browser_steps(event, test_id_attribute, notes)
        kind = "browser"
    else:
        start, steps = None, [_request_step(event, notes)]
        kind = "http"
    sign_in = kind == "browser" and _needs_sign_in(event, notes)
    setup = _setup(event, notes)
    _flag_notes(event, preview, notes)
    spec = Spec(
        id=_spec_id(issue_ref, event),
        kind=kind,
        issue=issue_ref,
        covers=Covers(routes=_routes(start, steps, event), paths=covered_paths(event.frames)),
        flags=[FlagRef(key=key[:256], value=_flag_value(value)) for key, value in event.flags],
        sign_in=sign_in,
        setup=setup,
        start=start,
        steps=steps,
        assertions=_assertions(event, kind, notes),
        notes=notes,
    )
    return spec


# Issue metadata ------------------------------------------------------------------------------------


def _issue_ref(event: SentryEvent, issue: object | None, notes: list[str]) -> IssueRef:
    issue_id = _issue_field(issue, "id") or event.issue_id
    if not issue_id:
        issue_id = f"event-{event_key(event)}"
        notes.append("The event names no Sentry issue; it is linked by its event id only.")
    return IssueRef(
        id=_clip(issue_id, 64),
        short_id=_clip(_issue_field(issue, "shortId", "short_id") or event.short_id, 128),
        link=_clip(
            _issue_field(issue, "permalink", "web_url", "link", "url_web") or event.issue_web_url, 2048
        ),
        title=_clip(_issue_field(issue, "title") or event.title, 8192),
        culprit=_clip(_issue_field(issue, "culprit") or event.culprit, 8192),
        exception=ExceptionInfo(
            type=_clip(event.exception_type, 512), value=_clip(event.exception_value, 8192)
        ),
        release=_clip(event.release, 512),
        platform=_clip(event.platform, 64),
    )


def _issue_field(issue: object | None, *names: str) -> str | None:
    """Read a field from a Sentry issue given as API JSON or as an object with attributes."""
    for name in names:
        value = issue.get(name) if isinstance(issue, Mapping) else getattr(issue, name, None)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


def event_key(event: SentryEvent) -> str:
    """Name an event: its id when it is Sentry's 32 hex digits, else a stable hash of its content."""
    event_id = (event.event_id or "").replace("-", "").lower()
    if EVENT_ID.match(event_id):
        return event_id
    # Anything else (missing, or an SDK's own spelling) could repeat across different events.
    content = json.dumps(dataclasses.asdict(event), sort_keys=True, default=str)
    return "h" + hashlib.sha256(content.encode()).hexdigest()[:24]


def _spec_id(issue: IssueRef, event: SentryEvent) -> str:
    """Name the spec after the short id (`shop-123`), else the issue id, else the event."""
    for candidate in (issue.short_id, f"sentry-{issue.id}"):
        slug = re.sub(r"[^a-z0-9._-]+", "-", (candidate or "").lower()).strip("-._")[:100]
        # A clipped slug could name another issue too; only whole ones are used.
        if candidate and SPEC_ID.match(slug) and len(candidate) <= 100:
            return slug
    return f"sentry-event-{event_key(event)}"


# State the bug needs: a signed-in user, data, flags --------------------------------------------------


def _needs_sign_in(event: SentryEvent, notes: list[str]) -> bool:
    """Sign in first when the event shows a signed-in user and the breadcrumbs hold no sign-in."""
    shown = [key for key in USER_KEYS if isinstance(event.user.get(key), str | int) and str(event.user[key])]
    if not shown or isinstance(event.user.get("id"), bool):
        return False
    if any(_is_sign_in(crumb) for crumb in event.breadcrumbs):
        notes.append("The user signed in during the session; the steps replay that sign-in.")
        return False
    notes.append(
        f"The user was signed in (the event's user has {' and '.join(shown)}), so the test signs in first "
        "with preview.login from .triagebot/config.yml (values from the gate's environment); "
        "without a preview.login it runs signed out."
    )
    return True


def _is_sign_in(crumb: Breadcrumb) -> bool:
    if crumb.category in ("fetch", "xhr"):
        method = str(crumb.data.get("method") or "GET").upper()
        url = crumb.data.get("url")
        return method == "POST" and isinstance(url, str) and bool(SIGN_IN_PATH.search(urlsplit(url).path))
    if crumb.category == "navigation":
        target = crumb.data.get("to")
        return isinstance(target, str) and bool(SIGN_IN_PATH.search(urlsplit(target).path))
    if crumb.category == "ui.input":
        return 'type="password"' in (crumb.message or "")
    return False


def _setup(event: SentryEvent, notes: list[str]) -> Setup | None:
    """Read `contexts.triagebot.setup` ({fixture, data}), which the app sets when the error happens."""
    context = event.contexts.get("triagebot")
    setup = context.get("setup") if isinstance(context, Mapping) else None
    if not isinstance(setup, Mapping):
        return None
    fixture, data = setup.get("fixture"), setup.get("data", {})
    if not isinstance(fixture, str) or not re.fullmatch(r"[A-Za-z0-9_.:-]{1,256}", fixture):
        notes.append("The event's contexts.triagebot.setup names no usable fixture; no data setup.")
        return None
    if not isinstance(data, Mapping) or len(json.dumps(data, default=str)) > 100_000:
        notes.append("The event's contexts.triagebot.setup data is not a small mapping; no data setup.")
        return None
    notes.append(
        f"The gate first asks the preview's setup endpoint for the fixture {fixture!r} with the data "
        "the app recorded (contexts.triagebot.setup)."
    )
    return Setup(fixture=fixture, data=dict(data))


def _flag_notes(event: SentryEvent, preview: PreviewConfig | None, notes: list[str]) -> None:
    if not event.flags:
        return
    listed = ", ".join(f"{key[:80]}={json.dumps(_flag_value(value))}" for key, value in event.flags[:10])
    if preview is not None and preview.flags is not None:
        kind, pattern = preview.flags.carrier
        notes.append(f"The test sets the flags the event recorded ({listed}) as the {kind} {pattern!r}.")
    else:
        notes.append(
            f"The bug may depend on the flags the event recorded ({listed}); the test sets them only once "
            ".triagebot/config.yml says how the app reads them (preview.flags)."
        )


def _flag_value(value: Any) -> bool | str | int | float | None:
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)[:1024]


# Browser steps -------------------------------------------------------------------------------------


def _browser_steps(event: SentryEvent, test_id_attribute: str, notes: list[str]) -> tuple[str, list[Step]]:
    """Turn navigation, click and input breadcrumbs into the start path and the steps."""
    origin = _origin(event.url)
    navigations = [c for c in event.breadcrumbs if c.category == "navigation"]
    first_from = _str_data(navigations[0], "from") if navigations else None
    start = to_path(first_from, origin) if first_from else to_path(event.url, origin)
    if start is None:
        start = "/"
        notes.append("The event carries no usable page URL; the test starts at `/`.")
    steps: list[Step] = []
    clicked = False  # since the last navigation: a click (or a choice, or Enter) explains the next one
    requests = requests_seen(event.breadcrumbs, origin)
    for position, crumb in enumerate(event.breadcrumbs):
        step: Step | None = None
        if crumb.category == "navigation":
            source, target = _str_data(crumb, "from"), _str_data(crumb, "to")
            if not target or source == target:
                continue  # router start-up records `/` -> `/`
            path = to_path(target, origin)
            if path is None:
                notes.append("The user then left the app; the steps stop there.")
                break
            step = ExpectUrl(path=path) if clicked else Goto(path=path)
            if clicked and steps and isinstance(steps[-1], Click) and steps[-1].locator.weak:
                # A link found only by its markup: the one among its look-alikes that leads here.
                steps[-1] = Click(locator=(link_locators(steps[-1].locator, path) or [steps[-1].locator])[0])
            clicked = False
        elif crumb.category in ("ui.click", "ui.input"):
            step = _ui_step(
                crumb, test_id_attribute, position, requests, _next_field(event.breadcrumbs, position)
            )
            if step is None:
                continue  # `<unknown>` targets cannot be found again
            if isinstance(step, Fill) and steps and _same_field(steps, step):
                # The same field typed into again (Sentry records a burst of typing once a second):
                # one fill, holding the value a request carried if either burst found one.
                if not step.synthetic:
                    steps[-1] = step
                if _submitted_by_enter(event.breadcrumbs, position):
                    steps.append(Press(locator=step.locator, key="Enter"))
                    clicked = True
                continue
            # A <select> or a radio often navigates from its change handler (a sort, a filter).
            clicked = clicked or isinstance(step, Click | Press | Select | Check)
        if step is not None:
            if len(steps) >= MAX_STEPS - 1:
                notes.append(f"Only the first {MAX_STEPS} actions were kept.")
                break
            steps.append(step)
            if isinstance(step, Fill) and _submitted_by_enter(event.breadcrumbs, position):
                steps.append(Press(locator=step.locator, key="Enter"))
                clicked = True
    notes.extend(step_notes(steps, test_id_attribute))
    return start, steps


def _same_field(steps: list[Step], fill: Fill) -> bool:
    """Say whether the last step already typed into this field (Sentry records a field once a second)."""
    last = steps[-1]
    return isinstance(last, Fill) and last.locator == fill.locator


def _next_field(crumbs: tuple[Breadcrumb, ...], position: int) -> int | None:
    """Return where the user next typed into or clicked a form field, if they did."""
    for later, crumb in enumerate(crumbs[position + 1 :], start=position + 1):
        if crumb.message == crumbs[position].message:
            continue  # the same field again
        if crumb.category == "ui.input" or (
            crumb.category == "ui.click"
            and re.search(r"(?:^|> )(?:input|select|textarea)\b", crumb.message or "")
        ):
            return later
    return None


def _submitted_by_enter(crumbs: tuple[Breadcrumb, ...], position: int) -> bool:
    """Say whether typing was followed by a request with no click in between: Enter sent it."""
    for crumb in crumbs[position + 1 :]:
        if crumb.category in ("ui.click", "ui.input"):
            return False
        if crumb.category in ("fetch", "xhr") or (
            crumb.category == "navigation" and crumb.data.get("from") != crumb.data.get("to")
        ):
            return True
    return False


def _ui_step(
    crumb: Breadcrumb,
    test_id_attribute: str,
    position: int = -1,
    requests: Iterable[RequestSeen] = (),
    until: int | None = None,
) -> Step | None:
    selector = crumb.message or ""
    elements = parse_selector(selector)
    locator = choose_locator(elements, selector=selector, test_id_attribute=test_id_attribute)
    if locator is None:
        return None  # `<unknown>` targets cannot be found again
    component = crumb.data.get("ui.component_name")
    if isinstance(component, str) and component and locator.weak:
        value = component_selector(component)[:1024]
        locator = Locator(strategy="css", value=value, source=selector[:2048])
    target = elements[-1]
    kind = target.attributes.get("type", "").lower()
    names = [target.attributes.get("name", ""), target.id or ""]
    if target.tag == "select":
        found = value_for(names, position, list(requests), until=until)
        if found is None:
            return Select(locator=locator)
        return Select(locator=locator, value=found[0], source=found[1].label[:2048])
    if kind in ("checkbox", "radio"):
        return Check(locator=locator)
    if crumb.category == "ui.click" or kind in ("file", "submit", "button", "reset", "image"):
        return Click(locator=locator)
    free_text = kind in ("", "text", "search") or target.tag == "textarea"
    found = value_for(names, position, list(requests), until=until, by_position=free_text)
    if found is not None:
        return Fill(locator=locator, value=found[0], synthetic=False, source=found[1].label[:2048])
    return Fill(locator=locator, value=synthetic_value(target))


# The notes `step_notes` writes, which name steps by number.
STEP_NOTE = re.compile(r"^Steps? [0-9]")


def step_notes(steps: list[Step], test_id_attribute: str) -> list[str]:
    """Say which steps rest on guesses: weak locators, made-up input values, selects."""
    weak: dict[str, list[int]] = {}
    notes: list[str] = []
    for number, step in enumerate(steps, start=1):
        if isinstance(step, Click | Fill | Select | Check) and step.locator.weak:
            weak.setdefault(step.locator.value, []).append(number)
        if isinstance(step, Fill) and step.synthetic:
            notes.append(
                f"Step {number} types the made-up value {step.value!r}: events never carry what users typed."
            )
        elif isinstance(step, Fill):
            notes.append(f"Step {number} types {step.value!r}, taken from {step.source}.")
        if isinstance(step, Press):
            notes.append(f"Step {number} presses {step.key}: a request followed the typing with no click.")
        if isinstance(step, Select) and step.value is None:
            notes.append(
                f"Step {number} picks the first non-empty option of a <select>: no later request "
                "says which one the user chose."
            )
        elif isinstance(step, Select):
            notes.append(f"Step {number} selects {step.value!r}, taken from {step.source}.")
    for value, numbers in weak.items():
        which = "Step " + str(numbers[0]) if len(numbers) == 1 else "Steps " + ", ".join(map(str, numbers))
        notes.insert(
            0,
            f"{which} find the element by a CSS path ({value}), which may not survive a redesign; "
            f"give it a {test_id_attribute} and list that in the SDK's dom.serializeAttribute.",
        )
    return notes


# Server steps --------------------------------------------------------------------------------------


def _request_step(event: SentryEvent, notes: list[str]) -> Request:
    """Replay the failing request against the preview, with personal values replaced."""
    path = to_path(event.url, _origin(event.url))
    if path is None and event.transaction and event.transaction.startswith("/"):
        path = to_path(event.transaction, None)
        notes.append("The request URL is unknown; the transaction name is used as the path.")
    if path is None:
        raise NothingToReplay(
            "the event names no page and no request (request.url is missing), so there is nothing to replay"
        )
    path = _scrub_query(path)
    method = (event.request_method or "GET").upper()
    if method not in METHODS:
        notes.append(f"The request method {method[:16]!r} is not supported; the test uses GET.")
        method = "GET"
    headers, body = {}, None
    length = (_request_header(event, "content-length") or "0").strip()
    if event.request_data not in (None, "", {}, []):
        replaced: list[str] = []
        content_type = _request_header(event, "content-type")
        body, content_type = _scrub_body(event.request_data, content_type, replaced)
        if content_type:
            headers["Content-Type"] = content_type
        which = f" ({', '.join(dict.fromkeys(replaced))[:300]})" if replaced else ""
        notes.append(
            f"The request body comes from the event with personal fields replaced{which}: made-up "
            "values of the same shape (length, digits, accented letters, emoji), secrets by `redacted`."
        )
    elif length.isdigit() and int(length) > 0:  # a body was sent that the event does not hold
        notes.append(
            "Sentry kept no request body (too large, or the SDK's max_request_body_size), so the test "
            "sends none: if the error needs the body, the verdict cannot show it; add one by hand."
        )
    return Request(method=method, path=path, headers=headers, body=body)


def _request_header(event: SentryEvent, name: str) -> str | None:
    """A header of the failing request, whatever its case; None when the event does not carry it."""
    return next((str(v) for k, v in event.request_headers if k.lower() == name and v), None)


def _scrub_query(path: str) -> str:
    head, sep, query = path.partition("?")
    if not sep:
        return path
    query = query.partition("#")[0]  # servers never see the fragment
    pairs = [(k, _scrub_scalar(k, v)) for k, v in parse_qsl(query, keep_blank_values=True)]
    scrubbed = urlencode(pairs, safe="/:,[]")
    return f"{head}?{scrubbed}" if scrubbed else head


def _scrub_body(data: Any, content_type: str | None, replaced: list[str]) -> tuple[str, str | None]:
    """The body with personal values replaced, and its content type; `replaced` gets the fields' names."""
    form = bool(content_type and "form-urlencoded" in content_type.lower())
    if isinstance(data, str):
        # Some SDKs (Node's) send the raw body text: read it as the JSON or form it is, field by field.
        parsed = _parsed_body(data, form)
        if parsed is None:
            return _scrub_scalar("", data, replaced)[:1_000_000], content_type
        data = parsed
    if isinstance(data, Mapping | list):
        scrubbed = _scrub_json(data, "", replaced)
        if form and isinstance(scrubbed, Mapping):
            return urlencode([(str(k), str(v)) for k, v in scrubbed.items()])[:1_000_000], content_type
        return json.dumps(scrubbed, ensure_ascii=False)[:1_000_000], "application/json"
    return _scrub_scalar("", str(data), replaced)[:1_000_000], content_type


def _parsed_body(text: str, form: bool) -> Any:
    if form:
        return dict(parse_qsl(text, keep_blank_values=True))
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, Mapping | list) else None


def _scrub_json(value: Any, key: str, replaced: list[str]) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _scrub_json(v, str(k), replaced) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_json(item, key, replaced) for item in value]
    if isinstance(value, str):
        return _scrub_scalar(key, value, replaced)
    if isinstance(value, int | float) and not isinstance(value, bool) and SECRET_KEY.search(key):
        replaced.append(key[:40])
        return 0  # a card or account number sent as a number
    return value


def _scrub_scalar(key: str, value: str, replaced: list[str] | None = None) -> str:
    if not (PERSONAL_KEY.search(key) or EMAIL.search(value) or value == "[Filtered]"):
        return value
    if replaced is not None and key:
        replaced.append(key[:40])
    if "mail" in key.lower() or EMAIL.search(value):
        return "qa@example.com"
    if SECRET_KEY.search(key) or value == "[Filtered]":
        return "redacted"
    return _same_shape(value)


def _same_shape(value: str) -> str:
    """A made-up value shaped like `value`: bugs that hang on a name's accents, emoji or length still
    show, and none of its letters or digits is kept."""
    shaped = []
    for ch in value[:200]:
        if ch.isdigit():
            shaped.append("7")
        elif ch.isalpha():
            upper = ch.isupper()
            shaped.append(("X" if upper else "x") if ch.isascii() else ("É" if upper else "é"))
        elif ord(ch) > 0xFFFF:
            shaped.append("\U0001f642")  # an emoji stays an emoji (astral, a surrogate pair in UTF-16)
        elif ch.isspace() or ch in "-_.,'()/+&":
            shaped.append(ch)
        else:
            shaped.append("·" if not ch.isascii() else "-")
    return "".join(shaped) or "redacted"


# Assertions and coverage ---------------------------------------------------------------------------


def _assertions(event: SentryEvent, kind: str, notes: list[str]) -> Assertions:
    page_error = None
    if kind == "browser":
        message, browser = event.exception_value, _browser_name(event)
        if (
            message
            and event.exception_type in ENGINE_ERRORS
            and browser
            and not browser.startswith(CHROMIUM_FAMILY)
        ):
            notes.append(
                f"The error was seen in {browser.title()}, whose wording Chromium does not share; "
                f"the test fails on any uncaught {event.exception_type}."
            )
            message = None
        page_error = PageError(type=_clip(event.exception_type, 512), message=_clip(message, 8192))
        if event.exception_type is None and event.exception_value is None:
            notes.append("The event has no exception; the test fails on any uncaught page error.")
    return Assertions(page_error=page_error, no_server_errors=True, text_absent=_text_absent(event))


def _browser_name(event: SentryEvent) -> str:
    browser = event.contexts.get("browser")
    name = browser.get("name") if isinstance(browser, Mapping) else None
    return (name if isinstance(name, str) else event.tags.get("browser.name", "")).lower()


def _text_absent(event: SentryEvent) -> list[str]:
    """The error's message, when it is specific enough not to appear on a healthy page."""
    value = (event.exception_value or "").strip()
    first_line = value.splitlines()[0].strip()[:200] if value else ""
    return [first_line] if len(first_line) >= 8 else []


def _routes(start: str | None, steps: Iterable[Step], event: SentryEvent) -> list[str]:
    paths = [start] if start else []
    paths += [step.path for step in steps if isinstance(step, Goto | ExpectUrl | Request)]
    if event.transaction and event.transaction.startswith("/") and not event.is_browser:
        paths.append(event.transaction)
    routes: list[str] = []
    for path in paths:
        route = urlsplit(path).path if path else None
        if route and route.startswith("/") and not route.startswith("//") and route not in routes:
            routes.append(route[:PATH_MAX])
    return routes


def covered_paths(frames: Iterable[Frame]) -> list[str]:
    """Return the repo-relative source files of the in-app frames, crashing frame first."""
    ordered = list(reversed(list(frames)))
    # Some Sentry servers mark no frame in-app at all; then any frame outside packages will do.
    return _frame_paths(f for f in ordered if f.in_app is not False) or _frame_paths(ordered)


def _frame_paths(frames: Iterable[Frame]) -> list[str]:
    paths: list[str] = []
    for frame in frames:
        if frame.abs_path and FOREIGN_PATH.search(frame.abs_path):
            continue  # installed packages keep an import-relative `filename`, so look at abs_path
        path = repo_relative(frame.filename) or repo_relative(frame.abs_path)
        if path and path not in paths:
            paths.append(path)
        if len(paths) >= MAX_COVERED_PATHS:
            break
    return paths


def repo_relative(filename: str | None) -> str | None:
    """Turn a frame's file name into a path inside the repository, or None for foreign code."""
    if not filename:
        return None
    path = filename.strip()
    path = re.sub(r"^webpack(?:-internal)?://[^/]*/", "", path)  # webpack://app-name/./src/x.js
    path = re.sub(r"^(?:app|file)://", "", path)
    path = re.sub(r"^[a-z][a-z0-9+.-]*://[^/]*", "", path, flags=re.IGNORECASE)  # an origin
    path = path.split("?", 1)[0].split("#", 1)[0]
    if FOREIGN_PATH.search(path) or "\\" in path or ".." in path.split("/"):
        return None
    path = DEPLOY_ROOT.sub("", path)
    while path.startswith(("./", "/", "~/")):
        path = path[2:] if path.startswith(("./", "~/")) else path[1:]
    if not path or not re.search(r"\.[A-Za-z0-9]+$", path) or any(ord(ch) < 0x20 for ch in path):
        return None
    return path[:PATH_MAX]


# URLs ----------------------------------------------------------------------------------------------


def to_path(url: str | None, origin: str | None) -> str | None:
    """Reduce a URL to a path on the app (`/a/b?q#h`); None when it is elsewhere or unusable."""
    if not url:
        return None
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https"):
            return None
        if origin and f"{parts.scheme}://{parts.netloc}".lower() != origin:
            return None
        path, query, fragment = parts.path, parts.query, parts.fragment
    elif text.startswith("/"):
        path, query, fragment = parts.path, parts.query, parts.fragment
    else:
        return None
    # A path is replayed against the preview's origin, so it may never look like `//host`.
    path = "/" + path.lstrip("/")
    result = _encode(path)
    if query:
        result += "?" + _encode(query)
    if fragment:
        result += "#" + _encode(fragment)
    if len(result) > PATH_MAX:
        result = _encode(path)[:PATH_MAX]
    return result


def _encode(text: str) -> str:
    """Percent-encode what the spec refuses (control characters, backslashes, spaces)."""
    return quote(text, safe="/?&=#:@!$'()*+,;%[]~-._")


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else None


def _str_data(crumb: Breadcrumb, key: str) -> str | None:
    value = crumb.data.get(key)
    return value if isinstance(value, str) and value else None


def _clip(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else None
