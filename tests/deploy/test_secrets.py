"""Secrets never reach Sentry events, logs, Settings' repr or the dashboard."""

from __future__ import annotations

import gzip
import json
import logging
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sentry_sdk
from fastapi.testclient import TestClient

from tests.conftest import FIXTURES, make_settings
from tests.support.fake_slack import FakeSlack
from tests.support.httpserver import LocalServer, Reply
from tests.support.signing import compact, sentry_headers, slack_headers
from triagebot.app import create_app
from triagebot.bootstrap import build_services
from triagebot.observability import setup_sentry
from triagebot.settings import Settings

PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
    "-----END RSA PRIVATE KEY-----\n"
)

SECRETS: dict[str, str] = {
    "sentry_client_secret": "c7e1f0aa5b2d4e6f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f",
    "sentry_legacy_token": "legacy-Zq8v3LmN0pR7sT2uW5xY",
    "sentry_api_token": "sntrys_eyJpYXQiOjE3MDAwMDAwMDB9_k3yQ9wErTy",
    "slack_bot_token": "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUv",
    "slack_signing_secret": "8f742231b10e8888abcd99yyyzzz85a5",
    "github_token": "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
    "github_app_private_key": PEM,
    "github_webhook_secret": "gh-whsec-Yt6Rf5Ed4Ws3Qa2",
    "gate_token": "gate-Hn7Bg6Vf5Cd4Xs3Za2",
    "gate_setup_secret": "setup-Mj8Nh7Bg6Vf5Cd4X",
    "dashboard_token": "dash-Pl0Ok9Ij8Uh7Yg6Tf5",
}


def needles() -> list[str]:
    """Every secret, each line of a multi-line one, and their JSON-escaped forms."""
    found: set[str] = set()
    for value in SECRETS.values():
        for part in [value, *value.splitlines()]:
            if len(part) >= 12 and not part.startswith("-----"):
                found.update({part, json.dumps(part)[1:-1]})
    return sorted(found)


def assert_clean(text: str, where: str) -> None:
    leaked = [needle for needle in needles() if needle in text]
    assert not leaked, f"{where} shows secrets: {leaked}"


class FakeIngest:
    """Sentry's envelope endpoint on an ephemeral port; keeps each envelope, decompressed."""

    def __init__(self) -> None:
        self.envelopes: list[str] = []
        self.lock = threading.Lock()
        self.server = LocalServer(self._route)

    @property
    def dsn(self) -> str:
        return f"http://publickey@{self.server.url.removeprefix('http://')}/1"

    def _route(self, method: str, path: str, body: Any, headers: dict[str, str]) -> Reply:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        encoding = headers.get("content-encoding", "")
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding == "deflate":
            raw = zlib.decompress(raw)
        elif encoding == "br":
            import brotli  # type: ignore[import-not-found]

            raw = brotli.decompress(raw)
        with self.lock:
            self.envelopes.append(raw.decode("utf-8", "replace"))
        return 200, {}, {"id": "0" * 32}

    def text(self) -> str:
        with self.lock:
            return "\n".join(self.envelopes)


@pytest.fixture
def ingest() -> Iterator[FakeIngest]:
    fake = FakeIngest()
    yield fake
    # Leave no live client behind for other tests: an empty DSN disables the SDK.
    sentry_sdk.get_client().close(timeout=2)
    sentry_sdk.init(dsn="")
    fake.server.stop()


def secret_settings(tmp_path: Path, url: str, **overrides: Any) -> Settings:
    return make_settings(url, tmp_path, **{**SECRETS, **overrides})


def refuse_with(credentials: str, key: str) -> None:
    """Fail like a careless adapter: the secret in locals under harmless names and in the message."""
    header_value = f"Bearer {credentials}"
    pem = key
    raise RuntimeError(f"remote refused {header_value} (key {pem.splitlines()[1]})")


def test_sentry_events_carry_no_secret(ingest: FakeIngest, tmp_path: Path, sqlite_url: str) -> None:
    settings = secret_settings(tmp_path, sqlite_url, sentry_dsn=ingest.dsn)
    assert setup_sentry(settings)
    log = logging.getLogger("triagebot.test_secrets")
    log.info("calling Slack with %s", SECRETS["slack_bot_token"])  # becomes a breadcrumb
    log.error("GitHub key line %s rejected", PEM.splitlines()[2])  # becomes an event of its own
    try:
        refuse_with(SECRETS["github_token"], SECRETS["github_app_private_key"])
    except RuntimeError as exc:
        legacy_url = f"/webhooks/sentry/legacy/{SECRETS['sentry_legacy_token']}"
        sentry_sdk.set_context("call", {"url": legacy_url})
        sentry_sdk.set_tag("gate", SECRETS["gate_token"])
        assert sentry_sdk.capture_exception(exc) is not None
    sentry_sdk.flush(timeout=10)
    text = ingest.text()
    assert "remote refused" in text and "RuntimeError" in text  # the error itself still arrives
    assert "rejected" in text
    assert "refuse_with" in text  # with its stack frame
    assert "[Filtered]" in text  # the values were there, and were replaced
    assert_clean(text, "the Sentry envelope")


def test_logs_carry_no_secret_across_rejected_webhooks_and_failed_deliveries(
    tmp_path: Path, database_url: str, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    settings = secret_settings(tmp_path, database_url, slack_api_url=fake_slack.base_url)
    services = build_services(settings)
    caplog.set_level(logging.DEBUG)
    try:
        with TestClient(create_app(services)) as client:
            body = compact(json.loads((FIXTURES / "sentry" / "issue.created.json").read_text()))
            forged = sentry_headers("issue", body, secret="guess")
            assert client.post("/webhooks/sentry", content=body, headers=forged).status_code == 401
            wrong = client.post("/webhooks/sentry/legacy/not-the-token", content=b"{}")
            assert wrong.status_code == 401
            slack_body = b"command=%2Ftriage&text=help"
            assert (
                client.post(
                    "/slack/events", content=slack_body, headers=slack_headers(slack_body, secret="guess")
                ).status_code
                == 401
            )
            signed = sentry_headers("issue", body, secret=SECRETS["sentry_client_secret"])
            assert client.post("/webhooks/sentry", content=body, headers=signed).status_code == 202
            fake_slack.fail("chat.postMessage", 500, error="invalid_auth")
            services.outbox.drain()
    finally:
        services.engine.dispose()
    assert any("outbox" in record.getMessage() for record in caplog.records)  # the failures were logged
    assert_clean(caplog.text, "the log")
    for record in caplog.records:
        assert_clean(repr(record.args) + str(record.exc_text), f"log record {record.name}")


def test_settings_repr_and_dump_hide_secret_values(tmp_path: Path, sqlite_url: str) -> None:
    settings = secret_settings(tmp_path, sqlite_url, sentry_dsn="https://publickey@o1.ingest.sentry.io/1")
    for shown in (repr(settings), str(settings), settings.model_dump_json(), str(settings.model_dump())):
        assert_clean(shown, "Settings")
        assert "publickey" not in shown


def test_dashboard_pages_show_no_secret(tmp_path: Path, sqlite_url: str) -> None:
    services = build_services(secret_settings(tmp_path, sqlite_url))
    try:
        with TestClient(create_app(services)) as client:
            body = compact(json.loads((FIXTURES / "sentry" / "issue.created.json").read_text()))
            signed = sentry_headers("issue", body, secret=SECRETS["sentry_client_secret"])
            issue = client.post("/webhooks/sentry", content=body, headers=signed).json()["issue"]
            login = client.post("/login", data={"token": SECRETS["dashboard_token"]}, follow_redirects=False)
            assert login.status_code == 303
            for page in ("/", f"/issues/{issue}", "/tests", "/gates", "/flags", "/login"):
                response = client.get(page)
                assert response.status_code == 200, page
                assert_clean(response.text, page)
                assert_clean(str(response.headers), f"{page} headers")
    finally:
        services.engine.dispose()
