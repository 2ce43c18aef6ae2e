"""One normalized Sentry event, whatever envelope it arrived in.

Accepted shapes:
- integration-platform webhooks: `event_alert` (`data.event`) and `error` (`data.error`);
- the legacy per-project WebHooks plugin (top-level `event` plus `triggering_rules`, `id`, `url`);
- a raw SDK event or the stored event on its own (snake_case protocol);
- the web API's "latest event" response (camelCase, `entries[]`, tags as `{key, value}`).

Everything in an event is attacker-controlled text, so this module only reshapes it; it never
interprets it. Unknown fields are ignored and missing ones become None.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from triagebot.errors import MalformedPayload

# SDKs whose events come from a server even though their platform is "javascript".
SERVER_JS_SDKS = frozenset(
    {
        "sentry.javascript.node",
        "sentry.javascript.bun",
        "sentry.javascript.deno",
        "sentry.javascript.aws-serverless",
        "sentry.javascript.serverless",
        "sentry.javascript.google-cloud-serverless",
        "sentry.javascript.nestjs",
        "sentry.javascript.vercel-edge",
        "sentry.javascript.cloudflare",
    }
)
SERVER_RUNTIMES = frozenset({"node", "bun", "deno", "vercel-edge", "cloudflare"})
API_EVENT_PATH = re.compile(r"/api/0/projects/[^/]+/(?P<slug>[^/]+)/events/")
# Older SDKs and Sentry's own sample events ("send test event", onboarding) name the interfaces by
# their class paths; Sentry still reads them as these canonical keys (sentry/utils/canonical.py).
LEGACY_KEYS = {
    "sentry.interfaces.Exception": "exception",
    "sentry.interfaces.Message": "logentry",
    "sentry.interfaces.Stacktrace": "stacktrace",
    "sentry.interfaces.Template": "template",
    "sentry.interfaces.Http": "request",
    "sentry.interfaces.User": "user",
    "sentry.interfaces.Csp": "csp",
    "sentry.interfaces.Breadcrumbs": "breadcrumbs",
    "sentry.interfaces.Contexts": "contexts",
    "sentry.interfaces.Threads": "threads",
    "sentry.interfaces.DebugMeta": "debug_meta",
}
ACCEPTED = (
    "expected a webhook's data.event or data.error, a legacy plugin's event, an API event (entries, "
    "eventID), or an SDK event (event_id, exception, stacktrace, breadcrumbs, platform, sdk, or the "
    "sentry.interfaces.* names of older SDKs and Sentry's sample events)"
)


@dataclass(frozen=True)
class Frame:
    """One stack frame; frames are ordered oldest first, the crashing one last."""

    filename: str | None = None
    abs_path: str | None = None
    function: str | None = None
    module: str | None = None
    lineno: int | None = None
    colno: int | None = None
    in_app: bool | None = None


@dataclass(frozen=True)
class Breadcrumb:
    """One breadcrumb, in the order Sentry recorded them (oldest first)."""

    category: str | None = None
    type: str | None = None
    level: str | None = None
    message: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    timestamp: float | None = None


@dataclass(frozen=True)
class SentryEvent:
    """The fields of a Sentry event that triage and test drafting use."""

    event_id: str | None = None
    issue_id: str | None = None
    short_id: str | None = None
    project: str | None = None  # the project slug when the envelope names it, else its numeric id
    project_id: str | None = None
    platform: str | None = None
    sdk_name: str | None = None
    event_type: str | None = None  # "error", "transaction", "default", ...
    title: str | None = None
    message: str | None = None
    culprit: str | None = None
    level: str | None = None
    environment: str | None = None
    release: str | None = None
    transaction: str | None = None
    url: str | None = None  # full URL with query string and fragment put back
    request_method: str | None = None
    request_query: str | None = None
    request_data: Any = None
    request_headers: tuple[tuple[str, str], ...] = ()
    exception_type: str | None = None
    exception_value: str | None = None
    handled: bool | None = None
    frames: tuple[Frame, ...] = ()
    breadcrumbs: tuple[Breadcrumb, ...] = ()
    flags: tuple[tuple[str, Any], ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    contexts: dict[str, Any] = field(default_factory=dict)
    user: dict[str, Any] = field(default_factory=dict)  # `user`: id, email, username (maybe "[Filtered]")
    web_url: str | None = None  # the event's page on Sentry
    issue_web_url: str | None = None  # the issue's page on Sentry

    @property
    def is_browser(self) -> bool:
        """Tell whether the event came from a browser SDK rather than a server."""
        sdk = (self.sdk_name or "").lower()
        if sdk in SERVER_JS_SDKS:
            return False
        runtime = self.contexts.get("runtime")
        if isinstance(runtime, Mapping) and str(runtime.get("name", "")).lower() in SERVER_RUNTIMES:
            return False
        if sdk.startswith("sentry.javascript.") or sdk in {"raven-js", "sentry-browser"}:
            return True
        # Server events carry a `browser` context parsed from the client's User-Agent too, so
        # only a JavaScript event without an SDK name is taken for a browser one.
        return self.platform == "javascript" and not sdk and self.request_method is None


def normalize_event(payload: Mapping[str, Any], *, surrogate_free: bool = False) -> SentryEvent:
    """Turn any accepted payload shape into a SentryEvent, or raise MalformedPayload.

    `surrogate_free` says the caller knows no string in it holds a lone surrogate (see
    `json_surrogate_free`), which spares the walk through the whole payload that would replace them.
    """
    return _from_protocol(*_locate(payload, surrogate_free))


@dataclass(frozen=True)
class EventSummary:
    """The fields of an event that its issue keeps (a draft reads the whole stored event later)."""

    event_id: str | None = None
    short_id: str | None = None
    platform: str | None = None
    title: str | None = None
    culprit: str | None = None
    level: str | None = None
    environment: str | None = None
    release: str | None = None
    flags: tuple[tuple[str, Any], ...] = ()


def summarize_event(payload: Mapping[str, Any], *, surrogate_free: bool = False) -> EventSummary:
    """Read what `normalize_event` would of these fields, and raise where it would, without reading the
    rest (frames, breadcrumbs, request): intake runs this on every webhook."""
    event, _envelope = _locate(payload, surrogate_free)
    tags = _tags(event.get("tags"))
    return EventSummary(
        event_id=_str(event.get("event_id") or event.get("id")),
        short_id=_str(event.get("short_id")),
        platform=_str(event.get("platform")),
        title=_str(event.get("title")) or _fallback_title(_main_exception(event), event),
        culprit=_str(event.get("culprit")),
        level=_str(event.get("level")) or tags.get("level"),
        environment=_str(event.get("environment")) or tags.get("environment"),
        release=_str(event.get("release")) or tags.get("release"),
        flags=_flags(_mapping(event.get("contexts")).get("flags")),
    )


def _locate(payload: Mapping[str, Any], surrogate_free: bool) -> tuple[Mapping[str, Any], dict[str, Any]]:
    """Find the event in any accepted payload shape; return it and what its envelope says of its issue."""
    if not isinstance(payload, Mapping):
        raise MalformedPayload("(top level): a Sentry event must be a JSON object")
    payload = _canonical(payload if surrogate_free else clean_json(payload))
    envelope: dict[str, Any] = {}
    data = payload.get("data")
    if isinstance(data, Mapping) and not _looks_like_event(payload):
        event = data.get("event") if isinstance(data.get("event"), Mapping) else data.get("error")
        event = _canonical(event) if isinstance(event, Mapping) else event
        if not isinstance(event, Mapping):
            present = ", ".join(sorted(str(key) for key in data)) or "nothing"
            raise MalformedPayload(
                f"data.event: this webhook carries no event (data holds {present}); "
                "only event_alert and error webhooks carry one"
            )
    elif isinstance(payload.get("event"), Mapping):
        # The legacy WebHooks plugin: the issue's fields at the top, the raw event inside.
        event = _canonical(payload["event"])
        envelope = {
            "issue_id": _str(payload.get("id")),
            "issue_web_url": _strip_query(_str(payload.get("url"))),
            "project": _str(payload.get("project_slug") or payload.get("project")),
        }
    elif isinstance(payload.get("entries"), list) or "eventID" in payload:
        event = _from_api(payload)
    elif _looks_like_event(payload):
        event = payload
    else:
        raise MalformedPayload(f"(top level): not a Sentry event; {ACCEPTED}")
    return event, envelope


def json_surrogate_free(raw: bytes) -> bool:
    """Say whether JSON text cannot decode to a lone surrogate: it is ASCII (raw UTF-8 surrogates are
    not) and spells no `\\uD800`-`\\uDFFF` escape (a false alarm only costs the cleaning walk)."""
    return raw.isascii() and b"\\ud" not in raw and b"\\uD" not in raw


def clean_text(text: str) -> str:
    """Replace lone surrogates (JSON may spell them, UTF-8 cannot hold them) with U+FFFD."""
    if text.isascii():
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def clean_json(value: Any) -> Any:
    """Return parsed JSON with every lone surrogate, in keys and strings, replaced by U+FFFD."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, Mapping):
        return {clean_text(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(item) for item in value]
    return value


def _canonical(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """Read `sentry.interfaces.*` keys as their canonical names (a canonical key present wins)."""
    if not any(key in event for key in LEGACY_KEYS):
        return event
    renamed = dict(event)
    for legacy, canonical in LEGACY_KEYS.items():
        if legacy in renamed:
            value = renamed.pop(legacy)
            renamed.setdefault(canonical, value)
    return renamed


def _looks_like_event(value: Mapping[str, Any]) -> bool:
    return any(
        key in value
        for key in ("event_id", "exception", "breadcrumbs", "platform", "sdk", "stacktrace", "logentry")
    )


def _from_protocol(event: Mapping[str, Any], envelope: Mapping[str, Any]) -> SentryEvent:
    """Read the snake_case event protocol (SDK payloads and stored events alike)."""
    request = _mapping(event.get("request"))
    exception = _main_exception(event)
    metadata = _mapping(event.get("metadata"))
    contexts = {str(k): v for k, v in _mapping(event.get("contexts")).items()}
    tags = _tags(event.get("tags"))
    web_url = _str(event.get("web_url"))
    project_id = _str(event.get("project"))
    api_url = API_EVENT_PATH.search(_str(event.get("url")) or "")
    mechanism = _mapping(exception.get("mechanism"))
    handled = mechanism.get("handled")
    return SentryEvent(
        event_id=_str(event.get("event_id") or event.get("id")),
        issue_id=envelope.get("issue_id") or _str(event.get("issue_id") or event.get("group_id")),
        short_id=_str(event.get("short_id")),
        project=envelope.get("project") or (api_url.group("slug") if api_url else project_id),
        project_id=project_id,
        platform=_str(event.get("platform")),
        sdk_name=_str(_mapping(event.get("sdk")).get("name")),
        event_type=_str(event.get("type")),
        title=_str(event.get("title")) or _fallback_title(exception, event),
        message=_message(event),
        culprit=_str(event.get("culprit")),
        level=_str(event.get("level")) or tags.get("level"),
        environment=_str(event.get("environment")) or tags.get("environment"),
        release=_str(event.get("release")) or tags.get("release"),
        transaction=_str(event.get("transaction")) or tags.get("transaction"),
        url=_page_url(request, tags),
        request_method=_str(request.get("method")),
        request_query=_query_string(request.get("query_string")),
        request_data=request.get("data"),
        request_headers=_pairs(request.get("headers")),
        exception_type=_str(exception.get("type")) or _str(metadata.get("type")),
        exception_value=_str(exception.get("value")) or _str(metadata.get("value")),
        handled=handled if isinstance(handled, bool) else None,
        frames=_frames(exception.get("stacktrace") or event.get("stacktrace")),
        breadcrumbs=_breadcrumbs(event.get("breadcrumbs")),
        flags=_flags(contexts.get("flags")),
        tags=tags,
        contexts=contexts,
        user=dict(_mapping(event.get("user"))),
        web_url=web_url,
        issue_web_url=envelope.get("issue_web_url") or _issue_page(web_url),
    )


def _from_api(api: Mapping[str, Any]) -> dict[str, Any]:
    """Rewrite an API event (camelCase, `entries[]`) into the event protocol's shape."""
    event: dict[str, Any] = {
        "event_id": api.get("eventID") or api.get("id"),
        "issue_id": api.get("groupID"),
        "project": api.get("projectID"),
        "platform": api.get("platform"),
        "sdk": api.get("sdk"),
        "type": api.get("type"),
        "title": api.get("title"),
        "culprit": api.get("culprit"),
        "metadata": api.get("metadata"),
        "release": _mapping(api.get("release")).get("version") or api.get("release"),
        "contexts": api.get("contexts"),
        "tags": api.get("tags"),
        "environment": api.get("environment"),
        "user": api.get("user"),
    }
    for entry in api.get("entries") or []:
        kind, data = _mapping(entry).get("type"), _mapping(_mapping(entry).get("data"))
        if kind == "exception":
            event["exception"] = {"values": [_api_exception(v) for v in data.get("values") or []]}
        elif kind == "breadcrumbs":
            event["breadcrumbs"] = data
        elif kind == "request":
            event["request"] = {**data, "query_string": data.get("query")}
        elif kind == "message":
            event["logentry"] = {"formatted": data.get("formatted")}
        elif kind == "stacktrace":
            event["stacktrace"] = _api_stacktrace(data)
    return event


def _api_exception(value: Any) -> dict[str, Any]:
    value = _mapping(value)
    return {**value, "stacktrace": _api_stacktrace(value.get("stacktrace"))}


def _api_stacktrace(stacktrace: Any) -> dict[str, Any]:
    frames = _mapping(stacktrace).get("frames") or []
    renamed = {"absPath": "abs_path", "lineNo": "lineno", "colNo": "colno", "inApp": "in_app"}
    return {
        "frames": [{renamed.get(k, k): v for k, v in _mapping(frame).items()} for frame in frames],
    }


def _main_exception(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return the outermost exception: Sentry lists chained exceptions innermost first."""
    raw = event.get("exception")
    values = _mapping(raw).get("values") if isinstance(raw, Mapping) else raw
    if values is None and isinstance(raw, Mapping) and (raw.get("type") or raw.get("value")):
        values = [raw]  # old SDKs sent one exception, not a `values` list
    if not isinstance(values, list):
        return {}
    usable = [v for v in values if isinstance(v, Mapping) and (v.get("type") or v.get("value"))]
    return usable[-1] if usable else {}


def _frames(stacktrace: Any) -> tuple[Frame, ...]:
    frames = _mapping(stacktrace).get("frames")
    if not isinstance(frames, list):
        return ()
    return tuple(
        Frame(
            filename=_str(f.get("filename")),
            abs_path=_str(f.get("abs_path")),
            function=_str(f.get("function")),
            module=_str(f.get("module")),
            lineno=_int(f.get("lineno")),
            colno=_int(f.get("colno")),
            in_app=f.get("in_app") if isinstance(f.get("in_app"), bool) else None,
        )
        for f in frames
        if isinstance(f, Mapping)
    )


def _breadcrumbs(raw: Any) -> tuple[Breadcrumb, ...]:
    """Read breadcrumbs; stored events wrap the list in `values`, raw SDK events do not."""
    values = _mapping(raw).get("values") if isinstance(raw, Mapping) else raw
    if not isinstance(values, list):
        return ()
    return tuple(
        Breadcrumb(
            category=_str(crumb.get("category")),
            type=_str(crumb.get("type")),
            level=_str(crumb.get("level")),
            message=_str(crumb.get("message")),
            data=dict(_mapping(crumb.get("data"))),
            timestamp=_timestamp(crumb.get("timestamp")),
        )
        for crumb in values
        if isinstance(crumb, Mapping)
    )


def _flags(raw: Any) -> tuple[tuple[str, Any], ...]:
    """Read `contexts.flags.values`, the SDKs' record of feature-flag evaluations."""
    values = _mapping(raw).get("values")
    if not isinstance(values, list):
        return ()
    return tuple(
        (str(item["flag"]), item.get("result"))
        for item in values
        if isinstance(item, Mapping) and isinstance(item.get("flag"), str) and item["flag"]
    )


def _tags(raw: Any) -> dict[str, str]:
    """Read tags given as a dict, `[key, value]` pairs (webhooks) or `{key, value}` (API)."""
    if isinstance(raw, Mapping):
        return {str(k): str(v) for k, v in raw.items() if v is not None}
    tags: dict[str, str] = {}
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, Mapping) and item.get("key") is not None:
            tags[str(item["key"])] = str(item.get("value"))
        elif isinstance(item, list | tuple) and len(item) == 2 and item[0] is not None:
            tags[str(item[0])] = str(item[1])
    return tags


def _pairs(raw: Any) -> tuple[tuple[str, str], ...]:
    """Read headers or query parameters given as a dict or as a list of pairs."""
    if isinstance(raw, Mapping):
        return tuple((str(k), str(v)) for k, v in raw.items() if v is not None)
    if isinstance(raw, list):
        return tuple(
            (str(item[0]), "" if item[1] is None else str(item[1]))
            for item in raw
            if isinstance(item, list | tuple) and len(item) == 2 and item[0] is not None
        )
    return ()


def _query_string(raw: Any) -> str | None:
    """Read `query_string`: a string from SDKs, a list of pairs once Sentry has stored it."""
    if isinstance(raw, str):
        return raw.lstrip("?") or None
    return urlencode(_pairs(raw)) or None


def _page_url(request: Mapping[str, Any], tags: Mapping[str, str]) -> str | None:
    """Rebuild the full URL: Sentry moves the query into `query_string` and the hash into `fragment`."""
    url = _str(request.get("url")) or tags.get("url")
    if not url:
        return None
    parts = urlsplit(url)
    query = parts.query or _query_string(request.get("query_string")) or ""
    fragment = parts.fragment or (_str(request.get("fragment")) or "").lstrip("#")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, fragment))


def _message(event: Mapping[str, Any]) -> str | None:
    logentry = _mapping(event.get("logentry"))
    return _str(logentry.get("formatted") or logentry.get("message")) or _str(event.get("message"))


def _fallback_title(exception: Mapping[str, Any], event: Mapping[str, Any]) -> str | None:
    """Title a raw SDK event the way Sentry would: `Type: value`, else the message."""
    kind, value = _str(exception.get("type")), _str(exception.get("value"))
    if kind or value:
        return ": ".join(part for part in (kind, value) if part)
    return _message(event)


def _issue_page(event_page: str | None) -> str | None:
    """Cut `events/<id>/` off an event's web URL to get its issue's page."""
    if not event_page:
        return None
    head, sep, _ = event_page.partition("/events/")
    return f"{head}/" if sep else None


def _strip_query(url: str | None) -> str | None:
    return urlunsplit(urlsplit(url)._replace(query="", fragment="")) if url else None


def _timestamp(raw: Any) -> float | None:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, str):
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: Any) -> str | None:
    """Return a non-empty string for a scalar, None for anything else."""
    if isinstance(value, bool) or value is None or isinstance(value, Mapping | list):
        return None
    text = str(value)
    return text or None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
