"""owed turns recoverable from SQL: a recovery count, and an index for the sweeper's scans

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(
            sa.Column("turn_recoveries", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_index(
        "ix_sessions_status_awaiting_activity",
        "sessions",
        ["status", "awaiting", "last_activity_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_sessions_status_awaiting_activity", table_name="sessions")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("turn_recoveries")
