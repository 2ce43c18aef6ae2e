"""How the runner enters the preview (in-memory browser): flags, headers, could-not-run, scrubbing."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gates.helpers import make_spec
from tests.gates.test_runner import BASE, FakeBrowser, FakePage
from triagebot.drafts.config import parse_preview_config
from triagebot.gates.runner import GateOptions, run_gate
from triagebot.integrations.ports import BrowserActionError
from triagebot.integrations.reachability import probe_origin
from triagebot.settings import Settings

FLAGS = [
    {"key": "new-basket", "value": True},
    {"key": "tier", "value": "gold"},
    {"key": "unset", "value": None},
]


def options(settings: Settings, config: str) -> GateOptions:
    return GateOptions.from_settings(settings, retries=0, preview=parse_preview_config(config))


@pytest.mark.parametrize(
    ("recipe", "where"),
    [
        ('cookie: "flag_{name}"', "cookies"),
        ('local_storage: "flags.{name}"', "local_storage"),
        ('header: "X-Flag-{name}"', "headers"),
    ],
)
def test_flags_go_where_the_recipe_says_as_the_event_recorded_them(
    settings: Settings, recipe: str, where: str
) -> None:
    browser = FakeBrowser()
    spec = make_spec("f", flags=FLAGS)
    gate = run_gate(
        [spec],
        base_url=BASE,
        settings=settings,
        options=options(settings, f"preview:\n  flags: {{{recipe}}}\n"),
        launcher=browser,
    )
    assert gate.verdict == "passed"
    [state] = browser.states
    assert state is not None
    carried = dict(getattr(state, where))
    name = recipe.split('"')[1]
    assert carried == {name.replace("{name}", "new-basket"): "true", name.replace("{name}", "tier"): "gold"}


def test_query_flags_ride_on_every_page_opened(settings: Settings) -> None:
    browser = FakeBrowser()
    spec = make_spec("q", start="/shop?x=1#top", flags=FLAGS, steps=[{"action": "goto", "path": "/next"}])
    run_gate(
        [spec],
        base_url=BASE,
        settings=settings,
        options=options(settings, "preview:\n  flags: {query: 'ff_{name}'}\n"),
        launcher=browser,
    )
    gotos = [arg for action, arg in browser.log if action == "goto"]
    assert gotos == [
        f"{BASE}/shop?x=1&ff_new-basket=true&ff_tier=gold#top",
        f"{BASE}/next?ff_new-basket=true&ff_tier=gold",
    ]


def test_a_flag_name_that_cannot_be_a_header_is_could_not_run(settings: Settings) -> None:
    browser = FakeBrowser()
    spec = make_spec("h", flags=[{"key": "bad\r\nX-Injected: 1", "value": True}])
    gate = run_gate(
        [spec],
        base_url=BASE,
        settings=settings,
        options=options(settings, "preview:\n  flags: {header: 'X-{name}'}\n"),
        launcher=browser,
    )
    assert gate.verdict == "error" and browser.pages == 0
    assert "cannot be sent as the header" in (
        gate.results[0].failure.message if gate.results[0].failure else ""
    )


def test_an_unreachable_preview_runs_no_spec_and_says_why(settings: Settings) -> None:
    browser = FakeBrowser()
    browser.unreachable = "127.0.0.1:9 refused the connection"
    gate = run_gate([make_spec("a"), make_spec("b")], base_url=BASE, settings=settings, launcher=browser)
    assert gate.verdict == "error" and browser.pages == 0
    assert {r.status for r in gate.results} == {"error"}
    failure = gate.results[0].failure
    assert failure is not None and "is unreachable: 127.0.0.1:9 refused the connection" in failure.message


def test_header_values_are_sent_and_scrubbed_from_failures(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BYPASS", "s3cr3t-bypass-value")
    allowed = settings.model_copy(update={"preview_secrets": ["BYPASS"]})

    def echo_header(page: FakePage, action: str, arg: object) -> None:
        if action == "click":  # a page that prints the header it got, into an error message
            raise BrowserActionError("element not found; the page said s3cr3t-bypass-value")

    browser = FakeBrowser(echo_header)
    spec = make_spec(
        "s",
        kind="http",
        steps=[{"action": "request", "path": "/api"}],
    )
    clicky = make_spec("c", steps=[{"action": "click", "locator": {"strategy": "testid", "value": "x"}}])
    gate = run_gate(
        [spec, clicky],
        base_url=BASE,
        settings=allowed,
        options=options(allowed, "preview:\n  headers: {x-bypass: BYPASS}\n"),
        launcher=browser,
    )
    assert browser.fetches[0][2]["x-bypass"] == "s3cr3t-bypass-value"  # sent to the preview
    failure = {r.spec_id: r for r in gate.results}["c"].failure
    assert failure is not None and "s3cr3t" not in failure.message and "[redacted]" in failure.message
    assert "s3cr3t" not in gate.model_dump_json()


def test_an_unset_header_variable_is_could_not_run(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BYPASS", raising=False)
    allowed = settings.model_copy(update={"preview_secrets": ["BYPASS"]})
    browser = FakeBrowser()
    gate = run_gate(
        [make_spec("a")],
        base_url=BASE,
        settings=allowed,
        options=options(allowed, "preview:\n  headers: {x-bypass: BYPASS}\n"),
        launcher=browser,
    )
    assert gate.verdict == "error" and browser.pages == 0
    failure = gate.results[0].failure
    assert (
        failure is not None
        and failure.message == "could not run: BYPASS is not set in the gate's environment"
    )


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[int]:
    """A TLS server on 127.0.0.1 with a self-signed certificate no browser trusts."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            with client, contextlib.suppress(OSError):
                client.settimeout(2)
                context.wrap_socket(client, server_side=True).close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_the_probe_names_a_bad_certificate(tls_server: int) -> None:
    problem = asyncio.run(probe_origin(f"https://127.0.0.1:{tls_server}", 5))
    assert problem is not None and "TLS certificate is not valid" in problem


def test_the_probe_names_a_refusal_and_passes_a_listening_server(tls_server: int) -> None:
    assert asyncio.run(probe_origin(f"http://127.0.0.1:{tls_server}", 5)) is None  # TCP answers
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    problem = asyncio.run(probe_origin(f"http://127.0.0.1:{free}", 5))
    assert problem == f"127.0.0.1:{free} refused the connection"
