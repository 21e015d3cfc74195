"""Export upkeep: old ZIPs expire, lost export jobs are queued again, dead uploads aborted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from saq.job import TERMINAL_STATUSES
from sqlalchemy import select, update

from runtime.exports import records as exports
from runtime.platform.clock import utcnow
from runtime.platform.settings import Settings
from runtime.stores.blobs import BlobStore
from runtime.stores.database import Database
from runtime.stores.jobs import JobQueue

e = exports.e
PREFIX = "exports/"
STALE_UPLOAD_AGE = timedelta(days=1)  # no export write runs this long; a killed one's parts
BATCH = 500  # rows per pass and step: a backlog is worked off over a few passes


class UpkeepParts(Protocol):
    """What export upkeep needs of the process's parts (runtime.services.Services)."""

    settings: Settings
    db: Database
    blobs: BlobStore
    jobs: JobQueue


@dataclass(frozen=True)
class Upkept:
    requeued: int
    lost: int
    expired: int
    uploads_aborted: int

    def __bool__(self) -> bool:
        return any((self.requeued, self.lost, self.expired, self.uploads_aborted))


async def run(services: UpkeepParts, now: datetime | None = None) -> Upkept:
    """One pass; safe to run on every node at once (each step is conditional or idempotent)."""
    now = now or utcnow()
    requeued, lost = await requeue_lost(services)
    expired = await expire_old(services, now)
    aborted = await services.blobs.abort_stale_uploads(PREFIX, now - STALE_UPLOAD_AGE)
    return Upkept(requeued, lost, expired, aborted)


async def requeue_lost(services: UpkeepParts) -> tuple[int, int]:
    """Queue again the unfinished exports that have no job (the enqueue after the insert
    failed, or Redis lost it); fail those whose job ended without finishing them."""
    async with services.db.connect() as conn:
        query = select(e.c.id).where(e.c.status.in_(exports.UNFINISHED))
        ids = [r.id for r in await conn.execute(query.order_by(e.c.created_at).limit(BATCH))]
    requeued = lost = 0
    for export_id in ids:
        job = await services.jobs.job(exports.job_key(export_id))
        if job is None:
            heartbeat = services.settings.job_heartbeat_seconds
            requeued += await exports.enqueue(services.jobs, heartbeat, export_id)
        elif job.status in TERMINAL_STATUSES:
            # e.g. its worker was killed on the last attempt: saq gave up, nobody marked it.
            error = f"the export job ended ({job.status}) without finishing it"
            lost += await exports.failed(services.db, export_id, error)
    return requeued, lost


async def expire_old(services: UpkeepParts, now: datetime) -> int:
    """Mark exports past retention `expired`, then delete their ZIPs."""
    cutoff = now - timedelta(hours=services.settings.export_retention_hours)
    async with services.db.begin() as conn:
        marked = await conn.execute(
            update(e)
            .where(e.c.status == "succeeded", e.c.completed_at < cutoff)
            .values(status="expired")
        )
    # The row says expired before its ZIP goes, so no link is handed out for a deleted file;
    # a crash in between leaves blob_key set, and the next pass deletes it.
    async with services.db.connect() as conn:
        query = select(e.c.id, e.c.blob_key).where(
            e.c.status == "expired", e.c.blob_key.is_not(None)
        )
        doomed = (await conn.execute(query.limit(BATCH))).all()
    for export_id, key in doomed:
        await services.blobs.delete(key)
        async with services.db.begin() as conn:
            await conn.execute(update(e).where(e.c.id == export_id).values(blob_key=None))
    return int(marked.rowcount)
