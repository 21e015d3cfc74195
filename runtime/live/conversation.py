"""The respondent's side of a session: start, say something, end — durable first, then live."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Row

from runtime.engines import readiness as engine_readiness
from runtime.live.events import (
    TERMINAL_STATUSES,
    RespondentMessage,
    SessionCompleted,
    SessionEvent,
    SessionStarted,
    SessionState,
)
from runtime.platform.clock import utcnow
from runtime.platform.errors import ValidationError
from runtime.services import Services
from runtime.sessions import store as sessions

MAX_CLIENT_MESSAGE_ID = 200


async def start(
    services: Services, share_token: str, respondent: dict[str, Any], is_test: bool = False
) -> sessions.StartedSession:
    started = await sessions.start(services.db, share_token, respondent, is_test)
    await _begin(services, started)
    return started


async def start_preview(
    services: Services, workspace_id: str, interview_id: str, respondent: dict[str, Any]
) -> sessions.StartedSession:
    await engine_readiness.require_interview_engine(
        services.db, services.llm_upstream, workspace_id, interview_id
    )
    started = await sessions.start_preview(services.db, workspace_id, interview_id, respondent)
    await _begin(services, started)
    return started


async def _begin(services: Services, started: sessions.StartedSession) -> None:
    session_id = started.row["id"]
    await services.events.append(
        session_id, SessionStarted(session_id, started.row["interview_id"])
    )
    await services.turns.owe(session_id)


async def say(
    services: Services, session_id: str, content: str, client_message_id: str
) -> sessions.PostedMessage:
    content = content.strip()
    if not content:
        raise ValidationError("content must not be empty", field="content")
    if len(content) > services.settings.max_message_chars:
        raise ValidationError(
            f"content is limited to {services.settings.max_message_chars} characters",
            field="content",
        )
    if not client_message_id or len(client_message_id) > MAX_CLIENT_MESSAGE_ID:
        raise ValidationError(
            f"client_message_id must be 1 to {MAX_CLIENT_MESSAGE_ID} characters",
            field="client_message_id",
        )
    # The next turn starts now, overlapping the durable write; it publishes nothing until
    # `owe` hands it over after the message is committed and logged (see docs/llm.md).
    early = services.turns.begin_early(session_id, content)
    try:
        posted = await sessions.post_message(services.db, session_id, content, client_message_id)
        if posted.created:
            await services.events.append(
                session_id, RespondentMessage(posted.id, content, client_message_id)
            )
            await services.turns.owe(session_id, early, posted)
            early = None
    finally:
        if early is not None:
            await early.cancel()
    return posted


async def end(services: Services, session_id: str, reason: str = "ended_by_respondent") -> bool:
    """End early; returns False when the session had already ended."""
    awaiting = await sessions.end(services.db, session_id, reason)
    if awaiting is None:
        # Ended before, yet perhaps never told: Redis was down then, or has lost its data
        # since. Telling it again costs nothing when it was (once per log).
        await announce_end(services, await sessions.load(services.db, session_id))
        return False
    # A turn still owed finishes first and its runner announces the end after it (it reads
    # the status after dropping the turn from the owed set, which happens before this check),
    # so `session.completed` never precedes the last `turn.completed`. SQL says a turn is
    # owed even when Redis lost track of it: then recovery finishes it and announces.
    if awaiting == "interviewer" or await services.turns.owes(session_id):
        return True
    await services.events.announce_end(session_id, SessionCompleted(reason))
    return True


async def announce_end(services: Services, session: Row[Any]) -> bool:
    """Tell a session's stream readers that it ended, unless it is live or still owes a turn
    (whose runner tells them after it), at most once per event log: a Redis that lost its
    data, or was down when the session ended, may not have it. True when the session has
    nothing more to say (ended, no turn owed)."""
    if session.status not in TERMINAL_STATUSES or session.awaiting == "interviewer":
        return False
    if await services.turns.owes(session.id):
        return False
    await services.events.announce_end(session.id, _end_event(session.status, session.ended_reason))
    return True


def _end_event(status: str, reason: str | None) -> SessionEvent:
    if status == "abandoned":
        return SessionState("abandoned", reason)
    return SessionCompleted(reason or "finished")


async def abandon_idle(services: Services) -> int:
    before = utcnow() - timedelta(seconds=services.settings.session_idle_timeout_seconds)
    count = 0
    for session_id in await sessions.idle_sessions(services.db, before):
        if await sessions.abandon(services.db, session_id, before):
            await services.events.announce_end(session_id, _end_event("abandoned", "idle_timeout"))
            count += 1
    return count
