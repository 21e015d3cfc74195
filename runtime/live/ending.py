"""How a session's end reaches its log: after its last turn, once, whoever ends it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import Row

from runtime.analysis import autoclose
from runtime.analysis.summaries import queue as session_analysis
from runtime.live.eventlog import EventLog
from runtime.live.events import TERMINAL_STATUSES, SessionCompleted, SessionEvent, SessionState
from runtime.live.lease import Leases
from runtime.platform.clock import utcnow
from runtime.platform.settings import Settings
from runtime.sessions import store as sessions
from runtime.sessions import sweeps as session_sweeps
from runtime.stores.database import Database
from runtime.stores.jobs import JobQueue
from runtime.transcripts import final as final_transcript


class EndingParts(Protocol):
    """What ending a session needs of the process's parts (runtime.services.Services)."""

    settings: Settings
    db: Database
    events: EventLog
    leases: Leases
    # An ended voice session's final pass is queued (final_transcript), and every ended
    # session's analysis (runtime/analysis/summaries).
    jobs: JobQueue


RESPONDENT_ENDED = "ended_by_respondent"

# The ordering rule: `session.completed` never precedes the last `turn.completed`. A turn's
# writer drops the turn from the owed set, then reads the status (`after_turn`); whoever
# ends a session writes the status, then looks at the owed set (`end`). So either the writer
# sees the end and announces it, or the ender sees no turn owed and announces it itself.


async def after_turn(
    db: Database,
    leases: Leases,
    events: EventLog,
    session_id: str,
    fence: str,
    jobs: JobQueue | None = None,
) -> None:
    """A turn's last step, once its `turn.completed` is in the log. With `jobs`, a session
    that has completed has its interview's auto-close check queued before its end is
    announced (the respondent already has the last turn; whoever sees the end sees the
    check queued)."""
    await leases.settle(session_id)
    # Read after the turn left the owed set: either this sees an end that was requested
    # during the turn, or the requester sees no turn owed and announces it itself.
    status, ended_reason = await sessions.status(db, session_id)
    if status == "completed":
        # A session its respondent ended during the turn had its check queued by `end`: a
        # second one, once the first has run, would find the interview closed by the first.
        if jobs is not None and ended_reason != RESPONDENT_ENDED:
            await autoclose.after_completion(db, jobs, session_id)
        reason = ended_reason or "finished"
        await events.announce_end(session_id, SessionCompleted(reason), fence)


async def end(services: EndingParts, session_id: str, reason: str = RESPONDENT_ENDED) -> bool:
    """End early; returns False when the session had already ended."""
    awaiting = await sessions.end(services.db, session_id, reason)
    if awaiting is None:
        # Ended before, yet perhaps never told: Redis was down then, or has lost its data
        # since. Telling it again costs nothing when it was (once per log).
        await announce_end(services, await sessions.load(services.db, session_id))
        return False
    # Queued to start a little later: the last turn's audio is stored once it is spoken.
    await final_transcript.after_end(services, session_id)
    # Before the end is announced, so that whoever sees it sees the check queued.
    await autoclose.after_completion(services.db, services.jobs, session_id)
    await session_analysis.after_end(services, session_id)
    # A turn still owed finishes first and its runner announces the end after it (see
    # above). SQL says a turn is owed even when Redis lost track of it: then recovery
    # finishes it and announces.
    if awaiting == "interviewer" or await services.leases.owes(session_id):
        return True
    await services.events.announce_end(session_id, SessionCompleted(reason))
    return True


async def announce_end(services: EndingParts, session: Row[Any]) -> bool:
    """Tell a session's stream readers that it ended, unless it is live or still owes a turn
    (whose runner tells them after it), at most once per event log: a Redis that lost its
    data, or was down when the session ended, may not have it. True when the session has
    nothing more to say (ended, no turn owed)."""
    if session.status not in TERMINAL_STATUSES or session.awaiting == "interviewer":
        return False
    if await services.leases.owes(session.id):
        return False
    await services.events.announce_end(session.id, _end_event(session.status, session.ended_reason))
    return True


def _end_event(status: str, reason: str | None) -> SessionEvent:
    if status == "abandoned":
        return SessionState("abandoned", reason)
    return SessionCompleted(reason or "finished")


async def abandon_idle(services: EndingParts) -> int:
    before = utcnow() - timedelta(seconds=services.settings.session_idle_timeout_seconds)
    count = 0
    for session_id in await session_sweeps.idle_sessions(services.db, before):
        if await session_sweeps.abandon(services.db, session_id, before):
            await services.events.announce_end(session_id, _end_event("abandoned", "idle_timeout"))
            await final_transcript.after_end(services, session_id)
            await session_analysis.after_end(services, session_id)
            count += 1
    return count
