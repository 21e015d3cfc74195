"""A note written on a session, stored and then announced to its researchers' readers."""

from __future__ import annotations

from typing import Any

import structlog
from redis.exceptions import RedisError

from runtime.live.eventlog import EventLog
from runtime.live.events import NoteAdded
from runtime.sessions import notes
from runtime.stores.database import Database

log = structlog.get_logger(__name__)


async def add(
    db: Database,
    events: EventLog,
    session: Any,
    kind: notes.NoteKind,
    body: str,
    message_id: str | None,
    key_id: str | None,
) -> notes.Note:
    """`note.added` is private (events.PRIVATE_EVENTS): the respondent's stream never has it."""
    note = await notes.create(db, session, kind, body, message_id, key_id)
    try:
        await events.append(session.id, NoteAdded(note.id, note.kind, note.message_id, note.body))
    except RedisError as exc:
        # Stored all the same: GET …/notes lists it; only the live announcement is lost.
        log.warning("notes.event_failed", session_id=session.id, error=str(exc))
    return note
