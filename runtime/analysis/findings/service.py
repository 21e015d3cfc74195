"""Findings one at a time: create, read, list, change, delete (docs/synthesis.md, "Findings").

A plain create refuses a second finding of the same type and title key (409 conflict): the
bulk upsert (runtime.analysis.findings.bulk) is the way to merge into one. Evidence given to a
create or a PATCH must all be verified, or the request is refused with a 400 naming the quote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.analysis.findings import evidence, records
from runtime.analysis.findings.evidence import Evidence
from runtime.analysis.findings.views import Finding, SourceKind
from runtime.analysis.vocabulary import FindingStatus, FindingType, Priority
from runtime.interviews import service as interviews
from runtime.platform.clock import utcnow
from runtime.platform.errors import Conflict
from runtime.platform.ids import new_id
from runtime.stores import schema
from runtime.stores.database import Database
from runtime.stores.pagination import Page, fetch_page

DEFAULT_STATUS: FindingStatus = "emerging"
DEFAULT_PRIORITY: Priority = "medium"
f = schema.findings
_q = schema.quotes


@dataclass(frozen=True)
class NewFinding:
    """A finding as given to a create or a bulk upsert; None: not given."""

    type: FindingType
    title: str
    description: str | None = None
    status: FindingStatus | None = None
    priority: Priority | None = None
    confidence: float | None = None
    prevalence: int | None = None
    tags: tuple[str, ...] | None = None
    evidence: tuple[Evidence, ...] = field(default=())


def new_row(
    workspace_id: str, interview_id: str, item: NewFinding, key: str, source: dict[str, Any]
) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": new_id("fnd"),
        "workspace_id": workspace_id,
        "interview_id": interview_id,
        "type": item.type,
        "title": item.title,
        "title_key": key,
        "description": item.description or "",
        "status": item.status or DEFAULT_STATUS,
        "priority": item.priority or DEFAULT_PRIORITY,
        "confidence": item.confidence,
        "prevalence": 0,
        "tags": list(item.tags or ()),
        "source": source,
        "created_at": now,
        "updated_at": now,
    }


async def create(
    db: Database,
    workspace_id: str,
    interview_id: str,
    item: NewFinding,
    kind: SourceKind = "manual",
) -> Finding:
    """A new finding (409 if its type and title key exist); its evidence all verified (400
    naming the quote that is not); prevalence: as given, else the evidence's sessions."""
    key = records.key_of(item.title)
    async with db.begin() as conn:
        await interviews.owned_row(conn, workspace_id, interview_id)
        verified = await evidence.verify(conn, interview_id, item.evidence, strict=True)
        values = new_row(workspace_id, interview_id, item, key, {"kind": kind})
        if not await records.insert_new(conn, values):
            raise Conflict(f"a {item.type} finding titled {item.title!r} exists already")
        owner = (workspace_id, interview_id)
        attached = await evidence.attach(conn, owner, values["id"], verified.spans, utcnow())
        prevalence = item.prevalence if item.prevalence is not None else attached.new_sessions
        await conn.execute(update(f).where(f.c.id == values["id"]).values(prevalence=prevalence))
        return await records.view(conn, interview_id, values["id"])


async def get(db: Database, workspace_id: str, interview_id: str, finding_id: str) -> Finding:
    async with db.connect() as conn:
        await interviews.owned_row(conn, workspace_id, interview_id)
        return await records.view(conn, interview_id, finding_id)


async def list_page(
    db: Database,
    workspace_id: str,
    interview_id: str,
    *,
    type: FindingType | None = None,
    status: FindingStatus | None = None,
    priority: Priority | None = None,
    cursor: str | None = None,
    limit: int,
) -> Page[Finding]:
    """The interview's findings, newest first, with the filters given."""
    query = select(f).where(f.c.interview_id == interview_id)
    for column, wanted in ((f.c.type, type), (f.c.status, status), (f.c.priority, priority)):
        if wanted is not None:
            query = query.where(column == wanted)
    async with db.connect() as conn:
        await interviews.owned_row(conn, workspace_id, interview_id)
        rows = await fetch_page(conn, query, f, cursor, limit)
        return rows.of(await records.views(conn, interview_id, rows.items))


async def update_fields(
    db: Database,
    workspace_id: str,
    interview_id: str,
    finding_id: str,
    fields: Mapping[str, Any],
) -> Finding:
    """Changes only the fields given. `evidence` replaces the finding's evidence (all of it
    verified); then, unless `prevalence` is given too, prevalence is its sessions again. A
    new title or type taken by another finding is a 409."""
    values = {k: v for k, v in fields.items() if k != "evidence"}
    if "tags" in values:
        values["tags"] = list(values["tags"])
    try:
        async with db.begin() as conn:
            await interviews.owned_row(conn, workspace_id, interview_id)
            row = await records.row_of(conn, interview_id, finding_id, for_update=True)
            if "title" in values or "type" in values:
                values["title_key"] = records.key_of(values.get("title", row.title))
                await _refuse_taken(conn, row, values.get("type", row.type), values["title_key"])
            if "evidence" in fields:
                given: Sequence[Evidence] = fields["evidence"]
                verified = await evidence.verify(conn, interview_id, given, strict=True)
                owner = (workspace_id, interview_id)
                replaced = await evidence.replace(conn, owner, finding_id, verified.spans, utcnow())
                values.setdefault("prevalence", replaced.new_sessions)
            values["updated_at"] = utcnow()
            await conn.execute(update(f).where(f.c.id == finding_id).values(**values))
            return await records.view(conn, interview_id, finding_id)
    except IntegrityError as exc:  # PostgreSQL: another request took the key meanwhile
        raise Conflict("a finding of that type and title exists already") from exc


async def _refuse_taken(conn: AsyncConnection, row: Any, type: str, key: str) -> None:
    taken = await conn.scalar(
        select(func.count())
        .select_from(f)
        .where(
            f.c.interview_id == row.interview_id,
            f.c.type == type,
            f.c.title_key == key,
            f.c.id != row.id,
        )
    )
    if taken:
        raise Conflict(f"a {type} finding with that title exists already", field="title")


async def delete_one(db: Database, workspace_id: str, interview_id: str, finding_id: str) -> None:
    """Deletes the finding and its evidence (a theme's own quotes stay with the synthesis)."""
    async with db.begin() as conn:
        await interviews.owned_row(conn, workspace_id, interview_id)
        await records.row_of(conn, interview_id, finding_id, for_update=True)
        await conn.execute(delete(_q).where(_q.c.finding_id == finding_id))
        await conn.execute(delete(f).where(f.c.id == finding_id))
