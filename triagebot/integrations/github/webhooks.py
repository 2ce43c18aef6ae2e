"""GitHub webhook deliveries: the envelope every handler gets, and the few pull_request fields we read.

GitHub's example payloads drift from its own schemas (labels without `archived_by` and so on), so
nothing here validates a whole payload: small models with optional fields and unknown ones ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from triagebot.errors import MalformedPayload


@dataclass(frozen=True)
class GitHubEvent:
    """One verified delivery: the `X-GitHub-Event` name, its action, the delivery id and the JSON body."""

    name: str
    delivery: str
    payload: dict[str, Any]

    @property
    def action(self) -> str | None:
        """The payload's `action`, when the event has actions."""
        action = self.payload.get("action")
        return action if isinstance(action, str) else None

    @property
    def key(self) -> str:
        """The routing key: `event.action` (`pull_request.closed`) or just the event name (`ping`)."""
        return f"{self.name}.{self.action}" if self.action else self.name

    @property
    def repo(self) -> str | None:
        """The repository's `owner/name`."""
        repository = self.payload.get("repository")
        name = repository.get("full_name") if isinstance(repository, dict) else None
        return name if isinstance(name, str) else None


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Head(_Model):
    ref: str
    sha: str | None = None


class _PullFields(_Model):
    number: int
    html_url: str | None = None
    state: str = "open"
    merged: bool | None = None
    merged_at: str | None = None
    head: _Head


class _PullRequestPayload(_Model):
    pull_request: _PullFields


@dataclass(frozen=True)
class PullRequestChange:
    """What a `pull_request` event says about one pull request."""

    repo: str
    number: int
    url: str | None
    branch: str
    head_sha: str | None
    state: str
    merged: bool


def parse_pull_request(event: GitHubEvent) -> PullRequestChange:
    """Read the pull request of a `pull_request` event, naming the missing field when it is malformed."""
    try:
        pull = _PullRequestPayload.model_validate(event.payload).pull_request
    except ValidationError as exc:
        first = exc.errors()[0]
        raise MalformedPayload(
            f"pull_request payload: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
        ) from None
    if event.repo is None:
        raise MalformedPayload("pull_request payload: repository.full_name: missing")
    return PullRequestChange(
        repo=event.repo,
        number=pull.number,
        url=pull.html_url,
        branch=pull.head.ref,
        head_sha=pull.head.sha,
        state=pull.state,
        merged=bool(pull.merged) or pull.merged_at is not None,
    )
