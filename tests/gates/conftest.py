"""Gate test fixtures: settings allowing only 127.0.0.1, the sample app, servers no gate may reach."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from triagebot.demo.sampleapp import SampleApp, serve_sample_app
from triagebot.integrations.chromium import find_chromium
from triagebot.settings import Settings

SETUP_SECRET = "gate-setup-secret-for-tests"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip browser tests, with the reason, where no Chromium is installed."""
    if find_chromium(None) is not None:
        return
    skip = pytest.mark.skip(reason="no Chromium installed (make chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def gate_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder with no TRIAGEBOT_* preview hosts and data under tmp_path."""
    monkeypatch.chdir(tmp_path)
    for name in ("TRIAGEBOT_PREVIEW_HOSTS", "TRIAGEBOT_GATE_SETUP_SECRET", "TRIAGEBOT_GATE_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRIAGEBOT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings that allow only 127.0.0.1 and keep evidence under tmp_path."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        preview_hosts=["127.0.0.1"],
        data_dir=tmp_path / "data",
        gate_concurrency=4,
        gate_step_timeout_ms=5_000,
        gate_spec_timeout_ms=30_000,
    )


@pytest.fixture
def buggy_app() -> Iterator[SampleApp]:
    with serve_sample_app("buggy", setup_secret=SETUP_SECRET) as app:
        yield app


@pytest.fixture
def fixed_app() -> Iterator[SampleApp]:
    with serve_sample_app("fixed", setup_secret=SETUP_SECRET) as app:
        yield app


class Recorder:
    """An HTTP server that answers everything and remembers every request line it ever got."""

    def __init__(self, host: str) -> None:
        self.requests: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                del format, args

            def _answer(self) -> None:
                recorder.requests.append(f"{self.command} {self.path}")
                body = b"<h1>outside</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_HEAD = do_OPTIONS = _answer

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def outsider() -> Iterator[Recorder]:
    """A server on another origin (127.0.0.2) that no gate may ever reach."""
    recorder = Recorder("127.0.0.2")
    yield recorder
    recorder.stop()
