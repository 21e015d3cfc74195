"""What a turn starts from: its context from SQL, and what earlier attempts left in the log."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.engines.base import Guidance, TranscriptEntry, TurnContext
from runtime.interviews import service as interviews
from runtime.interviews.guide import StoredGuide
from runtime.live.eventlog import EventLog
from runtime.live.events import (
    EventType,
    RespondentMessage,
    SteerApplied,
    TurnCompleted,
    TurnDelta,
    TurnStarted,
)
from runtime.platform.clock import utcnow
from runtime.sessions import steering
from runtime.sessions import store as sessions
from runtime.stores import schema
from runtime.stores.database import Database

_GUIDE_CACHE_SIZE = 512
# The last event in the log when a turn has just been owed and nothing of it written yet.
_BEFORE_A_TURN: frozenset[EventType | None] = frozenset({"session.started", "respondent.message"})


@dataclasses.dataclass(frozen=True)
class Loaded:
    """An owed turn as SQL has it: its context, the turn itself if it was already committed,
    and the respondent message that owed it (if one did)."""

    ctx: TurnContext
    committed: Row[Any] | None
    owing: Row[Any] | None
    # Every instruction researchers gave the session, applied or not: what no turn may say.
    private: tuple[str, ...] = ()


@dataclasses.dataclass
class Prior:
    """What the log holds of a turn: started?, its text so far, completed?; and the ids of
    the respondent messages it holds (unread when a fresh turn's log is known to be bare)."""

    started: bool = False
    said: str = ""
    completed: bool = False
    messages: set[str] = dataclasses.field(default_factory=set)
    steered: set[str] = dataclasses.field(default_factory=set)  # its steer.applied, by steer


class Contexts:
    """Loads turns' contexts; frozen guide versions never change, so they are cached for good."""

    def __init__(self, db: Database, events: EventLog) -> None:
        self._db = db
        self._events = events
        self._guides: dict[tuple[str, int], StoredGuide] = {}

    async def load(self, session_id: str) -> Loaded | None:
        """None when no turn is owed (or a researcher has taken the session over)."""
        async with self._db.connect() as conn:
            session = await sessions.row(conn, session_id)
            turn_id = f"t{session.turn_seq}"
            history = await sessions.messages(conn, session_id)
            committed = next((m for m in history if m.turn_id == turn_id), None)
            if committed is None and (
                session.awaiting != "interviewer" or session.taken_over_at is not None
            ):
                return None
            steers = await steering.of_session(conn, session_id)
            interview = (
                await conn.execute(
                    select(schema.interviews).where(schema.interviews.c.id == session.interview_id)
                )
            ).first()
            assert interview is not None
            guide = await self._guide(conn, session.interview_id, session.guide_version)
        ctx = TurnContext(
            interview=dict(interview._mapping),
            guide=guide,
            state=session.state or {},
            seq=session.turn_seq,
            transcript=[TranscriptEntry(r.role, r.content, r.item_id) for r in history],
            started_at=session.created_at,
            now=utcnow(),
            guidance=tuple(Guidance(r.id, r.instruction) for r in steers if r.status == "queued"),
        )
        owing = history[-1] if history and history[-1].role == "respondent" else None
        return Loaded(ctx, committed, owing, tuple(r.instruction for r in steers))

    async def guidance(self, session_id: str) -> tuple[tuple[Guidance, ...], tuple[str, ...]]:
        """The session's queued instructions, and every instruction's text (for a turn
        written again with one more: `mode: now`)."""
        async with self._db.connect() as conn:
            steers = await steering.of_session(conn, session_id)
        queued = tuple(Guidance(r.id, r.instruction) for r in steers if r.status == "queued")
        return queued, tuple(r.instruction for r in steers)

    async def _guide(self, conn: AsyncConnection, interview_id: str, version: int) -> StoredGuide:
        key = (interview_id, version)
        guide = self._guides.get(key)
        if guide is None:
            guide = await interviews.frozen_guide(conn, interview_id, version)
            if len(self._guides) >= _GUIDE_CACHE_SIZE:
                self._guides.pop(next(iter(self._guides)))
            self._guides[key] = guide
        return guide

    async def prior(self, session_id: str, turn_id: str, fresh: bool) -> Prior:
        """What earlier attempts at this turn put in the log (and which messages it holds);
        `fresh`: no earlier attempt can have begun it."""
        if fresh and await self._events.last_event_type(session_id) in _BEFORE_A_TURN:
            return Prior()  # nothing was written after the message that owed it
        prior = Prior()
        for stored in await self._events.all(session_id):
            event = stored.event
            if isinstance(event, RespondentMessage):
                prior.messages.add(event.message_id)
            elif isinstance(event, TurnStarted) and event.turn_id == turn_id:
                prior.started = True
            elif isinstance(event, TurnDelta) and event.turn_id == turn_id:
                prior.said += event.text
            elif isinstance(event, TurnCompleted) and event.turn_id == turn_id:
                prior.completed = True
            elif isinstance(event, SteerApplied) and event.turn_id == turn_id:
                prior.steered.add(event.steer_id)
        return prior
