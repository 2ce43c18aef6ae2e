"""`GET /metrics`: webhooks by result, outbox depth and age, deliveries by kind and result."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import FIXTURES
from tests.support.fake_slack import FakeSlack
from tests.support.signing import compact, fixture_request, sentry_headers
from triagebot.bootstrap import Services

ISSUE_CREATED = FIXTURES / "sentry" / "issue.created.json"


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Read the exposition as {(sample name, sorted labels): value}."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def post_issue(client: TestClient) -> None:
    body, headers = fixture_request(ISSUE_CREATED)
    response = client.post("/webhooks/sentry", content=body, headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["outcome"] == "opened"


def test_metrics_count_webhooks_outbox_depth_and_deliveries(
    client: TestClient, services: Services, fake_slack: FakeSlack
) -> None:
    before = scrape(client)
    assert before[("triagebot_outbox_depth", ())] == 0.0
    assert before[("triagebot_outbox_oldest_age_seconds", ())] == 0.0

    post_issue(client)
    bad = compact({"action": "created"})
    rejected = client.post(
        "/webhooks/sentry", content=bad, headers=sentry_headers("issue", bad, secret="not-the-secret")
    )
    assert rejected.status_code == 401

    queued = scrape(client)
    assert queued[("triagebot_webhooks_total", (("result", "opened"), ("source", "sentry")))] == 1.0
    assert queued[("triagebot_webhooks_total", (("result", "bad_signature"), ("source", "sentry")))] == 1.0
    depth = queued[("triagebot_outbox_depth", ())]
    assert depth >= 1.0
    assert queued[("triagebot_outbox_oldest_age_seconds", ())] >= 0.0

    services.outbox.drain()
    delivered = scrape(client)
    assert delivered[("triagebot_outbox_depth", ())] == 0.0
    assert delivered[("triagebot_outbox_oldest_age_seconds", ())] == 0.0
    done = {
        dict(labels)["kind"]: value
        for (name, labels), value in delivered.items()
        if name == "triagebot_outbox_deliveries_total" and dict(labels)["result"] == "done"
    }
    assert done["slack.post_root"] == 1.0
    assert sum(done.values()) == depth
    assert len(fake_slack.of("chat.postMessage")) == 1


def test_metrics_count_failed_deliveries_by_result(
    client: TestClient, services: Services, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("chat.postMessage", 500)
    post_issue(client)
    services.outbox.drain()
    samples = scrape(client)
    key = ("triagebot_outbox_deliveries_total", (("kind", "slack.post_root"), ("result", "retry")))
    assert samples[key] == 1.0
    assert samples[("triagebot_outbox_depth", ())] == 1.0
    assert fake_slack.of("chat.postMessage") == []
