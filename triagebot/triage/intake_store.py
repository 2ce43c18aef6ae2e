"""How an intake batch reads and writes its rows: Core statements, or two pipelined round trips on PostgreSQL.

A batch stores its deliveries and loads (and on PostgreSQL locks) the issues they name, then writes the
issues back with their outbox rows. On PostgreSQL each column of a batch travels as one array, so every
statement is the same whatever the batch size (PostgreSQL prepares it once), and each half of the batch
is one round trip in psycopg's pipeline mode instead of one per statement.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import psycopg
from sqlalchemy import JSON, Connection, Engine, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from triagebot import fast_json
from triagebot.outbox.store import Outgoing, enqueue_many, postgres_enqueue
from triagebot.triage.models import Delivery, Issue

# The columns an intake batch reads and writes back (`latest_event` is only written, when it changes).
STATE = (
    "id",
    "title",
    "short_id",
    "culprit",
    "level",
    "status",
    "substatus",
    "platform",
    "project_slug",
    "project_id",
    "environment",
    "release",
    "event_count",
    "events_seen",
    "user_count",
    "first_seen",
    "last_seen",
    "web_url",
    "assignee",
    "flags",
    "latest_event_id",
    "channel",
)
# What a batch writes back: the state but the key and the channel (fixed when the issue opened).
WRITTEN = tuple(name for name in STATE if name not in ("id", "channel"))
_ISSUES = Issue.__table__  # type: ignore[attr-defined]
_DELIVERIES = Delivery.__table__  # type: ignore[attr-defined]


class CoreStore:
    """A batch's reads and writes as Core statements run with many parameter sets (any dialect), in the
    caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.statements = _statements(conn.dialect.name)

    def deliver(self, deliveries: list[dict[str, Any]], ids: list[str]) -> tuple[set[str], dict[str, Any]]:
        """Insert the deliveries not stored yet and load the issues `ids`; return the new keys and issues."""
        stored = set(self.conn.execute(self.statements.deliveries, deliveries).scalars())
        return stored, self.load(ids)

    def load(self, ids: list[str]) -> dict[str, Any]:
        """Load (on PostgreSQL, lock) the issues `ids` that exist, by id."""
        rows = self.conn.execute(self.statements.load, {"ids": ids})
        return {row.id: _issue(dict(row._mapping)) for row in rows}

    def create(self, rows: list[dict[str, Any]]) -> set[str]:
        """Insert new issues unless another writer did meanwhile; return the ids inserted here."""
        return set(self.conn.execute(self.statements.new_issues, rows).scalars())

    def write(self, issues: list[Any], now: datetime, outgoing: Sequence[Outgoing]) -> None:
        """Write back the issues (`latest_event` only where `new_event`), then queue the outbox rows."""
        statements = ((True, self.statements.update_with_event), (False, self.statements.update))
        for with_event, statement in statements:
            rows = [_update_row(issue, now, with_event) for issue in issues if issue.new_event == with_event]
            if rows:
                self.conn.execute(statement, rows)
        enqueue_many(self.conn, outgoing)


class PostgresIntake:
    """The same reads and writes on PostgreSQL through psycopg's asyncio driver, on the event loop.

    Each batch is two round trips in pipeline mode (deliveries and issue reads; issue writes, outbox
    rows and the commit), so a batch costs the loop its own work and never a thread hand-off. The
    connection is opened on first use and kept; a broken one is dropped and the next batch opens anew.
    """

    def __init__(self, engine: Engine) -> None:
        # The engine's database, as a plain libpq URL (the engine's names SQLAlchemy's driver too).
        self.url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[_PostgresTransaction]:
        """A transaction committed with the last writes, rolled back when the block raises."""
        conn = await self._connection()
        try:
            yield _PostgresTransaction(conn)
            await conn.commit()  # a no-op when `write` committed already
        except BaseException:
            if conn.broken or conn.closed:
                self._conn = None
            else:
                await conn.rollback()
            raise

    async def close(self) -> None:
        """Close the connection, if one is open."""
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        loop = asyncio.get_running_loop()
        if self._conn is not None and (self._conn.closed or self._loop is not loop):
            self._conn = None  # a loop that is gone took its connection's waits with it (tests)
        if self._conn is None:
            self._conn = await psycopg.AsyncConnection.connect(self.url, connect_timeout=10)
            self._loop = loop
        return self._conn


class _PostgresTransaction:
    """One batch's statements on PostgreSQL; `write` sends the commit in the same round trip."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def deliver(
        self, deliveries: list[dict[str, Any]], ids: list[str]
    ) -> tuple[set[str], dict[str, Any]]:
        params = {name: [row[name] for row in deliveries] for name in ("key", "resource", "action", "body")}
        async with self.conn.pipeline():
            inserted = await self.conn.execute(_PG_DELIVER, {**params, "now": deliveries[0]["received_at"]})
            loaded = await self.conn.execute(_PG_LOAD, {"ids": ids})
        stored = {key for (key,) in await inserted.fetchall()}
        return stored, _issues(await loaded.fetchall())

    async def load(self, ids: list[str]) -> dict[str, Any]:
        return _issues(await (await self.conn.execute(_PG_LOAD, {"ids": ids})).fetchall())

    async def create(self, rows: list[dict[str, Any]]) -> set[str]:
        params = {name: [row[name] for row in rows] for name in ("id", "title", "channel")}
        inserted = await self.conn.execute(_PG_CREATE, {**params, "now": rows[0]["created_at"]})
        return {issue_id for (issue_id,) in await inserted.fetchall()}

    async def write(self, issues: list[Any], now: datetime, outgoing: Sequence[Outgoing]) -> None:
        params: dict[str, Any] = {
            name: [getattr(issue, name) for issue in issues] for name in ("id", *WRITTEN)
        }
        params["flags"] = [fast_json.dumps(flags) for flags in params["flags"]]
        params["latest_event"] = [
            fast_json.dumps(issue.latest_event) if issue.new_event else None for issue in issues
        ]
        async with self.conn.pipeline():
            if issues:
                await self.conn.execute(_PG_UPDATE, {**params, "now": now})
            if outgoing:
                await self.conn.execute(*postgres_enqueue(outgoing))
            await self.conn.commit()


def _issues(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    return {row[0]: _issue(dict(zip(STATE, row, strict=True))) for row in rows}


def _issue(state: Mapping[str, Any]) -> SimpleNamespace:
    """An issue as a batch works on it: its stored state, and whether the batch brought a new event."""
    return SimpleNamespace(**state, new_event=False)


def _update_row(issue: Any, now: datetime, with_event: bool) -> dict[str, Any]:
    row = {f"b_{name}": getattr(issue, name) for name in ("id", *WRITTEN)}
    row["b_updated_at"] = now
    if with_event:
        row["b_latest_event"] = issue.latest_event
    return row


@dataclass(frozen=True)
class _Statements:
    deliveries: Any
    new_issues: Any
    load: Any
    update: Any
    update_with_event: Any


@functools.cache
def _statements(dialect: str) -> _Statements:
    """Build the batch's Core statements once per dialect, with bound parameters, so they compile once."""
    postgres = dialect == "postgresql"
    insert = postgresql.insert if postgres else sqlite.insert
    load = select(*(_ISSUES.c[name] for name in STATE)).where(
        _ISSUES.c.id.in_(bindparam("ids", expanding=True))
    )
    if postgres:
        load = load.order_by(_ISSUES.c.id).with_for_update()  # concurrent reports apply one at a time
    written = [*WRITTEN, "updated_at"]
    update_issue = update(_ISSUES).where(_ISSUES.c.id == bindparam("b_id"))
    return _Statements(
        deliveries=insert(_DELIVERIES)
        .values(
            source="sentry",
            key=bindparam("key"),
            resource=bindparam("resource"),
            action=bindparam("action"),
            outcome=bindparam("outcome", "accepted"),
            body=bindparam("body"),
            received_at=bindparam("received_at"),
        )
        .on_conflict_do_nothing(index_elements=["source", "key"])
        .returning(_DELIVERIES.c.key),
        new_issues=insert(_ISSUES).on_conflict_do_nothing(index_elements=["id"]).returning(_ISSUES.c.id),
        load=load,
        update=update_issue.values({name: bindparam(f"b_{name}") for name in written}),
        update_with_event=update_issue.values(
            {name: bindparam(f"b_{name}") for name in [*written, "latest_event"]}
        ),
    )


def _array_element(name: str) -> str:
    """The type of an issue column's array: JSON travels as text; no length, so a value too long for
    its column fails where it lands, as on the Core path."""
    column_type = _ISSUES.c[name].type
    return (
        "text"
        if isinstance(column_type, JSON)
        else re.sub(r"\(\d+\)", "", column_type.compile(postgresql.dialect()))
    )


def _pg_update() -> str:
    """UPDATE every issue of a batch from one array per column (JSON travels as text, cast where it lands)."""
    columns = ("id", *WRITTEN)
    json_columns = {name for name in columns if isinstance(_ISSUES.c[name].type, JSON)}
    types = {name: _array_element(name) for name in columns}
    assignments = ", ".join(
        f"{name} = batch.{name}::json" if name in json_columns else f"{name} = batch.{name}"
        for name in WRITTEN
    )
    arrays = ", ".join(f"%({name})b::{types[name]}[]" for name in columns)
    return f"""
UPDATE issues SET {assignments},
    latest_event = COALESCE(batch.latest_event::json, issues.latest_event), updated_at = %(now)s
FROM unnest({arrays}, %(latest_event)b::text[]) AS batch ({", ".join(columns)}, latest_event)
WHERE issues.id = batch.id
"""


_PG_DELIVER = """
INSERT INTO deliveries (source, key, resource, action, outcome, body, received_at)
SELECT 'sentry', key, resource, action, 'accepted', body, %(now)s
FROM unnest(%(key)b::text[], %(resource)b::text[], %(action)b::text[], %(body)b::text[])
     AS batch (key, resource, action, body)
ORDER BY key
ON CONFLICT (source, key) DO NOTHING
RETURNING key
"""
# A new issue's row, with the model's defaults (tests/triage/test_batched_intake compares the two paths).
_PG_CREATE = """
INSERT INTO issues (id, title, channel, flags, status, event_count, events_seen, user_count, root_version,
                    created_at, updated_at)
SELECT id, title, channel, '[]', 'unresolved', 0, 0, 0, 0, %(now)s, %(now)s
FROM unnest(%(id)b::text[], %(title)b::text[], %(channel)b::text[])
     WITH ORDINALITY AS batch (id, title, channel, n)
ORDER BY n
ON CONFLICT (id) DO NOTHING
RETURNING id
"""
# Sorted ids lock rows in the same order in every batch, so two writers never deadlock.
_PG_LOAD = f"SELECT {', '.join(STATE)} FROM issues WHERE id = ANY(%(ids)b::text[]) ORDER BY id FOR UPDATE"
_PG_UPDATE = _pg_update()
