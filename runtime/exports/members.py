"""Which sessions each export job put in its ZIP, so erasing a session can name those exports."""

from __future__ import annotations

from sqlalchemy import exists, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.exports import records as exports
from runtime.exports.source import sessions_query
from runtime.stores import schema
from runtime.stores.database import Database

es = schema.export_sessions
s = schema.sessions
e = schema.exports
# Exports whose ZIP holds (or, still being written, will hold) what they read: a failed one
# wrote nothing, an expired one's ZIP is deleted.
HOLDING = ("queued", "running", "succeeded")


async def record(db: Database, export_id: str, session_ids: list[str]) -> set[str]:
    """Record that the export is writing these sessions; returns those it may write — the
    ones not erased. Run before their content is read: an erasure either comes first (the
    session is left out) or finds the record (and lists the export)."""
    if not session_ids:
        return set()
    async with db.begin() as conn:
        # FOR SHARE (PostgreSQL; SQLite's writer lock serializes already): an erasure holding
        # a session's row is waited for, and one that comes later waits for this record.
        alive = await conn.execute(
            select(s.c.id).where(s.c.id.in_(session_ids)).with_for_update(read=True)
        )
        kept = {r.id for r in alive}
        known = await conn.execute(
            select(es.c.session_id).where(es.c.export_id == export_id, es.c.session_id.in_(kept))
        )
        new = kept - {r.session_id for r in known}
        if new:
            await conn.execute(
                insert(es), [{"export_id": export_id, "session_id": i} for i in sorted(new)]
            )
    return kept


async def holding(conn: AsyncConnection, workspace_id: str, session_id: str) -> list[str]:
    """The workspace's exports whose ZIP holds the session, oldest first: those that
    recorded it, and any that succeeded before exports recorded their sessions and whose
    selection covers it."""
    recorded = await conn.execute(
        select(e.c.id)
        .join(es, es.c.export_id == e.c.id)
        .where(es.c.session_id == session_id, e.c.status.in_(HOLDING))
        .order_by(e.c.created_at, e.c.id)
    )
    found = [r.id for r in recorded]
    return [*found, *await _unrecorded_holding(conn, workspace_id, session_id)]


async def _unrecorded_holding(
    conn: AsyncConnection, workspace_id: str, session_id: str
) -> list[str]:
    # Written before migration 0005 (nothing recorded, yet sessions written): judged by the
    # export's selection, which may name an export that left the session out — never the
    # other way round.
    any_recorded = exists().where(es.c.export_id == e.c.id)
    legacy = await conn.execute(
        select(e)
        .where(
            e.c.workspace_id == workspace_id,
            e.c.status == "succeeded",
            e.c.sessions_done > 0,
            ~any_recorded,
        )
        .order_by(e.c.created_at, e.c.id)
    )
    out = []
    for row in legacy:
        query = sessions_query(exports.selection(row), row.created_at, s.c.id)
        if (await conn.execute(query.where(s.c.id == session_id))).first():
            out.append(row.id)
    return out


async def forget(conn: AsyncConnection, session_id: str) -> None:
    await conn.execute(es.delete().where(es.c.session_id == session_id))
