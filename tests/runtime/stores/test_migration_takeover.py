"""Migration 0009 (takeover) adds exactly the columns the schema declares, and goes back."""

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

NEW = {("messages", "author"), ("sessions", "taken_over_by"), ("sessions", "taken_over_at")}


async def _state(url: str) -> tuple[list[object], set[tuple[str, str]]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_compare)
    finally:
        await engine.dispose()


def _compare(conn: sa.Connection) -> tuple[list[object], set[tuple[str, str]]]:
    context = MigrationContext.configure(conn, opts={"compare_type": False})
    names = {column for _, column in NEW}
    diffs = [
        d for d in compare_metadata(context, schema.metadata) if any(n in repr(d) for n in names)
    ]
    inspector = sa.inspect(conn)
    columns = {(t, c["name"]) for t in ("messages", "sessions") for c in inspector.get_columns(t)}
    return diffs, columns


async def test_the_migrated_columns_are_the_declared_ones(scratch: str) -> None:
    config = migrate.alembic_config(scratch)
    await asyncio.to_thread(command.upgrade, config, "head")
    differences, columns = await _state(scratch)
    assert differences == []
    assert columns >= NEW
    await asyncio.to_thread(command.downgrade, config, "0008")
    _, left = await _state(scratch)
    assert not (left & NEW)
