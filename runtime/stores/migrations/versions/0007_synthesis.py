"""synthesis: syntheses, session_analyses, session_readings, interview_graphs, findings, quotes

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import runtime.stores.schema

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_AT = runtime.stores.schema.UTCDateTime
TABLES = (
    "quotes",
    "findings",
    "interview_graphs",
    "session_readings",
    "session_analyses",
    "syntheses",
)


def _fk(
    table: str, column: str, target: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{referred}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "syntheses",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("interview_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("engine", sa.String(length=20), nullable=False),
        sa.Column("filters", _JSON, nullable=False),
        sa.Column("session_count", sa.Integer(), nullable=True),
        sa.Column("result", _JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _AT(), nullable=False),
        sa.Column("generated_at", _AT(), nullable=True),
        _fk("syntheses", "workspace_id", "workspaces.id"),
        _fk("syntheses", "interview_id", "interviews.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_syntheses")),
    )
    op.create_index(
        "ix_syntheses_interview_created", "syntheses", ["interview_id", "created_at", "id"]
    )
    op.create_table(
        "session_analyses",
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.Column("interview_id", sa.String(length=40), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=20), nullable=False),
        sa.Column("data", _JSON, nullable=False),
        sa.Column("quality_index", sa.Float(), nullable=True),
        sa.Column("judged", _JSON, nullable=True),
        sa.Column("created_at", _AT(), nullable=False),
        _fk("session_analyses", "session_id", "sessions.id"),
        _fk("session_analyses", "interview_id", "interviews.id"),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_session_analyses")),
    )
    op.create_index(
        "ix_session_analyses_interview_quality",
        "session_analyses",
        ["interview_id", "quality_index"],
    )
    op.create_table(
        "session_readings",
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.Column("interview_id", sa.String(length=40), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=20), nullable=False),
        sa.Column("data", _JSON, nullable=False),
        sa.Column("created_at", _AT(), nullable=False),
        _fk("session_readings", "session_id", "sessions.id"),
        _fk("session_readings", "interview_id", "interviews.id"),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_session_readings")),
    )
    op.create_index("ix_session_readings_interview", "session_readings", ["interview_id"])
    op.create_table(
        "interview_graphs",
        sa.Column("interview_id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("synthesis_id", sa.String(length=40), nullable=True),
        sa.Column("nodes", _JSON, nullable=False),
        sa.Column("edges", _JSON, nullable=False),
        sa.Column("params", _JSON, nullable=False),
        sa.Column("session_count", sa.Integer(), nullable=False),
        sa.Column("built_at", _AT(), nullable=False),
        sa.Column("analyzed_at", _AT(), nullable=True),
        _fk("interview_graphs", "interview_id", "interviews.id"),
        _fk("interview_graphs", "workspace_id", "workspaces.id"),
        sa.PrimaryKeyConstraint("interview_id", name=op.f("pk_interview_graphs")),
    )
    op.create_table(
        "findings",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("interview_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("title_key", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("prevalence", sa.Integer(), nullable=False),
        sa.Column("tags", _JSON, nullable=False),
        sa.Column("source", _JSON, nullable=False),
        sa.Column("created_at", _AT(), nullable=False),
        sa.Column("updated_at", _AT(), nullable=False),
        _fk("findings", "workspace_id", "workspaces.id"),
        _fk("findings", "interview_id", "interviews.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
        sa.UniqueConstraint(
            "interview_id", "type", "title_key", name="uq_findings_interview_type_title"
        ),
    )
    op.create_index(
        "ix_findings_interview_created", "findings", ["interview_id", "created_at", "id"]
    )
    op.create_table(
        "quotes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("interview_id", sa.String(length=40), nullable=False),
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("finding_id", sa.String(length=40), nullable=True),
        sa.Column("synthesis_id", sa.String(length=40), nullable=True),
        sa.Column("theme_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", _AT(), nullable=False),
        _fk("quotes", "workspace_id", "workspaces.id"),
        _fk("quotes", "interview_id", "interviews.id"),
        _fk("quotes", "session_id", "sessions.id"),
        _fk("quotes", "message_id", "messages.id"),
        _fk("quotes", "finding_id", "findings.id", ondelete="CASCADE"),
        _fk("quotes", "synthesis_id", "syntheses.id", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
    )
    op.create_index("ix_quotes_interview_created", "quotes", ["interview_id", "created_at", "id"])
    op.create_index("ix_quotes_finding", "quotes", ["finding_id"])
    op.create_index("ix_quotes_synthesis_theme", "quotes", ["synthesis_id", "theme_id"])
    op.create_index("ix_quotes_session", "quotes", ["session_id"])


def downgrade() -> None:
    for name in TABLES:
        op.drop_table(name)
