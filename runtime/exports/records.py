"""Async exports: the record a job fills in (status, progress, counts) and how it is shown."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from sqlalchemy import Row, delete, insert, select, update

from runtime.exports.source import Selection
from runtime.interviews import service as interviews
from runtime.platform.clock import parse, utcnow
from runtime.platform.errors import Conflict, NotFound, ValidationError
from runtime.platform.ids import new_id
from runtime.platform.views import Meta, Timestamp, View
from runtime.stores import schema
from runtime.stores.blobs import BlobStore
from runtime.stores.database import Database
from runtime.stores.jobs import JobQueue
from runtime.stores.pagination import Page, fetch_page
from runtime.webhooks import outbox

e = schema.exports
ExportStatus = Literal["queued", "running", "succeeded", "failed", "expired"]
STATUSES: tuple[ExportStatus, ...] = get_args(ExportStatus)
UNFINISHED: tuple[ExportStatus, ...] = ("queued", "running")
# A worker that comes late must not change these.
FINISHED: tuple[ExportStatus, ...] = ("succeeded", "expired")
JOB_FUNCTION = "run_export"


def job_key(export_id: str) -> str:
    return f"export:{export_id}"


def blob_key(export_id: str) -> str:
    return f"exports/{export_id}.zip"


def _timestamp(value: str | None, name: str) -> str | None:
    return None if value is None else parse(value, name).isoformat()


async def create(db: Database, workspace_id: str, options: dict[str, Any]) -> dict[str, Any]:
    """Record a queued export of one interview (or the workspace) with validated options."""
    interview_id = options.get("interview_id")
    stored = {
        "format": options.get("format") or "json",
        "include_audio": bool(options.get("include_audio", True)),
        "include_pdf": bool(options.get("include_pdf", False)),
        "include_synthesis": bool(options.get("include_synthesis", False)),
        "anonymize": bool(options.get("anonymize", False)),
        "include_test": bool(options.get("include_test", False)),
        "statuses": list(options.get("statuses") or []),
        "created_from": _timestamp(options.get("created_from"), "created_from"),
        "created_to": _timestamp(options.get("created_to"), "created_to"),
    }
    if stored["include_synthesis"] and interview_id is None:
        raise ValidationError(
            "include_synthesis needs interview_id: a synthesis is of one interview",
            field="include_synthesis",
        )
    row = {
        "id": new_id("exp"),
        "workspace_id": workspace_id,
        "interview_id": interview_id,
        "options": stored,
        "status": "queued",
        "sessions_total": None,
        "sessions_done": 0,
        "audio_files": 0,
        "audio_missing": 0,
        "blob_key": None,
        "size_bytes": None,
        "error": None,
        "created_at": utcnow(),
        "completed_at": None,
    }
    async with db.begin() as conn:
        if interview_id is not None:
            interview = await interviews.owned_row(conn, workspace_id, interview_id)
            # A draft can be deleted, which an export referring to it would block.
            if interview.status == "draft":
                raise Conflict(
                    f"interview {interview_id} is a draft: publish it before exporting it "
                    "(its preview sessions stream from GET /v1/interviews/{id}/transcripts"
                    "?include_test=true)"
                )
        await conn.execute(insert(e).values(**row))
    return row


def selection(row: Row[Any] | dict[str, Any]) -> Selection:
    r = row._mapping if isinstance(row, Row) else row
    o = r["options"]

    def stamp(name: str) -> datetime | None:
        return datetime.fromisoformat(o[name]) if o.get(name) else None

    return Selection(
        r["workspace_id"],
        r["interview_id"],
        statuses=tuple(o["statuses"]),
        created_from=stamp("created_from"),
        created_to=stamp("created_to"),
        include_test=o["include_test"],
        anonymize=o["anonymize"],
    )


async def enqueue(jobs: JobQueue, heartbeat: int, export_id: str) -> bool:
    """Queue the export's job; False when it already is (the key de-duplicates)."""
    job = await jobs.enqueue(
        JOB_FUNCTION, key=job_key(export_id), heartbeat=heartbeat, export_id=export_id
    )
    return job is not None


async def list_page(
    db: Database,
    workspace_id: str,
    *,
    status: ExportStatus | None,
    interview_id: str | None,
    cursor: str | None,
    limit: int,
) -> Page[dict[str, Any]]:
    query = select(e).where(e.c.workspace_id == workspace_id)
    if status:
        query = query.where(e.c.status == status)
    if interview_id:
        query = query.where(e.c.interview_id == interview_id)
    async with db.connect() as conn:
        return await fetch_page(conn, query, e, cursor, limit)


async def remove(db: Database, blobs: BlobStore, workspace_id: str, export_id: str) -> None:
    """Delete a finished export: its ZIP, then its row. One still being written: Conflict."""
    row = await load(db, export_id, workspace_id)
    if row.status in UNFINISHED:
        raise Conflict(f"export {export_id} is {row.status}; delete it once it has finished")
    if row.blob_key:
        await blobs.delete(row.blob_key)
    async with db.begin() as conn:
        await conn.execute(delete(e).where(e.c.id == export_id, e.c.status.not_in(UNFINISHED)))


async def load(db: Database, export_id: str, workspace_id: str | None = None) -> Row[Any]:
    async with db.connect() as conn:
        found = (await conn.execute(select(e).where(e.c.id == export_id))).first()
    if found is None or (workspace_id is not None and found.workspace_id != workspace_id):
        raise NotFound(f"no export {export_id}")
    return found


async def _set(db: Database, export_id: str, *conditions: Any, **values: Any) -> bool:
    async with db.begin() as conn:
        done = await conn.execute(
            update(e).where(e.c.id == export_id, *conditions).values(**values)
        )
        return bool(done.rowcount == 1)


async def started(db: Database, export_id: str, total: int) -> None:
    # A retry starts over: the counts restart with it.
    await _set(
        db, export_id, e.c.status.not_in(FINISHED),
        status="running", sessions_total=total, sessions_done=0, error=None,
    )  # fmt: skip


async def progressed(db: Database, export_id: str, done: int) -> None:
    await _set(db, export_id, e.c.status == "running", sessions_done=done)


async def succeeded(
    db: Database, export_id: str, key: str, size: int, done: int, audio_files: int, missing: int
) -> bool:
    """Mark it done once; False if it already was (another worker got there first)."""
    return await _finish(
        db, export_id, e.c.status.not_in(FINISHED),
        status="succeeded", blob_key=key, size_bytes=size, sessions_done=done,
        audio_files=audio_files, audio_missing=missing, completed_at=utcnow(),
    )  # fmt: skip


async def failed(db: Database, export_id: str, error: str) -> bool:
    """Mark it failed once; False if it had already finished or failed."""
    return await _finish(
        db, export_id, e.c.status.not_in((*FINISHED, "failed")),
        status="failed", error=error[:2000], completed_at=utcnow(),
    )  # fmt: skip


async def _finish(db: Database, export_id: str, condition: Any, **values: Any) -> bool:
    # The change and its `export.completed` webhook in one transaction: announced exactly
    # when, and only if, this call finished the export.
    async with db.begin() as conn:
        changed = (
            await conn.execute(
                update(e).where(e.c.id == export_id, condition).values(**values).returning(e)
            )
        ).first()
        if changed is None:
            return False
        await outbox.emit(conn, changed.workspace_id, "export.completed", completed_data(changed))
        return True


def completed_data(r: Row[Any]) -> dict[str, Any]:
    """What an export.completed event carries; the download link comes from GET /v1/exports/{id}."""
    return {
        "export_id": r.id,
        "interview_id": r.interview_id,
        "status": r.status,
        "size_bytes": r.size_bytes,
        "sessions": r.sessions_done,
        "audio_files": r.audio_files,
        "audio_missing": r.audio_missing,
        "error": r.error,
    }


class ExportCounts(View):
    sessions_total: Annotated[int | None, Meta(description="Known once the job starts")]
    sessions_done: int
    audio_files: int
    audio_missing: int


class Export(View):
    id: str
    interview_id: Annotated[str | None, Meta(description="null: the whole workspace")]
    status: ExportStatus
    progress: Annotated[float, Meta(ge=0, le=1)]
    counts: ExportCounts
    options: Annotated[dict[str, Any], Meta(description="What was asked for")]
    size_bytes: Annotated[int | None, Meta(description="The ZIP's size once written")]
    error: Annotated[str | None, Meta(description="Why it failed, after its retries")]
    created_at: Timestamp
    completed_at: Timestamp | None
    # Filled in by whoever can sign a link (the API), once the export succeeded.
    url: Annotated[str | None, Meta(description="Signed link to the ZIP once succeeded")] = None
    url_expires_in: Annotated[int | None, Meta(description="Seconds the link stays valid")] = None


def to_view(r: Row[Any] | Mapping[str, Any]) -> Export:
    m = r._mapping if isinstance(r, Row) else r
    total = m["sessions_total"]
    if m["status"] in FINISHED:
        progress = 1.0
    elif total:
        progress = round(min(m["sessions_done"] / total, 0.99), 4)
    else:
        progress = 0.0
    counts = ExportCounts.from_row(m, sessions_total=total)
    return Export.from_row(m, progress=progress, counts=counts)
