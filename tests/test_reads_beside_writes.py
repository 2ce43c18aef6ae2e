"""Pages, APIs and /metrics only read: they answer while a write transaction is open (SQLite's single
writer included), instead of queueing behind webhook intake."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from triagebot.bootstrap import Services
from triagebot.db import transaction

# The write is held until the read has answered (or this long, when reads wrongly wait for it): the
# check is on order, answered before the write ended, so a slow machine cannot fail it.
HOLD_SECONDS = 120.0
# The lock these pages must not wait for is SQLite's single writer: PostgreSQL readers never wait on
# writers, so the same checks there could not fail.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def open_write(services: Services) -> Iterator[threading.Event]:
    """Hold a write transaction open in another thread; yield an event set once it has ended."""
    holding, release, ended = threading.Event(), threading.Event(), threading.Event()

    def writer() -> None:
        with transaction(services.sessions):
            holding.set()
            release.wait(HOLD_SECONDS)
        ended.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert holding.wait(HOLD_SECONDS)
    yield ended
    release.set()
    thread.join()


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/metrics", {}),
        ("/api/flags", {"Authorization": "Bearer gate-token-for-tests"}),
        ("/", {}),
        ("/tests", {}),
        ("/gates", {}),
        ("/flags", {}),
    ],
)
def test_reads_answer_while_a_write_is_open(
    client: TestClient, open_write: threading.Event, path: str, headers: dict[str, str]
) -> None:
    if not headers:
        assert client.post("/login", data={"token": "dashboard-token-for-tests"}).status_code == 200
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    assert not open_write.is_set()  # answered before the write ended, not after it
