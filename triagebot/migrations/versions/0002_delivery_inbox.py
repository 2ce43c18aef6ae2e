"""Sentry deliveries become the intake queue: processed_at, and an index to find the waiting ones.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 09:40:00

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Add deliveries.processed_at; deliveries stored before this were processed when they arrived."""
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("processed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.create_index("ix_deliveries_waiting", ["processed_at", "id"], unique=False)
    op.execute("UPDATE deliveries SET processed_at = received_at WHERE processed_at IS NULL")


def downgrade() -> None:
    """Drop the intake queue's column and index."""
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_waiting")
        batch_op.drop_column("processed_at")
