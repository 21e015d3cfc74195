"""Migration 0008 (live console) builds exactly the tables the schema declares, and goes back."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from runtime.stores import migrate, schema
from runtime.stores.database import make_engine
from tests.runtime.stores.test_migration_retention import scratch

__all__ = ["scratch"]  # the fixture: an empty database of this test's own

NEW = {"steering_instructions", "session_notes"}


async def _differences(url: str) -> tuple[list[object], set[str]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_compare)
    finally:
        await engine.dispose()


def _compare(conn: sa.Connection) -> tuple[list[object], set[str]]:
    context = MigrationContext.configure(conn, opts={"compare_type": False})
    diffs = [d for d in compare_metadata(context, schema.metadata) if _about_new(d)]
    return diffs, set(sa.inspect(conn).get_table_names())


def _about_new(diff: object) -> bool:
    return any(name in repr(diff) for name in NEW)


async def test_the_migrated_tables_are_the_declared_ones(scratch: str) -> None:
    config = migrate.alembic_config(scratch)
    await asyncio.to_thread(command.upgrade, config, "head")
    differences, tables = await _differences(scratch)
    assert differences == []
    assert tables >= NEW
    await asyncio.to_thread(command.downgrade, config, "0007")
    _, left = await _differences(scratch)
    assert not (left & NEW)
