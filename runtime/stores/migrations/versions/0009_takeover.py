"""takeover: messages.author (interviewer turns stored before it: ai), sessions.taken_over_by
and taken_over_at

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import runtime.stores.schema

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_AT = runtime.stores.schema.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("author", sa.String(length=20), nullable=True))
    op.execute("UPDATE messages SET author = 'ai' WHERE role = 'interviewer'")
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("taken_over_by", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("taken_over_at", _AT(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("taken_over_at")
        batch.drop_column("taken_over_by")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("author")
