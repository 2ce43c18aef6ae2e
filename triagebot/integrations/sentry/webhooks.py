"""Parse Sentry webhook bodies (integration platform and legacy plugin) into one IssueReport.

Sentry's envelope is `{action, installation, data, actor}`; `data` holds `issue` for issue.*,
`event` for event_alert and `error` for error. Workflow notifications (resolved, assigned, ...)
carry no `web_url`, and issue.created carries no event, so both are optional here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from triagebot.errors import MalformedPayload, UnsupportedEvent

HANDLED = {
    "issue.created",
    "issue.resolved",
    "issue.assigned",
    "issue.ignored",
    "issue.archived",  # the older name of `ignored`, still sent to legacy subscriptions
    "issue.unresolved",
    "event_alert.triggered",
    "error.created",
}
# Known resources we take no action on: answered 2xx so Sentry does not count them as failures.
IGNORED_RESOURCES = {
    "installation",
    "comment",
    "metric_alert",
    "seer",
    "activity_alert",
    "preprod_artifact",
    "size_analysis",
}


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class Actor(_Loose):
    type: str | None = None
    id: str | int | None = None
    name: str | None = None


class Envelope(_Loose):
    action: str
    data: dict[str, Any]
    actor: Actor | None = None


class IssueData(_Loose):
    """The serialized Sentry group, as in `data.issue`."""

    id: str | int
    shortId: str | None = None
    title: str | None = None
    culprit: str | None = None
    level: str | None = None
    status: str | None = None
    substatus: str | None = None
    platform: str | None = None
    project: dict[str, Any] | None = None
    assignedTo: dict[str, Any] | None = None
    count: str | int | None = None
    userCount: int | str | None = None
    firstSeen: str | None = None
    lastSeen: str | None = None
    web_url: str | None = None
    permalink: str | None = None


@dataclass
class IssueReport:
    """What one webhook tells us about one Sentry issue."""

    resource: str
    action: str
    issue_id: str
    short_id: str | None = None
    title: str | None = None
    culprit: str | None = None
    level: str | None = None
    status: str | None = None
    substatus: str | None = None
    platform: str | None = None
    project_slug: str | None = None
    project_id: str | None = None
    event_count: int | None = None
    user_count: int | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    web_url: str | None = None
    assignee: str | None = None
    actor_type: str | None = None
    actor_id: str | None = None
    actor_name: str | None = None
    event: dict[str, Any] | None = None  # the raw event, in whichever shape Sentry sent it
    event_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Sentry's own name for what happened: `resource.action`."""
        return f"{self.resource}.{self.action}"


def parse_time(value: object) -> datetime | None:
    """Parse Sentry's ISO-8601 or epoch timestamps into aware UTC."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(float(value), UTC)
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OSError, OverflowError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _int(value: object) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _field_name(exc: ValidationError, prefix: str) -> str:
    loc = exc.errors()[0]["loc"]
    return ".".join([prefix, *(str(part) for part in loc)]).strip(".")


def issue_web_url(url: str | None) -> str | None:
    """Turn an event's web URL (`.../issues/<id>/events/<eid>/`) into the issue's, dropping referrers."""
    if not isinstance(url, str) or not re.match(r"^https?://", url):  # a number or null is no link
        return None
    url = re.sub(r"events/[^/]+/?$", "", url.split("?", 1)[0])
    return url if url.endswith("/") else url + "/"


def parse_webhook(resource: str, body: object) -> IssueReport:
    """Parse an integration-platform webhook; raise MalformedPayload or UnsupportedEvent."""
    if not isinstance(body, dict):
        raise MalformedPayload("body must be a JSON object")
    try:
        envelope = Envelope.model_validate(body)
    except ValidationError as exc:
        raise MalformedPayload(f"{_field_name(exc, '')} is missing or invalid") from None
    key = f"{resource}.{envelope.action}"
    if resource in IGNORED_RESOURCES or key not in HANDLED:
        raise UnsupportedEvent(f"{key} is not handled")
    actor = envelope.actor or Actor()
    common = {
        "resource": resource,
        "action": envelope.action,
        "actor_type": actor.type,
        "actor_id": None if actor.id is None else str(actor.id),
        "actor_name": actor.name,
    }
    if resource == "issue":
        raw_issue = envelope.data.get("issue")
        if not isinstance(raw_issue, dict):
            raise MalformedPayload("data.issue is missing or not an object")
        report = from_issue(raw_issue, common)
        assignee = envelope.data.get("assignee")
        if envelope.action == "assigned" and isinstance(assignee, dict):
            named = [assignee.get("email"), assignee.get("name")]  # a team has a name and no email
            report.assignee = next((str(v) for v in named if isinstance(v, str) and v), report.assignee)
        if envelope.data.get("resolution_type"):
            report.extra["resolution_type"] = envelope.data["resolution_type"]
        return report
    name = "event" if resource == "event_alert" else "error"
    event = envelope.data.get(name)
    if not isinstance(event, dict):
        raise MalformedPayload(f"data.{name} is missing or not an object")
    report = _from_event(event, common)
    if envelope.data.get("triggered_rule"):
        report.extra["triggered_rule"] = str(envelope.data["triggered_rule"])
    return report


def parse_legacy(body: object) -> IssueReport:
    """Parse a legacy WebHooks-plugin body (`id`, `project`, `url`, `event`, `triggering_rules`)."""
    if not isinstance(body, dict):
        raise MalformedPayload("body must be a JSON object")
    if not body.get("id"):
        raise MalformedPayload("id is missing")
    event = body.get("event")
    if not isinstance(event, dict):
        raise MalformedPayload("event is missing or not an object")
    report = _from_event(
        {**event, "issue_id": str(body["id"])},
        {"resource": "event_alert", "action": "triggered", "actor_type": "application", "actor_id": "sentry"},
    )
    report.project_slug = body.get("project_slug") or body.get("project")
    report.web_url = issue_web_url(body.get("url"))
    report.title = report.title or body.get("message")
    report.culprit = report.culprit or body.get("culprit")
    report.level = report.level or body.get("level")
    return report


def from_issue(raw: dict[str, Any], common: dict[str, Any]) -> IssueReport:
    try:
        issue = IssueData.model_validate(raw)
    except ValidationError as exc:
        raise MalformedPayload(f"{_field_name(exc, 'data.issue')} is missing or invalid") from None
    project = issue.project or {}
    assigned = issue.assignedTo or {}
    return IssueReport(
        **common,
        issue_id=str(issue.id),
        short_id=issue.shortId,
        title=issue.title,
        culprit=issue.culprit,
        level=issue.level,
        status=issue.status,
        substatus=issue.substatus,
        platform=issue.platform,
        project_slug=project.get("slug"),
        project_id=None if project.get("id") is None else str(project["id"]),
        event_count=_int(issue.count),
        user_count=_int(issue.userCount),
        first_seen=parse_time(issue.firstSeen),
        last_seen=parse_time(issue.lastSeen),
        web_url=issue_web_url(issue.web_url or issue.permalink),
        assignee=(assigned.get("email") or assigned.get("name")) if assigned else None,
    )


def _from_event(event: dict[str, Any], common: dict[str, Any]) -> IssueReport:
    issue_id = event.get("issue_id") or event.get("group_id") or event.get("groupID")
    if not issue_id and isinstance(event.get("issue_url"), str):
        match = re.search(r"/issues/(\d+)/?$", event["issue_url"])
        issue_id = match.group(1) if match else None
    if not issue_id:
        raise MalformedPayload("the event names no issue (issue_id)")
    when = parse_time(event.get("datetime") or event.get("timestamp") or event.get("dateCreated"))
    project = event.get("project")
    return IssueReport(
        **common,
        issue_id=str(issue_id),
        title=event.get("title") or None,
        culprit=event.get("culprit") or None,
        level=event.get("level") or None,
        platform=event.get("platform") or None,
        project_id=str(project) if isinstance(project, int | str) and str(project).isdigit() else None,
        first_seen=when,
        last_seen=when,
        web_url=issue_web_url(event.get("web_url")),
        event=event,
        event_id=event.get("event_id") or event.get("eventID") or event.get("id"),
    )
