"""The rollout record: POST /api/flags, /triage flag|flags|gate, refusals, overrides, the thread notice."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import col, select

from tests.support.fake_slack import FakeSlack
from triagebot.bootstrap import Services
from triagebot.db import transaction, utcnow
from triagebot.flags.models import FlagChange
from triagebot.gates.tables import GateRun
from triagebot.messages import ids
from triagebot.slackbot.command_registry import Invocation
from triagebot.slackbot.flag_actions import handle_rollback
from triagebot.slackbot.subcommands import dispatch
from triagebot.triage.models import Issue

AUTH = {"Authorization": "Bearer gate-token-for-tests"}
KEY = "new-checkout"


def post(client: TestClient, key: str = KEY, **body: Any) -> Any:
    return client.post(f"/api/flags/{key}", json={"actor": "deploy-bot", **body}, headers=AUTH)


def add_gate(services: Services, *, state: str, pr: int = 45, flags: list[str] | None = None) -> int:
    with transaction(services.sessions) as session:
        gate = GateRun(
            repo="acme/shop",
            sha=f"{pr:040d}",
            pr=pr,
            preview_url="http://127.0.0.1:1",
            trigger="api",
            state=state,
            flags=flags if flags is not None else [KEY],
        )
        session.add(gate)
        session.flush()
        assert gate.id is not None
        return gate.id


def add_issue(
    services: Services, issue_id: str, *, flags: list[list[Any]], status: str = "unresolved", **fields: Any
) -> None:
    with transaction(services.sessions) as session:
        session.add(
            Issue(
                id=issue_id,
                short_id=f"SHOP-{issue_id}",
                title="TypeError",
                status=status,
                first_seen=utcnow(),
                flags=flags,
                channel="C0TRIAGE",
                **fields,
            )
        )


def blocks_of(args: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = args["blocks"]
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


def root_ts(slack: FakeSlack) -> str:
    return "1700000000.000001"


def slash(services: Services, text: str) -> str:
    from triagebot.slackbot.command_registry import parse

    name, args, share = parse(text)
    answer = dispatch(Invocation(services=services, name=name, args=args, user_id="U0ALICE", share=share))
    return answer.text


def test_api_needs_the_bearer_token_and_names_bad_fields(client: TestClient) -> None:
    assert client.post(f"/api/flags/{KEY}", json={"percent": 5, "actor": "x"}).status_code == 401
    assert (
        client.post(
            f"/api/flags/{KEY}", json={"percent": 5, "actor": "x"}, headers={"Authorization": "Bearer no"}
        ).status_code
        == 401
    )
    missing = client.post(f"/api/flags/{KEY}", json={"percent": 5}, headers=AUTH)
    assert missing.status_code == 400 and missing.json()["detail"] == "actor: Field required"
    neither = post(client)
    assert neither.status_code == 400 and "give percent (0-100) or action" in neither.json()["detail"]
    assert post(client, percent=101).json()["detail"].startswith("percent:")


def test_stages_are_recorded_with_who_when_and_why(client: TestClient, services: Services) -> None:
    first = post(client, percent=10, reason="canary", pr=45).json()
    assert first["rollout"] | {"since": None} == {
        "key": KEY,
        "environment": "production",
        "percent": 10,
        "state": "rolling",
        "since": None,
        "updated_by": "deploy-bot",
        "pr": 45,
        "gate_id": None,
    }
    assert first["change"]["from_percent"] is None and first["change"]["reason"] == "canary"
    assert post(client, action="pause").json()["rollout"]["state"] == "paused"
    assert post(client, percent=100).json()["rollout"]["state"] == "complete"
    listing = client.get("/api/flags", headers=AUTH).json()["flags"]
    assert [(f["key"], f["percent"], f["state"]) for f in listing] == [(KEY, 100, "complete")]
    with transaction(services.sessions) as session:
        changes = session.exec(select(FlagChange).order_by(FlagChange.id)).all()  # type: ignore[arg-type]
        assert [(c.action, c.from_percent, c.to_percent, c.actor) for c in changes] == [
            ("set", None, 10, "deploy-bot"),
            ("pause", 10, 10, "deploy-bot"),
            ("set", 10, 100, "deploy-bot"),
        ]


def test_advancing_is_refused_while_the_latest_gate_touching_the_flag_fails(
    client: TestClient, services: Services
) -> None:
    post(client, percent=10)
    add_gate(services, state="passed", pr=44)
    failing = add_gate(services, state="failed", pr=45)
    add_gate(services, state="failed", pr=46, flags=["other-flag"])

    refused = post(client, percent=25)
    assert refused.status_code == 409
    assert refused.json()["reasons"] == [
        f"the latest gate of PR #45 in acme/shop (gate {failing}) is failing"
    ]
    assert post(client, percent=5).status_code == 200  # going down is never refused
    assert post(client, action="rollback").json()["rollout"]["state"] == "rolled_back"

    forced = post(client, percent=25, force="hotfix verified by hand").json()
    assert forced["change"]["override"] is True
    assert forced["change"]["reason"] == "hotfix verified by hand"
    assert forced["change"]["override_reason"] == refused.json()["reasons"][0]

    add_gate(services, state="passed", pr=45)  # the PR's newer gate passes: no longer blocked
    assert post(client, percent=50).status_code == 200


def test_new_issue_carrying_the_flag_during_its_stage_blocks_advancing(
    client: TestClient, services: Services
) -> None:
    post(client, percent=10)
    add_issue(services, "701", flags=[[KEY, True]])
    add_issue(services, "702", flags=[["unrelated", True]])
    refused = post(client, percent=25).json()
    assert refused["reasons"] == [
        f"SHOP-701 is unresolved, first seen during the 10% stage, and its event carries {KEY}"
    ]
    with transaction(services.sessions) as session:
        issue = session.get(Issue, "701")
        assert issue is not None
        issue.status = "resolved"
        session.add(issue)
    assert post(client, percent=25).status_code == 200


def test_slash_commands_refuse_force_and_list(services: Services) -> None:
    assert "Flag `new-checkout` in production: new → *10%* (rolling)." in slash(
        services, "flag new-checkout 10%"
    )
    gate_id = add_gate(services, state="failed")
    refused = slash(services, "flag new-checkout 50")
    assert refused.startswith(":no_entry: Not advancing `new-checkout` in production:")
    assert f"(gate {gate_id}) is failing" in refused and "`--force <why>`" in refused

    forced = slash(services, "flag new-checkout 50 --force customer demo <!channel> today")
    assert "Why: customer demo &lt;!channel&gt; today" in forced and ":warning: Override recorded" in forced
    with transaction(services.sessions) as session:
        change = session.exec(select(FlagChange).where(col(FlagChange.override))).one()
        assert (change.actor, change.source, change.to_percent) == ("slack:U0ALICE", "slack", 50)

    assert "new → *0%*" not in slash(services, "flag new-checkout rollback broke checkout")
    listing = slash(services, "flags")
    assert "• `new-checkout` 0% in production (rolled back) since <!date^" in listing
    assert "gate" in slash(services, "gate 45") and ": *failed*" in slash(services, "gate 45")
    assert "`abc` is not a percentage" in slash(services, "flag new-checkout abc")


def test_thread_of_an_issue_seen_with_a_partial_flag_offers_rollback(
    client: TestClient, services: Services, fake_slack: FakeSlack
) -> None:
    post(client, percent=25)
    add_issue(services, "801", flags=[[KEY, True], ["other", False]])
    with transaction(services.sessions) as session:
        from triagebot.outbox.store import enqueue
        from triagebot.triage.service import POST_ROOT

        enqueue(session, POST_ROOT, {"issue_id": "801"}, ordering_key="issue:801", lane="slack:C0TRIAGE")
    services.outbox.drain()

    [root] = [call.args for call in fake_slack.of("chat.postMessage")]
    notice = next(block for block in blocks_of(root) if block.get("block_id", "").startswith("n-"))
    assert notice["text"]["text"].startswith(
        f":triangular_flag_on_post: Flag `{KEY}` is at *25%* in production (rolling) since <!date^"
    )
    button = notice["accessory"]
    assert (button["action_id"], button["text"]["text"]) == (ids.ROLLBACK_FLAG, "Roll back flag")

    click = {"user": {"id": "U0BOB"}, "actions": [{"action_id": ids.ROLLBACK_FLAG, "value": button["value"]}]}
    assert handle_rollback(services, click) == "rolled_back"
    services.outbox.drain()

    reply = fake_slack.of("chat.postMessage")[-1].args
    assert reply["thread_ts"] == root_ts(fake_slack)
    assert reply["text"] == f":rewind: <@U0BOB> rolled back flag `{KEY}` in production to 0%."
    edited = fake_slack.of("chat.update")[-1].args
    assert not any(block.get("block_id", "").startswith("n-") for block in blocks_of(edited))
    with transaction(services.sessions) as session:
        change = session.exec(select(FlagChange).order_by(FlagChange.id.desc())).first()  # type: ignore[union-attr]
        assert change is not None and (change.action, change.actor, change.source) == (
            "rollback",
            "slack:U0BOB",
            "thread",
        )
        assert change.reason == "rolled back from the Slack thread of SHOP-801"
    assert handle_rollback(services, {"user": {"id": "U0BOB"}, "actions": [{"value": "junk"}]}) == "ignored"
