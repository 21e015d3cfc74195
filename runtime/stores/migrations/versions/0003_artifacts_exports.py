"""artifacts and exports

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import runtime.stores.schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "artifacts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("blob_key", sa.String(length=500), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("created_at", runtime.stores.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_artifacts_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artifacts")),
        sa.UniqueConstraint("session_id", "kind", name="uq_artifacts_session_kind"),
    )
    op.create_table(
        "exports",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("interview_id", sa.String(length=40), nullable=True),
        sa.Column("options", Json, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("sessions_total", sa.Integer(), nullable=True),
        sa.Column("sessions_done", sa.Integer(), nullable=False),
        sa.Column("audio_files", sa.Integer(), nullable=False),
        sa.Column("audio_missing", sa.Integer(), nullable=False),
        sa.Column("blob_key", sa.String(length=500), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", runtime.stores.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", runtime.stores.schema.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["interview_id"], ["interviews.id"], name=op.f("fk_exports_interview_id_interviews")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_exports_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exports")),
    )
    op.create_index("ix_exports_workspace_created", "exports", ["workspace_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_exports_workspace_created", table_name="exports")
    op.drop_table("exports")
    op.drop_table("artifacts")
