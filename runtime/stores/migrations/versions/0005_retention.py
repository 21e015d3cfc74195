"""erasure and retention: retention_days, deliveries by session, export contents, the
erasure journal, and the sessions:delete and metrics:read scopes for full-access keys

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import runtime.stores.schema

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
# Every scope there was before sessions:delete and metrics:read: a key holding all of them
# was made with full access (`rapport keys create` without --scopes), and keeps it.
_SCOPES_BEFORE = (
    "interviews:read",
    "interviews:write",
    "sessions:read",
    "sessions:write",
    "exports:read",
    "exports:write",
    "webhooks:manage",
    "keys:manage",
)
_NEW_SCOPES = ("sessions:delete", "metrics:read")


def upgrade() -> None:
    with op.batch_alter_table("interviews") as batch:
        batch.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(sa.Column("session_id", sa.String(length=40), nullable=True))
    op.create_index("ix_webhook_deliveries_session", "webhook_deliveries", ["session_id"])
    # Deliveries queued before: their session is in the payload.
    if op.get_bind().dialect.name == "postgresql":
        extract = "payload->'data'->>'session_id'"
    else:
        extract = "json_extract(payload, '$.data.session_id')"
    op.execute(
        f"UPDATE webhook_deliveries SET session_id = {extract} WHERE event_type LIKE 'session.%'"
    )
    op.create_table(
        "export_sessions",
        sa.Column("export_id", sa.String(length=40), nullable=False),
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["export_id"],
            ["exports.id"],
            name=op.f("fk_export_sessions_export_id_exports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("export_id", "session_id", name=op.f("pk_export_sessions")),
    )
    op.create_index("ix_export_sessions_session", "export_sessions", ["session_id"])
    op.create_table(
        "erasures",
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.Column("plan", _JSON, nullable=False),
        sa.Column("created_at", runtime.stores.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_erasures")),
    )
    _grant_delete_to_full_keys()


def _grant_delete_to_full_keys() -> None:
    keys = sa.table("api_keys", sa.column("id", sa.String()), sa.column("scopes", _JSON))
    bind = op.get_bind()
    for key_id, scopes in bind.execute(sa.select(keys.c.id, keys.c.scopes)).all():
        if set(_SCOPES_BEFORE) <= set(scopes) and not set(_NEW_SCOPES) <= set(scopes):
            grown = [*scopes, *(s for s in _NEW_SCOPES if s not in scopes)]
            bind.execute(sa.update(keys).where(keys.c.id == key_id).values(scopes=grown))


def downgrade() -> None:
    keys = sa.table("api_keys", sa.column("id", sa.String()), sa.column("scopes", _JSON))
    bind = op.get_bind()
    for key_id, scopes in bind.execute(sa.select(keys.c.id, keys.c.scopes)).all():
        if set(_NEW_SCOPES) & set(scopes):
            kept = [s for s in scopes if s not in _NEW_SCOPES]
            bind.execute(sa.update(keys).where(keys.c.id == key_id).values(scopes=kept))
    op.drop_table("erasures")
    op.drop_index("ix_export_sessions_session", table_name="export_sessions")
    op.drop_table("export_sessions")
    op.drop_index("ix_webhook_deliveries_session", table_name="webhook_deliveries")
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_column("session_id")
    with op.batch_alter_table("interviews") as batch:
        batch.drop_column("retention_days")
