"""Researchers' notes and bookmarks on a session or one of its messages: never respondent words."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Annotated, Any, Literal, get_args

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.platform.clock import utcnow
from runtime.platform.errors import Conflict, NotFound, ValidationError
from runtime.platform.ids import new_id
from runtime.platform.views import Meta, Timestamp, View
from runtime.stores import pagination, schema
from runtime.stores.database import Database

NoteKind = Literal["note", "bookmark"]
NOTE_KINDS: tuple[str, ...] = get_args(NoteKind)
BODY_MAX = 4000
# Enough for a researcher annotating every message of a long interview, and a bound on what
# an export or a synthesis reads per session.
MAX_PER_SESSION = 500

n = schema.session_notes
m = schema.messages


class Note(View):
    """A researcher's note (or bookmark) on a session, or on one of its messages."""

    id: str
    session_id: str
    interview_id: str
    kind: NoteKind
    message_id: Annotated[
        str | None, Meta(description="The message it is on; null: on the session as a whole")
    ]
    body: str
    created_by: Annotated[str | None, Meta(description="The API key that wrote it")]
    created_at: Timestamp
    updated_at: Timestamp


def check_body(kind: str, body: str) -> str:
    """A note says something (1 to 4000 characters); a bookmark may be empty."""
    low = 1 if kind == "note" else 0
    if not low <= len(body) <= BODY_MAX:
        raise ValidationError(
            f"a {kind}'s body must be {low} to {BODY_MAX} characters", field="body"
        )
    return body


async def create(
    db: Database,
    session: Any,
    kind: NoteKind,
    body: str,
    message_id: str | None,
    key_id: str | None,
) -> Note:
    """Stored in SQL (the caller announces it: runtime.live.notes)."""
    if kind == "bookmark" and not message_id:
        raise ValidationError(
            "a bookmark marks a message: message_id is required", field="message_id"
        )
    check_body(kind, body)
    now = utcnow()
    row = {
        "id": new_id("note"),
        "workspace_id": session.workspace_id,
        "interview_id": session.interview_id,
        "session_id": session.id,
        "message_id": message_id or None,
        "kind": kind,
        "body": body,
        "created_by": key_id,
        "created_at": now,
        "updated_at": now,
    }
    async with db.begin() as conn:
        if message_id:
            await _require_message(conn, session.id, message_id)
        count = await conn.scalar(select(func.count()).where(n.c.session_id == session.id))
        if int(count or 0) >= MAX_PER_SESSION:
            raise Conflict(f"a session may have at most {MAX_PER_SESSION} notes and bookmarks")
        await conn.execute(n.insert().values(**row))
    return Note.from_row(row)


async def _require_message(conn: AsyncConnection, session_id: str, message_id: str) -> None:
    found = await conn.scalar(
        select(m.c.id).where(m.c.id == message_id, m.c.session_id == session_id)
    )
    if found is None:
        raise ValidationError(f"no message {message_id} in this session", field="message_id")


async def list_page(
    db: Database, session_id: str, cursor: str | None, limit: int
) -> pagination.Page[Note]:
    """Newest first, like every list."""
    async with db.connect() as conn:
        rows = await pagination.fetch_page(
            conn, select(n).where(n.c.session_id == session_id), n, cursor, limit
        )
    return rows.map(Note.from_row)


async def _one(conn: AsyncConnection, session_id: str, note_id: str) -> dict[str, Any]:
    found = (
        (await conn.execute(select(n).where(n.c.id == note_id, n.c.session_id == session_id)))
        .mappings()
        .first()
    )
    if found is None:
        raise NotFound(f"no note {note_id} on this session")
    return dict(found)


async def edit(db: Database, session_id: str, note_id: str, body: str) -> Note:
    async with db.begin() as conn:
        row = await _one(conn, session_id, note_id)
        check_body(row["kind"], body)
        row.update(body=body, updated_at=utcnow())
        await conn.execute(
            update(n).where(n.c.id == note_id).values(body=body, updated_at=row["updated_at"])
        )
    return Note.from_row(row)


async def remove(db: Database, session_id: str, note_id: str) -> None:
    async with db.begin() as conn:
        await _one(conn, session_id, note_id)
        await conn.execute(delete(n).where(n.c.id == note_id))


async def for_sessions(conn: AsyncConnection, session_ids: Iterable[str]) -> dict[str, list[Note]]:
    """Each session's notes, oldest first: what exports and synthesis read beside a transcript."""
    ids = sorted(set(session_ids))
    found: dict[str, list[Note]] = defaultdict(list)
    if not ids:
        return found
    query = select(n).where(n.c.session_id.in_(ids)).order_by(n.c.created_at, n.c.id)
    for row in (await conn.execute(query)).mappings():
        found[row["session_id"]].append(Note.from_row(row))
    return found


async def forget_session(conn: AsyncConnection, session_id: str) -> None:
    """Erasure: before the messages they point at go."""
    await conn.execute(delete(n).where(n.c.session_id == session_id))
