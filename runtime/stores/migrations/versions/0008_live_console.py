"""live console: steering_instructions, session_notes

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import runtime.stores.schema

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_AT = runtime.stores.schema.UTCDateTime


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=op.f(f"fk_{table}_{column}_{referred}"))


def upgrade() -> None:
    op.create_table(
        "steering_instructions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("interview_id", sa.String(length=40), nullable=False),
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("instruction", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", _AT(), nullable=False),
        sa.Column("applied_at", _AT(), nullable=True),
        sa.Column("applied_turn_id", sa.String(length=40), nullable=True),
        _fk("steering_instructions", "workspace_id", "workspaces.id"),
        _fk("steering_instructions", "interview_id", "interviews.id"),
        _fk("steering_instructions", "session_id", "sessions.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steering_instructions")),
        sa.UniqueConstraint("session_id", "seq", name="uq_steering_instructions_session_seq"),
    )
    op.create_index(
        "ix_steering_instructions_session_status",
        "steering_instructions",
        ["session_id", "status", "seq"],
    )
    op.create_table(
        "session_notes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("interview_id", sa.String(length=40), nullable=False),
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", _AT(), nullable=False),
        sa.Column("updated_at", _AT(), nullable=False),
        _fk("session_notes", "workspace_id", "workspaces.id"),
        _fk("session_notes", "interview_id", "interviews.id"),
        _fk("session_notes", "session_id", "sessions.id"),
        _fk("session_notes", "message_id", "messages.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_notes")),
    )
    op.create_index(
        "ix_session_notes_session_created", "session_notes", ["session_id", "created_at", "id"]
    )
    op.create_index(
        "ix_session_notes_interview_created",
        "session_notes",
        ["interview_id", "created_at", "id"],
    )


def downgrade() -> None:
    op.drop_table("session_notes")
    op.drop_table("steering_instructions")
