"""Researchers' instructions to a session's interviewer in SQL: queued in order, then applied."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.platform.clock import utcnow
from runtime.platform.errors import Conflict, NotFound
from runtime.platform.ids import new_id
from runtime.platform.views import Meta, Timestamp, View
from runtime.stores import schema
from runtime.stores.database import Database
from runtime.stores.pagination import Page, fetch_page

t = schema.steering_instructions
s = schema.sessions

SteerMode = Literal["next_turn", "now"]
SteerStatus = Literal["queued", "applied"]
STEER_MODES: tuple[SteerMode, ...] = ("next_turn", "now")
MAX_INSTRUCTION_CHARS = 2000
# Queued and not yet applied, per session: past it a researcher waits for a turn to take them.
MAX_QUEUED = 20


class SteeringUnsupported(Conflict):
    """The interview's interviewer is scripted: it has no prompt to steer."""

    code = "steering_unsupported"


class SessionNotLive(Conflict):
    """The session has ended: nothing more is said in it."""

    code = "session_not_live"


class TooManyQueued(Conflict):
    code = "too_many_queued"


class Steer(View):
    id: str
    session_id: str
    seq: Annotated[int, Meta(description="Its place among the session's instructions, from 1")]
    instruction: str
    mode: SteerMode
    status: Annotated[
        SteerStatus,
        Meta(description="queued until a turn's prompt holds it; applied once that turn commits"),
    ]
    created_at: Timestamp
    applied_at: Timestamp | None
    applied_turn_id: Annotated[
        str | None, Meta(description="The interviewer turn it shaped (t2, t3, …)")
    ]


async def queue(
    db: Database,
    workspace_id: str,
    session_id: str,
    instruction: str,
    mode: SteerMode,
    created_by: str | None,
) -> Steer:
    """Store an instruction after the session's others; refused for an ended session, a
    scripted interview, or a full queue."""
    async with db.begin() as conn:
        # Locked (PostgreSQL; SQLite serializes writers): two instructions at once get
        # seqs one after the other, never the same.
        session = (
            await conn.execute(select(s).where(s.c.id == session_id).with_for_update())
        ).first()
        if session is None or session.workspace_id != workspace_id:
            raise NotFound(f"no session {session_id}")
        if session.status != "in_progress":
            raise SessionNotLive(f"this session is {session.status}; it takes no instructions")
        engine = (
            await conn.execute(
                select(schema.interviews.c.engine).where(
                    schema.interviews.c.id == session.interview_id
                )
            )
        ).scalar_one()
        if engine != "llm":
            raise SteeringUnsupported(
                "this interview's interviewer is scripted: only an llm interviewer can be steered"
            )
        counts = (
            await conn.execute(
                select(
                    func.count().filter(t.c.status == "queued"), func.coalesce(func.max(t.c.seq), 0)
                ).where(t.c.session_id == session_id)
            )
        ).one()
        if counts[0] >= MAX_QUEUED:
            raise TooManyQueued(
                f"{MAX_QUEUED} instructions are queued already; wait for a turn to apply them"
            )
        row = {
            "id": new_id("str"),
            "workspace_id": workspace_id,
            "interview_id": session.interview_id,
            "session_id": session_id,
            "seq": int(counts[1]) + 1,
            "instruction": instruction,
            "mode": mode,
            "status": "queued",
            "created_by": created_by,
            "created_at": utcnow(),
            "applied_at": None,
            "applied_turn_id": None,
        }
        await conn.execute(insert(t).values(**row))
    return Steer.from_row(row)


async def of_session(conn: AsyncConnection, session_id: str) -> list[Row[Any]]:
    """Every instruction of the session, in order (queued ones and applied ones)."""
    query = select(t).where(t.c.session_id == session_id).order_by(t.c.seq)
    return list(await conn.execute(query))


async def mark_applied(conn: AsyncConnection, ids: Sequence[str], turn_id: str) -> None:
    """In the transaction that commits turn `turn_id`, whose prompt held them."""
    if not ids:
        return
    await conn.execute(
        update(t)
        .where(t.c.id.in_(list(ids)), t.c.status == "queued")
        .values(status="applied", applied_at=utcnow(), applied_turn_id=turn_id)
    )


def steered(session_id: str) -> Any:
    """Whether the session was ever given an instruction (a column for its UPDATE's
    RETURNING: bound, as SQLite's RETURNING names columns without their table)."""
    return select(t.c.id).where(t.c.session_id == session_id).exists().label("steered")


async def list_page(
    db: Database, workspace_id: str, session_id: str, cursor: str | None, limit: int
) -> Page[Steer]:
    async with db.connect() as conn:
        owner = (await conn.execute(select(s.c.workspace_id).where(s.c.id == session_id))).scalar()
        if owner != workspace_id:
            raise NotFound(f"no session {session_id}")
        query = select(t).where(t.c.session_id == session_id)
        rows = await fetch_page(conn, query, t, cursor, limit)
    return rows.map(Steer.from_row)
