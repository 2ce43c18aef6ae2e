"""GitHub webhook deliveries: the envelope every handler gets, and the few pull_request and
deployment_status fields we read.

GitHub's example payloads drift from its own schemas (labels without `archived_by` and so on), so
nothing here validates a whole payload: small models with optional fields and unknown ones ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from triagebot.errors import MalformedPayload, UnsupportedEvent


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


class _Status(_Model):
    state: str
    environment_url: str | None = None
    target_url: str | None = None
    environment: str | None = None


class _Deployment(_Model):
    sha: str
    ref: str | None = None
    environment: str | None = None


class _Repository(_Model):
    default_branch: str | None = None


class _DeploymentStatusPayload(_Model):
    deployment_status: _Status
    deployment: _Deployment
    repository: _Repository = _Repository()


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
    payload, repo = _validated(_PullRequestPayload, event)
    pull = payload.pull_request
    return PullRequestChange(
        repo=repo,
        number=pull.number,
        url=pull.html_url,
        branch=pull.head.ref,
        head_sha=pull.head.sha,
        state=pull.state,
        merged=bool(pull.merged) or pull.merged_at is not None,
    )


@dataclass(frozen=True)
class PreviewReady:
    """A successful deployment of a commit, and the URL it answers on."""

    repo: str
    sha: str
    url: str
    environment: str | None
    ref: str | None  # the branch or tag deployed, when the deployer said
    default_branch: str | None  # the repository's

    @property
    def of_default_branch(self) -> bool:
        """Whether this deploys the repository's default branch (production or its preview)."""
        return self.default_branch is not None and self.ref == self.default_branch


def parse_deployment_status(event: GitHubEvent) -> PreviewReady:
    """Read a `deployment_status` event; UnsupportedEvent unless it is a success with a URL.

    GitHub's deployment_status names a commit, not a pull request. Its URL is `environment_url` when
    the deployer set one (Vercel, Fly, Actions environments), else `target_url` (older integrations).
    """
    payload, repo = _validated(_DeploymentStatusPayload, event)
    status = payload.deployment_status
    if status.state != "success":
        raise UnsupportedEvent(f"deployment state {status.state!r}: only a successful one is a preview")
    url = (status.environment_url or "").strip() or (status.target_url or "").strip()
    if not url:
        raise UnsupportedEvent("deployment_status has neither environment_url nor target_url")
    return PreviewReady(
        repo=repo,
        sha=payload.deployment.sha,
        url=url,
        environment=status.environment or payload.deployment.environment,
        ref=payload.deployment.ref,
        default_branch=payload.repository.default_branch,
    )


_Payload = TypeVar("_Payload", bound=_Model)


def _validated(model: type[_Payload], event: GitHubEvent) -> tuple[_Payload, str]:
    """Return the fields `model` reads and the repository's name; MalformedPayload names what is wrong."""
    try:
        payload = model.model_validate(event.payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise MalformedPayload(f"{event.name} payload: {where}: {first['msg']}") from None
    if event.repo is None:
        raise MalformedPayload(f"{event.name} payload: repository.full_name: missing")
    return payload, event.repo
