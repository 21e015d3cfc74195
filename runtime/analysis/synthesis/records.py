"""Synthesis runs: the row a job fills in (queued, running, progress, completed or failed)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, update

from runtime.analysis.corpus import Filters
from runtime.analysis.vocabulary import EngineName, SynthesisStatus
from runtime.interviews import service as interviews
from runtime.platform.clock import utcnow
from runtime.platform.errors import Conflict, NotFound
from runtime.platform.ids import new_id
from runtime.stores import schema
from runtime.stores.database import Database
from runtime.stores.jobs import JobQueue
from runtime.vocabulary import SessionStatus

y = schema.syntheses
JOB_FUNCTION = "run_synthesis"
UNFINISHED: tuple[SynthesisStatus, ...] = ("queued", "running")
# A synthesis reads every matching session: one at a time per interview is enough, and a
# second request while one runs is answered with the one running.
ONE_AT_A_TIME = True


def job_key(synthesis_id: str) -> str:
    return f"synthesis:{synthesis_id}"


def filters_of(row: Row[Any] | Mapping[str, Any]) -> Filters:
    stored = (row._mapping if isinstance(row, Row) else row)["filters"]
    since = stored.get("since")
    statuses: tuple[SessionStatus, ...] = tuple(stored.get("statuses") or ())
    return Filters(
        statuses=statuses,
        since=datetime.fromisoformat(since) if since else None,
        include_test=bool(stored.get("include_test")),
    )


def stored_filters(filters: Filters) -> dict[str, Any]:
    return {
        "statuses": list(filters.statuses),
        "since": filters.since.isoformat() if filters.since else None,
        "include_test": filters.include_test,
    }


async def create(
    db: Database, workspace_id: str, interview_id: str, engine: EngineName, filters: Filters
) -> tuple[dict[str, Any], bool]:
    """A queued synthesis of the interview, or the one already unfinished (False: not new)."""
    async with db.begin() as conn:
        # Locked, so two requests at once make one synthesis (SQLite's writes are serial).
        interview = await interviews.owned_row(conn, workspace_id, interview_id, for_update=True)
        if interview.status == "draft":
            raise Conflict(
                f"interview {interview_id} is a draft: it has no sessions to synthesize yet"
            )
        running = (
            await conn.execute(
                select(y)
                .where(y.c.interview_id == interview_id, y.c.status.in_(UNFINISHED))
                .order_by(y.c.created_at.desc())
                .limit(1)
            )
        ).first()
        if running is not None and ONE_AT_A_TIME:
            return dict(running._mapping), False
        row = {
            "id": new_id("syn"),
            "workspace_id": workspace_id,
            "interview_id": interview_id,
            "status": "queued",
            "progress": 0.0,
            "engine": engine,
            "filters": stored_filters(filters),
            "session_count": None,
            "result": None,
            "error": None,
            "created_at": utcnow(),
            "generated_at": None,
        }
        await conn.execute(insert(y).values(**row))
    return row, True


async def enqueue(jobs: JobQueue, heartbeat: int, synthesis_id: str) -> bool:
    job = await jobs.enqueue(
        JOB_FUNCTION, key=job_key(synthesis_id), heartbeat=heartbeat, synthesis_id=synthesis_id
    )
    return job is not None


async def load(db: Database, synthesis_id: str) -> Row[Any]:
    async with db.connect() as conn:
        row = (await conn.execute(select(y).where(y.c.id == synthesis_id))).first()
    if row is None:
        raise NotFound(f"no synthesis {synthesis_id}")
    return row


async def started(db: Database, synthesis_id: str, session_count: int) -> None:
    async with db.begin() as conn:
        await conn.execute(
            update(y)
            .where(y.c.id == synthesis_id, y.c.status.in_(UNFINISHED))
            .values(status="running", session_count=session_count, progress=0.0, error=None)
        )


async def progressed(db: Database, synthesis_id: str, share: float) -> None:
    async with db.begin() as conn:
        await conn.execute(
            update(y)
            .where(y.c.id == synthesis_id, y.c.status == "running")
            .values(progress=round(min(max(share, 0.0), 0.99), 4))
        )


async def unfinished(db: Database, limit: int) -> list[str]:
    async with db.connect() as conn:
        found = await conn.execute(
            select(y.c.id).where(y.c.status.in_(UNFINISHED)).order_by(y.c.created_at).limit(limit)
        )
        return [r.id for r in found]
