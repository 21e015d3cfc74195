"""voice mode's interview settings: modes, voice, speaking_rate, eagerness,
idle_reprompt_seconds, record_session (existing interviews: text only, the defaults)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
COLUMNS = (
    "modes",
    "voice",
    "speaking_rate",
    "eagerness",
    "idle_reprompt_seconds",
    "record_session",
)


def upgrade() -> None:
    with op.batch_alter_table("interviews") as batch:
        batch.add_column(sa.Column("modes", _JSON, nullable=False, server_default='["text"]'))
        batch.add_column(sa.Column("voice", sa.String(length=100), nullable=True))
        batch.add_column(
            sa.Column("speaking_rate", sa.Float(), nullable=False, server_default="1.0")
        )
        batch.add_column(
            sa.Column("eagerness", sa.String(length=20), nullable=False, server_default="normal")
        )
        batch.add_column(
            sa.Column("idle_reprompt_seconds", sa.Integer(), nullable=True, server_default="15")
        )
        batch.add_column(
            sa.Column("record_session", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("interviews") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
