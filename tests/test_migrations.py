"""The Alembic migrations build exactly the schema the models declare, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from tests.conftest import create_pg_database
from triagebot.db import make_engine, migrate
from triagebot.tables import metadata


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migrations_match_models(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'm.db'}", None
    else:
        url, drop = create_pg_database()
    try:
        migrate(url)
        migrate(url)  # a second run is a no-op
        engine = make_engine(url)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        engine.dispose()
        assert diff == [], "models changed without a migration: regenerate (see README, Development)"
    finally:
        if drop:
            drop()


@pytest.mark.postgres
def test_large_intake_columns_compress_with_lz4_where_the_server_can() -> None:
    url, drop = create_pg_database()
    try:
        migrate(url)
        engine = make_engine(url)
        with engine.connect() as conn:
            available = conn.execute(
                text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
            ).scalar()
            methods = dict(
                conn.execute(
                    text(
                        "SELECT attrelid::regclass::text || '.' || attname, attcompression FROM pg_attribute"
                        " WHERE (attrelid, attname) IN (('issues'::regclass, 'latest_event'),"
                        " ('deliveries'::regclass, 'body'))"
                    )
                ).all()
            )
        engine.dispose()
        expected = "l" if available and "lz4" in available else ""
        assert methods == {"issues.latest_event": expected, "deliveries.body": expected}
    finally:
        drop()
