"""An interview that closes by itself: at its participants_needed, or once it is saturated.

When a session completes, a job checks its interview (never the respondent's last turn:
the check runs after the commit, in a worker): if it is still active and has
`participants_needed` completed non-test sessions, or `close_when_saturated` and
saturation (runtime.analysis.saturation, default parameters, completed non-test
sessions) says `saturated`, it is closed through the lifecycle's own transition, whose
interview.closed webhook then carries `reason` (participants_needed or saturated; a
researcher's close is manual). Two sessions completing at once may queue two checks; the
transition's status condition lets one close it, and the other finds it closed.

Each completed session has its own job (its key names the interview and the session): a
check is never lost to one already running, and a session ended twice (by its respondent
while its last turn was owed) is checked once: by the respondent's end, the turn's runner
leaving it to that (runtime.live.ending).
"""

from __future__ import annotations

import structlog
from sqlalchemy import func, select

from runtime.analysis import corpus
from runtime.analysis import saturation_reads as saturation
from runtime.analysis.saturation import Params
from runtime.interviews import service as interviews
from runtime.platform.errors import Conflict
from runtime.stores import schema
from runtime.stores.database import Database
from runtime.stores.jobs import JobQueue

log = structlog.get_logger(__name__)

JOB_FUNCTION = "check_auto_close"
# A saturation check reads the interview's sessions twice: minutes for a very large one.
JOB_TIMEOUT_SECONDS = 900
JOB_HEARTBEAT_SECONDS = 30
_s = schema.sessions
_i = schema.interviews


def job_key(interview_id: str, session_id: str) -> str:
    return f"autoclose:{interview_id}:{session_id}"


def wants_check(settings: dict[str, object] | None) -> bool:
    found = settings or {}
    return bool(found.get("participants_needed")) or bool(found.get("close_when_saturated"))


async def after_completion(db: Database, jobs: JobQueue, session_id: str) -> bool:
    """Queue the check of the completed session's interview if it may close by itself; a
    failure is logged, never raised: the session has ended whatever happens here."""
    try:
        async with db.connect() as conn:
            found = (
                await conn.execute(
                    select(_i.c.id, _i.c.status, _i.c.settings, _s.c.is_test)
                    .join(_s, _s.c.interview_id == _i.c.id)
                    .where(_s.c.id == session_id)
                )
            ).first()
        if found is None or found.is_test or found.status != "active":
            return False
        if not wants_check(found.settings):
            return False
        job = await jobs.enqueue(
            JOB_FUNCTION,
            key=job_key(found.id, session_id),
            timeout=JOB_TIMEOUT_SECONDS,
            heartbeat=JOB_HEARTBEAT_SECONDS,
            interview_id=found.id,
        )
        return job is not None
    except Exception:
        log.warning("autoclose.enqueue_failed", session_id=session_id, exc_info=True)
        return False


async def check(db: Database, interview_id: str) -> interviews.CloseReason | None:
    """Close the interview if it is due; the reason it was closed for, or None."""
    async with db.connect() as conn:
        row = (await conn.execute(select(_i).where(_i.c.id == interview_id))).first()
        if row is None or row.status != "active" or not wants_check(row.settings):
            return None
        completed = await conn.scalar(
            select(func.count()).select_from(_s).where(corpus.Filters().where(interview_id))
        )
    settings = row.settings or {}
    reason: interviews.CloseReason | None = None
    needed = settings.get("participants_needed")
    if needed and int(completed or 0) >= int(needed):
        reason = "participants_needed"
    elif settings.get("close_when_saturated"):
        found = await saturation.assessment(db, interview_id, Params(), corpus.Filters())
        if found.recommendation == "saturated":
            reason = "saturated"
    if reason is None:
        return None
    try:
        await interviews.transition(db, row.workspace_id, interview_id, "close", reason=reason)
    except Conflict:
        return None  # closed (or paused) meanwhile: once is enough
    log.info("autoclose.closed", interview_id=interview_id, reason=reason)
    return reason
