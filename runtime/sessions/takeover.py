"""A researcher writing a session's interviewer turns in SQL: take over, write a turn, hand back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.platform.clock import utcnow
from runtime.platform.errors import Conflict, NotFound
from runtime.platform.ids import new_id
from runtime.platform.views import Meta, Timestamp, View
from runtime.sessions.steering import SessionNotLive
from runtime.sessions.store import _next_seq
from runtime.stores import schema
from runtime.stores.database import Database

s = schema.sessions
m = schema.messages


class NotTakenOver(Conflict):
    """Only a session a researcher has taken over takes the researcher's turns."""

    code = "not_taken_over"


class Takeover(View):
    session_id: str
    taken_over: Annotated[
        bool, Meta(description="True while a researcher writes the interviewer's turns")
    ]
    taken_over_by: Annotated[str | None, Meta(description="The API key's id that took it over")]
    taken_over_at: Timestamp | None
    turn_owed: Annotated[
        bool,
        Meta(
            description="The respondent's last message is unanswered: on handback the AI "
            "answers it at once"
        ),
    ]


@dataclass(frozen=True)
class ResearcherTurn:
    message_id: str
    turn_id: str
    item_id: str | None
    content: str
    created_at: datetime


async def _live(conn: AsyncConnection, workspace_id: str, session_id: str) -> Row[Any]:
    # Locked (PostgreSQL; SQLite serializes writers) against a turn committing meanwhile.
    found = (await conn.execute(select(s).where(s.c.id == session_id).with_for_update())).first()
    if found is None or found.workspace_id != workspace_id:
        raise NotFound(f"no session {session_id}")
    if found.status != "in_progress":
        raise SessionNotLive(f"this session is {found.status}")
    return found


def view(row: Row[Any]) -> Takeover:
    return Takeover(
        session_id=row.id,
        taken_over=row.taken_over_at is not None,
        taken_over_by=row.taken_over_by,
        taken_over_at=row.taken_over_at,
        turn_owed=row.awaiting == "interviewer",
    )


async def take(db: Database, workspace_id: str, session_id: str, key_id: str | None) -> Takeover:
    """The session is the researcher's to write (again: unchanged)."""
    async with db.begin() as conn:
        found = await _live(conn, workspace_id, session_id)
        if found.taken_over_at is None:
            values = {"taken_over_by": key_id, "taken_over_at": utcnow()}
            await conn.execute(update(s).where(s.c.id == session_id).values(**values))
        return view(await _reread(conn, session_id))


async def hand_back(db: Database, workspace_id: str, session_id: str) -> Takeover:
    async with db.begin() as conn:
        found = await _live(conn, workspace_id, session_id)
        if found.taken_over_at is None:
            raise NotTakenOver("this session is not taken over")
        values = {"taken_over_by": None, "taken_over_at": None, "last_activity_at": utcnow()}
        await conn.execute(update(s).where(s.c.id == session_id).values(**values))
        return view(await _reread(conn, session_id))


async def _reread(conn: AsyncConnection, session_id: str) -> Row[Any]:
    return (await conn.execute(select(s).where(s.c.id == session_id))).one()


async def write_turn(
    db: Database, workspace_id: str, session_id: str, content: str
) -> ResearcherTurn:
    """Store the researcher's interviewer turn: the owed one if the respondent spoke last,
    else one more after the interviewer's last (its own turn id)."""
    now = utcnow()
    async with db.begin() as conn:
        found = await _live(conn, workspace_id, session_id)
        if found.taken_over_at is None:
            raise NotTakenOver("take the session over first: POST /v1/sessions/{id}/takeover")
        seq = found.turn_seq if found.awaiting == "interviewer" else found.turn_seq + 1
        taken = await conn.execute(
            update(s)
            .where(s.c.id == session_id, s.c.turn_seq == found.turn_seq)
            .values(turn_seq=seq, awaiting="respondent", last_activity_at=now)
        )
        if taken.rowcount != 1:
            raise Conflict("the session moved on meanwhile; send again")
        item_id = (found.state or {}).get("item_id")
        message_id = new_id("msg")
        await conn.execute(
            insert(m).values(
                id=message_id,
                session_id=session_id,
                seq=_next_seq(session_id),
                role="interviewer",
                content=content,
                item_id=item_id,
                turn_id=f"t{seq}",
                client_message_id=None,
                metadata={"engine": "researcher"},
                created_at=now,
                author="researcher",
            )
        )
    return ResearcherTurn(message_id, f"t{seq}", item_id, content, now)
