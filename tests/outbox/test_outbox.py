"""The outbox on both backends: order per key, coalescing, dead rows, lanes and the slow-work thread."""

from __future__ import annotations

import threading

from sqlmodel import col, select

from triagebot.db import make_engine, session_factory, transaction
from triagebot.errors import PermanentFailure
from triagebot.outbox.models import DEAD, DONE, OutboxMessage
from triagebot.outbox.store import claim, enqueue
from triagebot.outbox.worker import Outbox


def make_outbox(url: str) -> Outbox:
    return Outbox(session_factory(make_engine(url)), poll_seconds=0.1)


def test_rows_of_one_key_go_in_order_and_others_overtake(database_url: str) -> None:
    outbox = make_outbox(database_url)
    with transaction(outbox.sessions) as session:
        for n in range(3):
            enqueue(session, "k", {"n": n}, ordering_key="issue:1")
        enqueue(session, "k", {"n": 9}, ordering_key="issue:2")
    first = claim(outbox.sessions, "w1")
    assert [m.payload["n"] for m in first] == [0, 9]  # only the head of each key is claimable
    assert claim(outbox.sessions, "w2") == []  # claimed rows are leased, later ones wait behind them


def test_coalescing_key_is_released_when_claimed(database_url: str) -> None:
    outbox = make_outbox(database_url)
    with transaction(outbox.sessions) as session:
        assert enqueue(session, "edit", {}, dedupe_key="~edit:1") is True
        assert enqueue(session, "edit", {}, dedupe_key="~edit:1") is False
        assert enqueue(session, "post", {}, dedupe_key="root:1") is True
    claim(outbox.sessions, "w")
    with transaction(outbox.sessions) as session:
        assert enqueue(session, "edit", {}, dedupe_key="~edit:1") is True  # a change after the claim
        assert enqueue(session, "post", {}, dedupe_key="root:1") is False  # permanent keys stay


def test_permanent_failure_buries_the_row_and_unblocks_its_key(database_url: str) -> None:
    outbox = make_outbox(database_url)
    seen: list[int] = []

    def handler(message: OutboxMessage) -> None:
        if message.payload["n"] == 0:
            raise PermanentFailure("channel_not_found")
        seen.append(message.payload["n"])

    outbox.register("k", handler)
    with transaction(outbox.sessions) as session:
        enqueue(session, "k", {"n": 0}, ordering_key="a")
        enqueue(session, "k", {"n": 1}, ordering_key="a")
    outbox.drain()
    assert seen == [1]
    with outbox.sessions() as session:
        statuses = [
            row.status for row in session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars()
        ]  # type: ignore[arg-type]
    assert statuses == [DEAD, DONE]


def test_lane_spaces_calls_and_keeps_waiting_rows_unclaimed(database_url: str) -> None:
    outbox = make_outbox(database_url)
    outbox.lane_intervals = {"slack": 60.0}
    calls: list[int] = []
    outbox.register("k", lambda message: calls.append(message.payload["n"]))
    with transaction(outbox.sessions) as session:
        for n in range(3):
            enqueue(session, "k", {"n": n}, ordering_key=f"issue:{n}", lane="slack:C1")
    outbox.drain()
    assert calls == [0]  # one call, then the lane is closed for a minute
    assert claim(outbox.sessions, "other") == []  # nobody claims rows of a closed lane


def test_a_slow_gate_does_not_hold_back_quick_deliveries(database_url: str) -> None:
    outbox = make_outbox(database_url)
    release = threading.Event()
    quick_done = threading.Event()
    outbox.register("gate.run", lambda message: release.wait(30), slow=True)
    outbox.register("slack.reply", lambda message: quick_done.set())
    with transaction(outbox.sessions) as session:
        enqueue(session, "gate.run", {})
        enqueue(session, "slack.reply", {})
    outbox.start()
    try:
        assert quick_done.wait(20), "the reply waited behind the gate"
        gate_row = select(OutboxMessage).where(col(OutboxMessage.kind) == "gate.run")
        with outbox.sessions() as session:
            gate = session.execute(gate_row).scalar_one()
        assert gate.status != DONE  # the reply went out while the gate was still running
    finally:
        release.set()
        outbox.stop()  # joins both delivery threads, so both rows are settled
    with outbox.sessions() as session:
        rows = list(session.execute(select(OutboxMessage.status)).scalars())  # type: ignore[call-overload]
    assert rows == [DONE, DONE]
