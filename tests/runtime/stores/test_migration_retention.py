"""Migration 0005 (retention) on a database that already has keys and deliveries: full-access
keys get sessions:delete and metrics:read (narrower ones do not), and queued deliveries
learn their session."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import insert, select

from runtime.access import keys
from runtime.platform.clock import utcnow
from runtime.stores import migrate, schema
from runtime.stores.database import Database, make_engine
from tests.conftest import POSTGRES_URL

NEW_SCOPES = [keys.SESSIONS_DELETE, keys.METRICS_READ]
EARLIER_SCOPES = [s for s in keys.ALL_SCOPES if s not in NEW_SCOPES]


@pytest.fixture(params=["sqlite", "postgres"])
async def scratch(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of its own (the shared test database is at head already)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    name = f"{POSTGRES_URL.rsplit('/', 1)[1]}_migration"
    admin = POSTGRES_URL.rsplit("/", 1)[0] + "/postgres"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield "postgresql+asyncpg://" + POSTGRES_URL.split("://", 1)[1].rsplit("/", 1)[0] + f"/{name}"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _old_deliveries() -> sa.TableClause:
    """webhook_deliveries as migration 0003 left it (no session_id yet)."""
    d = schema.webhook_deliveries
    return sa.table(
        "webhook_deliveries", *(sa.column(c.name, c.type) for c in d.c if c.name != "session_id")
    )


async def test_upgrade_grants_the_new_scope_to_full_keys_and_indexes_deliveries(
    scratch: str,
) -> None:
    config = migrate.alembic_config(scratch)
    await asyncio.to_thread(command.upgrade, config, "0003")
    now = utcnow()
    session_id = f"ses_{uuid.uuid4().hex}"
    db = Database(make_engine(scratch))
    try:
        async with db.begin() as conn:
            await conn.execute(
                insert(schema.workspaces).values(id="ws_1", name="w", created_at=now)
            )
            for key_id, scopes in (("key_full", EARLIER_SCOPES), ("key_narrow", ["sessions:read"])):
                await conn.execute(
                    insert(schema.api_keys).values(
                        id=key_id, workspace_id="ws_1", name="k", prefix="p", key_hash=key_id,
                        scopes=scopes, plan="default", created_at=now,
                    )
                )  # fmt: skip
            await conn.execute(
                insert(schema.webhooks).values(
                    id="wh_1", workspace_id="ws_1", url="https://x.example", description="",
                    events=[], enabled=True, secret_salt="s", consecutive_failures=0,
                    created_at=now, updated_at=now,
                )
            )  # fmt: skip
            for delivery_id, payload in (
                ("dlv_session", {"type": "session.completed", "data": {"session_id": session_id}}),
                ("dlv_export", {"type": "export.completed", "data": {"export_id": "exp_1"}}),
            ):
                await conn.execute(
                    insert(_old_deliveries()).values(
                        id=delivery_id, webhook_id="wh_1", event_id="msg_1",
                        event_type=payload["type"], payload=payload, status="pending",
                        attempts=0, log=[], created_at=now, updated_at=now,
                    )
                )  # fmt: skip
    finally:
        await db.close()

    await asyncio.to_thread(command.upgrade, config, "head")

    db = Database(make_engine(scratch))
    try:
        async with db.connect() as conn:
            k = schema.api_keys
            scopes = dict((await conn.execute(select(k.c.id, k.c.scopes))).all())
            d = schema.webhook_deliveries
            by = dict((await conn.execute(select(d.c.id, d.c.session_id))).all())
    finally:
        await db.close()
    assert scopes["key_full"] == [*EARLIER_SCOPES, *NEW_SCOPES]
    assert scopes["key_narrow"] == ["sessions:read"]
    assert by == {"dlv_session": session_id, "dlv_export": None}
    # And back, cleanly: the scopes are taken away again.
    await asyncio.to_thread(command.downgrade, config, "0003")
    db = Database(make_engine(scratch))
    try:
        async with db.connect() as conn:
            rows = await conn.execute(select(k.c.scopes).where(k.c.id == "key_full"))
            assert rows.scalar_one() == EARLIER_SCOPES
    finally:
        await db.close()
