"""What the sweeper asks SQL of sessions: turns owed too long, idle sessions to abandon."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update

from runtime.platform.clock import utcnow
from runtime.sessions.store import announce, s
from runtime.stores.database import Database


@dataclass(frozen=True)
class OwedTurn:
    session_id: str
    turn_seq: int


async def owed_turns(db: Database, before: datetime, limit: int = 500) -> list[OwedTurn]:
    """Sessions whose interviewer has owed a turn since before `before`, oldest first: live
    ones, and ones ended while the turn was under way (it finishes, then the end is told).
    SQL alone says so; whether a process is writing the turn is for Redis to tell."""
    async with db.connect() as conn:
        rows = await conn.execute(owed_query(before, limit))
        return [OwedTurn(r.id, r.turn_seq) for r in rows]


def owed_query(before: datetime, limit: int = 500) -> Select[Any]:
    # Served by ix_sessions_status_awaiting_activity, like idle_query.
    return (
        select(s.c.id, s.c.turn_seq)
        .where(
            s.c.status.in_(("in_progress", "completed")),
            s.c.awaiting == "interviewer",
            s.c.last_activity_at < before,
            s.c.taken_over_at.is_(None),  # a researcher writes its turns
        )
        .order_by(s.c.last_activity_at)
        .limit(limit)
    )


async def count_recovery(db: Database, session_id: str, turn_seq: int) -> int | None:
    """Count one recovery of turn `turn_seq` from SQL; how many there have been, or None if
    the turn is no longer owed."""
    async with db.begin() as conn:
        counted = (
            await conn.execute(
                update(s)
                .where(
                    s.c.id == session_id,
                    s.c.awaiting == "interviewer",
                    s.c.turn_seq == turn_seq,
                )
                .values(turn_recoveries=s.c.turn_recoveries + 1)
                .returning(s.c.turn_recoveries)
            )
        ).first()
    return None if counted is None else int(counted.turn_recoveries)


async def idle_sessions(db: Database, before: datetime, limit: int = 500) -> list[str]:
    async with db.connect() as conn:
        return [r.id for r in await conn.execute(idle_query(before, limit))]


def idle_query(before: datetime, limit: int = 500) -> Select[Any]:
    return (
        select(s.c.id)
        .where(
            s.c.status == "in_progress",
            s.c.awaiting == "respondent",
            s.c.last_activity_at < before,
        )
        .limit(limit)
    )


async def abandon(db: Database, session_id: str, before: datetime) -> bool:
    async with db.begin() as conn:
        result = await conn.execute(
            update(s)
            .where(
                s.c.id == session_id,
                s.c.status == "in_progress",
                s.c.awaiting == "respondent",
                s.c.last_activity_at < before,
            )
            .values(status="abandoned", ended_reason="idle_timeout", completed_at=utcnow())
        )
        if result.rowcount != 1:
            return False
        await announce(conn, session_id, "session.abandoned")
        return True
