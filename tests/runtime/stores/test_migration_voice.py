"""Migration 0006 (voice settings) on a database with interviews: they become text-only with
the defaults, and the downgrade removes the columns again."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic import command
from sqlalchemy import insert, select

from runtime.interviews import service as interviews
from runtime.interviews import voice
from runtime.platform.clock import utcnow
from runtime.stores import migrate, schema
from runtime.stores.database import Database, make_engine
from tests.runtime.stores.test_migration_retention import scratch

__all__ = ["scratch"]  # the fixture: an empty database of this test's own


def _old_interviews() -> sa.TableClause:
    """interviews as migration 0005 left it."""
    new = set(voice.FIELDS)
    i = schema.interviews
    return sa.table("interviews", *(sa.column(c.name, c.type) for c in i.c if c.name not in new))


async def test_existing_interviews_are_text_only_with_the_defaults(scratch: str) -> None:
    config = migrate.alembic_config(scratch)
    await asyncio.to_thread(command.upgrade, config, "0005")
    now = utcnow()
    db = Database(make_engine(scratch))
    try:
        async with db.begin() as conn:
            await conn.execute(
                insert(schema.workspaces).values(id="ws_1", name="w", created_at=now)
            )
            await conn.execute(
                insert(_old_interviews()).values(
                    id="int_1", workspace_id="ws_1", title="Old", goal="", context="", tone="",
                    language="en", welcome_message="", closing_message="", engine="scripted",
                    settings={}, status="active", share_token="share-1", guide={"sections": []},
                    guide_rev=0, guide_version=1, created_at=now, updated_at=now,
                )
            )  # fmt: skip
    finally:
        await db.close()

    await asyncio.to_thread(command.upgrade, config, "head")
    db = Database(make_engine(scratch))
    try:
        async with db.connect() as conn:
            row = (await conn.execute(select(schema.interviews))).one()
        view = interviews.to_view(row._mapping, {})
    finally:
        await db.close()
    assert (view.modes, view.voice, view.speaking_rate) == (["text"], None, 1.0)
    assert (view.eagerness, view.idle_reprompt_seconds) == ("normal", 15)
    assert view.record_session is False

    await asyncio.to_thread(command.downgrade, config, "0005")
    db = Database(make_engine(scratch))
    try:
        async with db.connect() as conn:
            names = await conn.run_sync(
                lambda sync: {c["name"] for c in sa.inspect(sync).get_columns("interviews")}
            )
    finally:
        await db.close()
    assert not names & set(voice.FIELDS) and "retention_days" in names
