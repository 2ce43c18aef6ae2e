"""The sample app's bugs and setup endpoint, and the egress proxy's refusals, over real sockets."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.gates.conftest import SETUP_SECRET, Recorder
from triagebot.demo.sampleapp import SampleApp, serve_sample_app
from triagebot.gates.setup import signed_setup_request
from triagebot.integrations.egress_proxy import EgressProxy


def _post(url: str, body: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, data=body.encode(), headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize(("build", "status"), [("buggy", 500), ("fixed", 201)])
def test_orders_endpoint_per_build(build: str, status: int) -> None:
    with serve_sample_app(build) as app:  # type: ignore[arg-type]
        assert _post(f"{app.url}/api/orders", '{"items": ["mug", "tee"]}')[0] == status


def test_setup_endpoint_accepts_only_signed_fresh_calls(buggy_app: SampleApp) -> None:
    url = f"{buggy_app.url}/__triagebot/setup"
    body, headers = signed_setup_request(
        SETUP_SECRET, action="up", fixture="order", data={"id": "o9"}, run_id="r"
    )
    assert _post(url, body, headers) == (200, {"ok": True})
    assert buggy_app.state.orders == {"o9": {"id": "o9"}}

    forged = dict(headers, **{"X-Triagebot-Signature": "sha256=" + "0" * 64})
    assert _post(url, body, forged)[0] == 401
    stale_body, stale = signed_setup_request(
        SETUP_SECRET, action="down", fixture="order", data={}, run_id="r", now=time.time() - 3600
    )
    assert _post(url, stale_body, stale) == (401, {"error": "stale or mismatched timestamp"})
    assert buggy_app.state.orders == {"o9": {"id": "o9"}}  # neither call did anything

    down_body, down = signed_setup_request(SETUP_SECRET, action="down", fixture="order", data={}, run_id="r")
    assert _post(url, down_body, down)[0] == 200 and buggy_app.state.orders == {}


def test_sentry_event_describes_the_coupon_bug() -> None:
    event = json.loads((Path(__file__).parents[2] / "triagebot/demo/sampleapp/sentry_event.json").read_text())
    (exception,) = event["exception"]["values"]
    assert (exception["type"], exception["value"]) == (
        "TypeError",
        "Cannot read properties of undefined (reading 'discount')",
    )
    crumbs = event["breadcrumbs"]["values"]
    assert {"from": "/", "to": "/cart"} in [c.get("data") for c in crumbs if c["category"] == "navigation"]
    assert 'data-testid="apply-coupon"' in crumbs[-1]["message"] and crumbs[-1]["category"] == "ui.click"
    assert event["contexts"]["flags"]["values"][0] == {"flag": "coupons-v2", "result": True}


async def _raw(proxy_url: str, request: bytes) -> bytes:
    host, port = proxy_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)  # the proxy closes after one answer
    writer.close()
    return data


def test_egress_proxy_forwards_only_to_the_preview(fixed_app: SampleApp, outsider: Recorder) -> None:
    async def scenario() -> list[bytes]:
        proxy = EgressProxy(fixed_app.url)
        await proxy.start()
        try:
            other = outsider.url.removeprefix("http://")
            return [
                await _raw(proxy.url, f"GET {fixed_app.url}/healthz HTTP/1.1\r\nHost: x\r\n\r\n".encode()),
                await _raw(proxy.url, f"GET {outsider.url}/ HTTP/1.1\r\nHost: {other}\r\n\r\n".encode()),
                await _raw(proxy.url, f"CONNECT {other} HTTP/1.1\r\nHost: {other}\r\n\r\n".encode()),
                # A preview-looking Host header does not matter: the request line's target decides.
                await _raw(
                    proxy.url, f"GET {outsider.url}/ HTTP/1.1\r\nHost: {fixed_app.url[7:]}\r\n\r\n".encode()
                ),
            ]
        finally:
            await proxy.stop()

    allowed, plain, tunnel, spoofed = asyncio.run(scenario())
    assert allowed.startswith(b"HTTP/1.1 200") and b'"build": "fixed"' in allowed
    assert (
        plain.startswith(b"HTTP/1.1 403")
        and tunnel.startswith(b"HTTP/1.1 403")
        and spoofed.startswith(b"HTTP/1.1 403")
    )
    assert outsider.requests == []


def test_egress_proxy_answers_502_when_the_preview_is_unreachable() -> None:
    async def scenario() -> tuple[bytes, bytes]:
        unresolvable = EgressProxy("http://preview.invalid")
        closed_port = EgressProxy("http://127.0.0.1:9")  # discard port: nothing listens here
        for proxy in (unresolvable, closed_port):
            await proxy.start()
        try:
            return (
                await _raw(unresolvable.url, b"GET http://preview.invalid/ HTTP/1.1\r\nHost: x\r\n\r\n"),
                await _raw(closed_port.url, b"GET http://127.0.0.1:9/ HTTP/1.1\r\nHost: x\r\n\r\n"),
            )
        finally:
            for proxy in (unresolvable, closed_port):
                await proxy.stop()

    for answer in asyncio.run(scenario()):
        assert answer.startswith(b"HTTP/1.1 502 Bad Gateway")
        assert b"the preview is unreachable" in answer
