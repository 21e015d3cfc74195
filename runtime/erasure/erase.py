"""Erasing a session everywhere — SQL, its live state in Redis, its files, kept answers —
for a researcher, the respondent and retention alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, Protocol

import structlog
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.access.idempotency import IdempotencyStore
from runtime.access.rate_limits import RateLimiter
from runtime.analysis import forget as analysis
from runtime.analysis.summaries import queue as session_analysis
from runtime.exports import members as export_members
from runtime.interviews import service as interviews
from runtime.live.early_turns import EarlyStarts
from runtime.live.eventlog import EventLog
from runtime.platform.clock import utcnow
from runtime.platform.errors import NotFound
from runtime.platform.views import Meta, Timestamp, View
from runtime.sessions import notes
from runtime.sessions import tokens as session_tokens
from runtime.stores import schema
from runtime.stores.blobs import BlobStore
from runtime.stores.database import Database
from runtime.stores.jobs import JobQueue
from runtime.transcripts import artifacts
from runtime.webhooks import outbox

log = structlog.get_logger(__name__)
ErasedBy = Literal["api_key", "respondent", "retention"]
s = schema.sessions
m = schema.messages
a = schema.artifacts
j = schema.erasures
st = schema.steering_instructions
# An erasure whose journal entry is older than this was cut off after its SQL part (its
# process died): the sweeper's retention pass finishes it.
UNFINISHED_AFTER = timedelta(minutes=1)
JOURNAL_BATCH = 100


@dataclass(frozen=True)
class Plan:
    """What of an erased session lives outside SQL, as found when its rows were deleted;
    kept in the journal (ids and keys only) until it is gone too."""

    session_id: str
    turn_ids: tuple[str, ...]  # whose attempt counters may be in Redis
    blob_keys: tuple[str, ...]  # its files' keys, as its artifacts named them
    # Whose live feed holds its events (None in journals written before the feed).
    interview_id: str | None = None

    def stored(self) -> dict[str, Any]:
        return {
            "turn_ids": list(self.turn_ids),
            "blob_keys": list(self.blob_keys),
            "interview_id": self.interview_id,
        }

    @classmethod
    def from_stored(cls, session_id: str, stored: dict[str, Any]) -> Plan:
        return cls(
            session_id,
            tuple(stored["turn_ids"]),
            tuple(stored["blob_keys"]),
            stored.get("interview_id"),
        )


class ErasedCounts(View):
    messages: Annotated[int, Meta(ge=0)]
    files: Annotated[int, Meta(description="Audio, PDFs and cached transcript files deleted", ge=0)]
    webhook_deliveries: Annotated[
        int,
        Meta(description="Deliveries whose data was redacted (unsent ones are not sent)", ge=0),
    ]
    idempotency_records: Annotated[
        int, Meta(description="Kept Idempotency-Key answers about the session", ge=0)
    ]
    live_keys: Annotated[
        int, Meta(description="Redis keys of its live state (event log, lease, …)", ge=0)
    ]


class ErasureReceipt(View):
    """What an erasure removed"""

    session_id: str
    interview_id: str
    erased_at: Timestamp
    erased: ErasedCounts
    exports_containing: Annotated[
        list[str],
        Meta(
            description="Exports whose ZIP holds the session (or will: still being written). "
            "A ZIP cannot be edited: delete these exports to finish the erasure"
        ),
    ]


@dataclass(frozen=True)
class _Forgotten:
    """The SQL part's result."""

    plan: Plan
    interview_id: str
    token_hash: str
    messages: int
    deliveries: int
    exports: tuple[str, ...]


class ErasureParts(Protocol):
    """What erasing needs of the process's parts (runtime.services.Services)."""

    db: Database
    blobs: BlobStore
    events: EventLog
    early: EarlyStarts
    idempotency: IdempotencyStore
    limiter: RateLimiter
    jobs: JobQueue  # a queued analysis of the session is dropped


@dataclass(frozen=True)
class _Elsewhere:
    live_keys: int
    files: int
    idempotency_records: int


async def erase(
    services: ErasureParts,
    session_id: str,
    *,
    erased_by: ErasedBy,
    workspace_id: str | None = None,
) -> ErasureReceipt:
    """Erase the session (NotFound if there is none, in `workspace_id` when given).

    SQL first, in one transaction: from then on every reader and writer finds it gone, and
    the journal remembers what is left. Then Redis — which ends open streams with
    `session.deleted` and refuses any later append — and the blob store, whose writers look
    for the session after writing (`artifacts.save_or_discard`), so none outlives it.
    """
    now = utcnow()
    async with services.db.begin() as conn:
        forgotten = await _forget_in_sql(conn, session_id, workspace_id, erased_by, now)
    elsewhere = await _forget_elsewhere(services, forgotten.plan)
    services.early.forget(session_id)
    session_tokens.forget_token(forgotten.token_hash)
    log.info("session.erased", session_id=session_id, erased_by=erased_by)
    return ErasureReceipt(
        session_id=session_id,
        interview_id=forgotten.interview_id,
        erased_at=now,
        erased=ErasedCounts(
            messages=forgotten.messages,
            files=elsewhere.files,
            webhook_deliveries=forgotten.deliveries,
            idempotency_records=elsewhere.idempotency_records,
            live_keys=elsewhere.live_keys,
        ),
        exports_containing=list(forgotten.exports),
    )


async def erase_many(
    services: ErasureParts, session_ids: list[str], *, erased_by: ErasedBy
) -> list[ErasureReceipt]:
    """Erase each session that still exists (another node may have got there first)."""
    receipts = []
    for session_id in session_ids:
        try:
            receipts.append(await erase(services, session_id, erased_by=erased_by))
        except NotFound:
            continue
    return receipts


async def delete_draft(services: ErasureParts, workspace_id: str, interview_id: str) -> None:
    """Delete a draft interview, its preview sessions erased first like any session (their
    files, live state and kept answers too, not only their rows)."""
    async with services.db.connect() as conn:
        row = await interviews.owned_row(conn, workspace_id, interview_id)
        previews = await conn.execute(select(s.c.id).where(s.c.interview_id == interview_id))
        ids = [r.id for r in previews]
    if row.status == "draft":
        await erase_many(services, ids, erased_by="api_key")
    # Checks (again, under lock) that it is a draft; a preview started meanwhile goes in SQL.
    await interviews.delete(services.db, workspace_id, interview_id)
    await services.events.drop_feed(interview_id)  # only its previews' tombstones were left


async def _forget_in_sql(
    conn: AsyncConnection,
    session_id: str,
    workspace_id: str | None,
    erased_by: ErasedBy,
    now: datetime,
) -> _Forgotten:
    # Locked (PostgreSQL; SQLite's writer lock serializes already): a turn committing, a file
    # being recorded or an export admitting the session either finishes first or finds it gone.
    row = (await conn.execute(select(s).where(s.c.id == session_id).with_for_update())).first()
    if row is None or (workspace_id is not None and row.workspace_id != workspace_id):
        raise NotFound(f"no session {session_id}")
    keys = await conn.execute(select(a.c.blob_key).where(a.c.session_id == session_id))
    exports = await export_members.holding(conn, row.workspace_id, session_id)
    deliveries = await outbox.redact_session(conn, session_id)
    # Before the messages go: its quotes point at them.
    await analysis.forget_session(conn, session_id, row.interview_id)
    # The researchers' notes and instructions too (notes point at the messages).
    await notes.forget_session(conn, session_id)
    await conn.execute(delete(st).where(st.c.session_id == session_id))
    messages = await conn.execute(delete(m).where(m.c.session_id == session_id))
    await conn.execute(delete(a).where(a.c.session_id == session_id))
    await export_members.forget(conn, session_id)
    await conn.execute(delete(s).where(s.c.id == session_id))
    plan = Plan(
        session_id,
        tuple(f"t{n}" for n in range(1, row.turn_seq + 1)),
        tuple(r.blob_key for r in keys),
        row.interview_id,
    )
    await conn.execute(insert(j).values(session_id=session_id, plan=plan.stored(), created_at=now))
    # Queued with the erasure itself, so it is sent after it, and only if it happened.
    data = {"session_id": session_id, "interview_id": row.interview_id, "erased_by": erased_by}
    await outbox.emit(conn, row.workspace_id, "session.deleted", data)
    return _Forgotten(
        plan, row.interview_id, row.token_hash, int(messages.rowcount), deliveries, tuple(exports)
    )


async def _forget_elsewhere(services: ErasureParts, plan: Plan) -> _Elsewhere:
    """Everything of the session outside SQL; safe to run again (the journal's retry)."""
    session_id = plan.session_id
    # Redis first: once the session is marked erased, no writer brings its log back.
    live_keys = await services.events.erase(session_id, list(plan.turn_ids), plan.interview_id)
    records = await services.idempotency.forget_session(session_id)
    await services.limiter.forget_session(session_id)
    await services.jobs.forget(session_analysis.job_key(session_id))
    prefixes = artifacts.blob_prefixes(session_id)
    files = 0
    for prefix in prefixes:
        files += await services.blobs.delete_prefix(prefix)
    for key in plan.blob_keys:
        if not key.startswith(prefixes) and await services.blobs.info(key) is not None:
            await services.blobs.delete(key)
            files += 1
    async with services.db.begin() as conn:
        await conn.execute(delete(j).where(j.c.session_id == session_id))
    return _Elsewhere(live_keys, files, records)


async def finish_unfinished(services: ErasureParts, now: datetime | None = None) -> int:
    """Finish the erasures whose process died after their SQL part; returns how many."""
    before = (now or utcnow()) - UNFINISHED_AFTER
    async with services.db.connect() as conn:
        rows = (
            await conn.execute(
                select(j)
                .where(j.c.created_at < before)
                .order_by(j.c.created_at)
                .limit(JOURNAL_BATCH)
            )
        ).all()
    for row in rows:
        await _forget_elsewhere(services, Plan.from_stored(row.session_id, row.plan))
        services.early.forget(row.session_id)
    return len(rows)
