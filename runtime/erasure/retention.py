"""Retention: an interview's finished sessions are erased `retention_days` after they ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from runtime.erasure import erase as erasure
from runtime.interviews.views import RETENTION_DAYS
from runtime.platform.clock import utcnow
from runtime.stores import schema

iv = schema.interviews
s = schema.sessions
# Live sessions are never erased by retention: only these, by when they ended.
FINISHED = ("completed", "abandoned")
BATCH = 100  # sessions looked up (and erased) at a time
PER_PASS = 5000  # at most this many per pass: a backlog is worked off over a few passes
MIN_DAYS, MAX_DAYS = RETENTION_DAYS


@dataclass(frozen=True)
class Retained:
    erased: int
    finished: int  # erasures cut off by a dead process, finished now

    def __bool__(self) -> bool:
        return bool(self.erased or self.finished)


async def run(services: erasure.ErasureParts, now: datetime | None = None) -> Retained:
    """One pass; safe on every node at once (a session erased elsewhere is skipped)."""
    now = now or utcnow()
    finished = await erasure.finish_unfinished(services, now)
    async with services.db.connect() as conn:
        query = select(iv.c.id, iv.c.retention_days).where(iv.c.retention_days.is_not(None))
        policies = (await conn.execute(query.order_by(iv.c.id))).all()
    erased = 0
    for interview_id, days in policies:
        cutoff = now - timedelta(days=days)
        while erased < PER_PASS:
            due = await _due(services, interview_id, cutoff, min(BATCH, PER_PASS - erased))
            done = await erasure.erase_many(services, due, erased_by="retention")
            erased += len(done)
            if len(due) < BATCH:
                break
    return Retained(erased, finished)


async def _due(
    services: erasure.ErasureParts, interview_id: str, cutoff: datetime, limit: int
) -> list[str]:
    async with services.db.connect() as conn:
        rows = await conn.execute(
            select(s.c.id)
            .where(
                s.c.interview_id == interview_id,
                s.c.status.in_(FINISHED),
                s.c.completed_at < cutoff,
            )
            .order_by(s.c.completed_at, s.c.id)
            .limit(limit)
        )
        return [r.id for r in rows]
