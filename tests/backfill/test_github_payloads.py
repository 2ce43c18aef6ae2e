"""Reading GitHub's pull_request and deployment_status payloads: the fields we use, or what is wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.fake_github import FIXTURES
from triagebot.errors import MalformedPayload, UnsupportedEvent
from triagebot.integrations.github.webhooks import GitHubEvent, parse_deployment_status, parse_pull_request


def event(name: str, fixture: str, **changes: Any) -> GitHubEvent:
    payload = json.loads((FIXTURES / fixture).read_text())
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target = payload
        for part in parents:
            target = target[part]
        if value is None:
            target.pop(leaf, None)
        else:
            target[leaf] = value
    return GitHubEvent(name=name, delivery="d-1", payload=payload)


def deployment(**changes: Any) -> GitHubEvent:
    return event("deployment_status", "webhook.deployment_status.created.success.json", **changes)


def test_a_successful_deployment_names_its_commit_url_and_branch() -> None:
    preview = parse_deployment_status(deployment(deployment__ref="main", repository__default_branch="main"))
    assert preview.sha and preview.url.startswith("http")
    assert preview.of_default_branch


@pytest.mark.parametrize(
    "changes",
    [
        {"deployment__ref": "feature-x", "repository__default_branch": "main"},
        {"deployment__ref": "main", "repository__default_branch": None},
        {"deployment__ref": None, "repository__default_branch": "main"},
    ],
)
def test_only_the_default_branch_is_the_default_branchs_preview(changes: dict[str, Any]) -> None:
    assert not parse_deployment_status(deployment(**changes)).of_default_branch


def test_a_deployment_without_a_url_or_success_is_not_a_preview() -> None:
    with pytest.raises(UnsupportedEvent, match="deployment state 'failure'"):
        parse_deployment_status(deployment(deployment_status__state="failure"))
    with pytest.raises(UnsupportedEvent, match="neither environment_url nor target_url"):
        parse_deployment_status(
            deployment(deployment_status__environment_url=None, deployment_status__target_url=None)
        )


@pytest.mark.parametrize(
    ("parse", "name", "fixture", "changes", "message"),
    [
        (
            parse_deployment_status,
            "deployment_status",
            "webhook.deployment_status.created.success.json",
            {"deployment__sha": None},
            "deployment_status payload: deployment.sha: Field required",
        ),
        (
            parse_deployment_status,
            "deployment_status",
            "webhook.deployment_status.created.success.json",
            {"repository__full_name": None},
            "deployment_status payload: repository.full_name: missing",
        ),
        (
            parse_pull_request,
            "pull_request",
            "webhook.pull_request.opened.json",
            {"pull_request__number": "seven"},
            "pull_request payload: pull_request.number: Input should be",
        ),
    ],
)
def test_a_malformed_payload_names_its_field(
    parse: Any, name: str, fixture: str, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(MalformedPayload, match=message.replace(".", r"\.")):
        parse(event(name, fixture, **changes))
