"""Engine, sessions, portable upserts and Alembic migrations (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, SQLModel

from triagebot import fast_json
from triagebot.clock import utcnow as utcnow  # re-exported: callers take the clock with the session helpers

MIGRATIONS = Path(__file__).parent / "migrations"

SessionFactory = sessionmaker[Session]


def make_engine(url: str) -> Engine:
    """Create an engine tuned for the backend: WAL and a busy timeout on SQLite, pre-ping on PostgreSQL."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgres://"):  # Fly and Heroku hand out this older scheme
        url = "postgresql+psycopg://" + url.removeprefix("postgres://")
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, json_serializer=fast_json.dumps
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite's own transaction handling defers BEGIN; we issue it ourselves (below) so
            # that a claim's read and write happen under one lock.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # IMMEDIATE takes the write lock up front: concurrent writers queue on busy_timeout
            # instead of failing with "database is locked" when a reader upgrades to a writer.
            # Sessions opened with `reading()` only read, and WAL lets them run beside the writer.
            readonly = conn.get_execution_options().get("triagebot_readonly")
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        _SQLITE_WRITERS[engine] = threading.Lock()
        return engine
    # pre_ping costs a round trip per checkout, but without it the first webhook after a database
    # restart would fail on a dead pooled connection, and Sentry does not retry.
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, json_serializer=fast_json.dumps
    )


def session_factory(engine: Engine) -> SessionFactory:
    """Return a factory of sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, class_=Session, expire_on_commit=False)


# SQLite has one writer at a time. Threads of one process queue on a lock instead of in SQLite's
# busy handler, whose sleeps (up to 100 ms each) wreck latency under concurrent webhooks.
_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


@contextmanager
def transaction(sessions: SessionFactory) -> Iterator[Session]:
    """Open a session, commit when the block succeeds, roll back when it raises."""
    engine = sessions.kw.get("bind")
    lock = _SQLITE_WRITERS.get(engine) if isinstance(engine, Engine) else None
    with lock or nullcontext(), sessions() as session, session.begin():
        yield session


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """Open a connection in a write transaction, commit when the block succeeds (no ORM session: for
    the Core statements of hot paths). On SQLite it waits its turn on the same lock as `transaction`."""
    with _SQLITE_WRITERS.get(engine) or nullcontext(), engine.begin() as conn:
        yield conn


@contextmanager
def reading(sessions: SessionFactory) -> Iterator[Session]:
    """Open a session for reads only: on SQLite it neither takes nor waits for the write lock."""
    with sessions() as session:
        session.connection(execution_options={"triagebot_readonly": True})
        yield session


def is_postgres(session_or_engine: Session | Engine | Connection) -> bool:
    """Say whether we are talking to PostgreSQL."""
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"


def insert_ignore(
    session: Session, model: type[SQLModel], values: dict[str, Any], conflict: Iterable[str]
) -> bool:
    """Insert a row unless one with the same `conflict` columns exists; return True when inserted."""
    dialect = "postgresql" if is_postgres(session) else "sqlite"
    # The values travel as parameters, not in the statement, so SQLAlchemy compiles it once and
    # reuses it (literal values would make every call a new statement to coerce, key and compile).
    stmt = _insert_ignore_statement(model, tuple(conflict), dialect)
    return session.execute(stmt, values).first() is not None


@functools.cache
def _insert_ignore_statement(model: type[SQLModel], conflict: tuple[str, ...], dialect: str) -> Any:
    """Build the INSERT ... ON CONFLICT DO NOTHING RETURNING statement for a table, once."""
    table = model.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).on_conflict_do_nothing(index_elements=list(conflict))
    # RETURNING yields a row only when the insert happened; rowcount is unreliable with it on psycopg.
    return stmt.returning(table.c[conflict[0]])


def affected(result: Any) -> int:
    """Return how many rows an INSERT/UPDATE/DELETE touched (a CursorResult's rowcount)."""
    return int(getattr(result, "rowcount", 0) or 0)


def alembic_config(url: str) -> Any:
    """Build an Alembic config pointing at our migrations and the given database."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the database schema up to the newest migration."""
    from alembic import command

    command.upgrade(alembic_config(url), "head")
