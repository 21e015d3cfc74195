"""Synthesis upkeep: runs whose job was lost are queued again; those whose job died, failed."""

from __future__ import annotations

from typing import Protocol

from saq.job import TERMINAL_STATUSES

from runtime.analysis.synthesis import pipeline, records
from runtime.platform.settings import Settings
from runtime.stores.database import Database
from runtime.stores.jobs import JobQueue

BATCH = 200


class UpkeepParts(Protocol):
    settings: Settings
    db: Database
    jobs: JobQueue


async def requeue_lost(parts: UpkeepParts) -> tuple[int, int]:
    """(queued again, failed): an unfinished run with no job (the enqueue after its insert
    failed, or Redis lost it) is queued again; one whose job ended without finishing it
    (its worker killed on the last attempt) is failed, so the next request starts afresh."""
    requeued = lost = 0
    for synthesis_id in await records.unfinished(parts.db, BATCH):
        job = await parts.jobs.job(records.job_key(synthesis_id))
        if job is None:
            heartbeat = parts.settings.job_heartbeat_seconds
            requeued += await records.enqueue(parts.jobs, heartbeat, synthesis_id)
        elif job.status in TERMINAL_STATUSES:
            await pipeline.fail(
                parts.db, synthesis_id, f"the synthesis job ended ({job.status}) unfinished"
            )
            lost += 1
    return requeued, lost
