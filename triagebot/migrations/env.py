"""Alembic environment: our SQLModel metadata, the URL from the caller's config."""

from __future__ import annotations

from alembic import context

from triagebot.db import make_engine
from triagebot.tables import metadata

target_metadata = metadata
config = context.config


def run_migrations() -> None:
    """Run migrations online against the configured database."""
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
