"""Keeping summaries current: a session that ends gets its analysis computed by a job."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

import structlog
from sqlalchemy import exists, select

from runtime.platform.settings import Settings
from runtime.stores import schema
from runtime.stores.database import Database
from runtime.stores.jobs import JobQueue

log = structlog.get_logger(__name__)
JOB_FUNCTION = "analyze_session"
# A session's analysis is a fraction of a second; this bounds a pathological one.
JOB_TIMEOUT_SECONDS = 120
ENDED = ("completed", "abandoned")
BATCH = 200  # ended sessions without a row the upkeep queues per pass
# The sweeper looks this far back at every pass for sessions that ended (by their
# interviewer's last turn, whose runner has no job queue to ask).
RECENT = timedelta(minutes=1)
_s, _sa = schema.sessions, schema.session_analyses


class QueueParts(Protocol):
    """What queueing the job needs of the process's parts (runtime.services.Services)."""

    settings: Settings
    db: Database
    jobs: JobQueue


def job_key(session_id: str) -> str:
    return f"session-analysis:{session_id}"


async def enqueue(parts: QueueParts, session_id: str) -> bool:
    """Queue the session's analysis; False when it already is queued or running."""
    job = await parts.jobs.enqueue(
        JOB_FUNCTION,
        key=job_key(session_id),
        timeout=JOB_TIMEOUT_SECONDS,
        heartbeat=parts.settings.job_heartbeat_seconds,
        session_id=session_id,
    )
    return job is not None


async def after_end(parts: QueueParts, session_id: str) -> bool:
    """Queue the analysis of a session that just ended; an enqueue that fails is left to the
    upkeep (`requeue`), never fails the ending."""
    try:
        return await enqueue(parts, session_id)
    except Exception:
        log.warning("session_analysis.enqueue_failed", session_id=session_id, exc_info=True)
    return False


async def requeue(parts: QueueParts, ended_after: datetime | None = None) -> int:
    """Queue the analysis of ended sessions that have no row yet, at most BATCH of them;
    how many were queued. With `ended_after`, only those whose last activity (their end)
    came after it (the sweeper's every pass); without, any (the upkeep)."""
    analysed = exists().where(_sa.c.session_id == _s.c.id)
    query = select(_s.c.id).where(_s.c.status.in_(ENDED), ~analysed)
    if ended_after is not None:
        query = query.where(_s.c.awaiting == "respondent", _s.c.last_activity_at > ended_after)
    async with parts.db.connect() as conn:
        found = await conn.execute(query.order_by(_s.c.last_activity_at.desc()).limit(BATCH))
        ids = [r.id for r in found]
    queued = 0
    for session_id in ids:
        queued += await enqueue(parts, session_id)
    return queued
