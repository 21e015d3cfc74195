"""Upserting findings by type and title key: a second upsert merges into the first.

Merge rules (docs/synthesis.md, "Bulk upsert"), for an item whose (type, title key) exists:
- the title and source stay the first ones;
- description, status, priority and confidence are the item's when it gives them (the later
  write wins); tags given are added to the finding's, up to TAGS_MAX;
- evidence is merged: a span (message, start, end) the finding holds already is not added
  twice; past FINDING_EVIDENCE_MAX the rest is dropped and counted;
- prevalence grows by the item's `prevalence` when given (the participants it adds), else by
  the sessions among its merged evidence that none of the finding's earlier evidence was from.
A new finding's prevalence is the item's, else its evidence's distinct sessions.

Concurrency: the row is inserted with INSERT … ON CONFLICT DO NOTHING (on PostgreSQL a
concurrent insert of the same key is waited for) and then read back locked (SELECT … FOR
UPDATE; SQLite's single writer, BEGIN IMMEDIATE, serialises the whole transaction), so two
upserts of one new finding at once make one finding holding both evidences. Items are merged
in key order, so two bulk requests naming the same findings lock them in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.analysis.findings import evidence, records
from runtime.analysis.findings.evidence import Span
from runtime.analysis.findings.limits import PREVALENCE_MAX, TAGS_MAX
from runtime.analysis.findings.service import NewFinding, new_row
from runtime.analysis.findings.views import BulkResult, Upserted
from runtime.interviews import service as interviews
from runtime.platform.clock import utcnow
from runtime.stores import schema
from runtime.stores.database import Database

f = schema.findings


@dataclass(frozen=True)
class Upsert:
    """One finding to merge, its evidence verified already."""

    item: NewFinding
    key: str
    spans: tuple[Span, ...]
    source: dict[str, Any]
    # The prevalence of the finding should this create it (a promoted theme's), if not the
    # item's own rule.
    initial_prevalence: int | None = None
    # The fields a merge takes from the item when it gives them.
    merged: tuple[str, ...] = ("description", "status", "priority", "confidence")


@dataclass(frozen=True)
class Merged:
    finding_id: str
    created: bool
    dropped: int


async def upsert_many(
    db: Database, workspace_id: str, interview_id: str, items: Sequence[NewFinding]
) -> BulkResult:
    """Each item created or merged (module docstring); quotes that cannot be verified are
    dropped and counted, not refused."""
    keys = [records.key_of(item.title, f"findings[{i}].title") for i, item in enumerate(items)]
    async with db.begin() as conn:
        await interviews.owned_row(conn, workspace_id, interview_id)
        dropped = 0
        upserts: list[Upsert] = []
        for i, (item, key) in enumerate(zip(items, keys, strict=True)):
            field = f"findings[{i}].evidence"
            verified = await evidence.verify(
                conn, interview_id, item.evidence, strict=False, field=field
            )
            dropped += verified.dropped
            upserts.append(Upsert(item, key, verified.spans, {"kind": "bulk"}))
        order = sorted(range(len(upserts)), key=lambda i: (upserts[i].item.type, upserts[i].key))
        merged: dict[int, Merged] = {}
        for i in order:
            merged[i] = await merge(conn, (workspace_id, interview_id), upserts[i])
            dropped += merged[i].dropped
        ids = list(dict.fromkeys(m.finding_id for m in merged.values()))
        rows = (await conn.execute(select(f).where(f.c.id.in_(ids)))).all()
        views = await records.views(conn, interview_id, [r._mapping for r in rows])
    by_id = {v.id: v for v in views}
    return BulkResult(
        items=[
            Upserted(finding=by_id[merged[i].finding_id], created=merged[i].created)
            for i in range(len(upserts))
        ],
        quotes_dropped=dropped,
    )


async def merge(conn: AsyncConnection, owner: tuple[str, str], upsert: Upsert) -> Merged:
    """Creates the finding or merges into it (module docstring), in the caller's transaction."""
    workspace_id, interview_id = owner
    item = upsert.item
    now = utcnow()
    values = new_row(workspace_id, interview_id, item, upsert.key, upsert.source)
    created = await records.insert_new(conn, values)
    row = (
        await conn.execute(
            select(f)
            .where(
                f.c.interview_id == interview_id,
                f.c.type == item.type,
                f.c.title_key == upsert.key,
            )
            .with_for_update()
        )
    ).one()
    attached = await evidence.attach(conn, owner, row.id, upsert.spans, now)
    grown = item.prevalence if item.prevalence is not None else attached.new_sessions
    if created:
        initial = upsert.initial_prevalence
        prevalence = initial if initial is not None else grown
        await conn.execute(update(f).where(f.c.id == row.id).values(prevalence=prevalence))
        return Merged(row.id, True, attached.dropped)
    prevalence = min(row.prevalence + grown, PREVALENCE_MAX)
    changes: dict[str, Any] = {"prevalence": prevalence, "updated_at": now}
    for name in upsert.merged:
        if getattr(item, name) is not None:
            changes[name] = getattr(item, name)
    if item.tags:
        tags = list(dict.fromkeys([*(row.tags or []), *item.tags]))
        changes["tags"] = tags[:TAGS_MAX]
    await conn.execute(update(f).where(f.c.id == row.id).values(**changes))
    return Merged(row.id, False, attached.dropped)
