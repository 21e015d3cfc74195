"""A synthesis theme promoted to a finding: its title, description, prevalence and quotes.

The theme is one of the interview's latest completed synthesis. Promoting it makes a finding
(type `theme` unless asked otherwise) whose evidence is a copy of the theme's quote rows and
whose source names the synthesis and theme; promoting it again, or a theme of a later
synthesis with the same title, merges into that finding by the bulk rules
(runtime.analysis.findings.bulk), except that the finding's description is left as it is.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.analysis.findings import records
from runtime.analysis.findings.bulk import Upsert, merge
from runtime.analysis.findings.evidence import Span
from runtime.analysis.findings.limits import DESCRIPTION_MAX, PREVALENCE_MAX, TITLE_MAX
from runtime.analysis.findings.service import NewFinding
from runtime.analysis.findings.views import Upserted
from runtime.analysis.vocabulary import FindingStatus, FindingType, Priority
from runtime.interviews import service as interviews
from runtime.platform.errors import NotFound
from runtime.stores import schema
from runtime.stores.database import Database

_y = schema.syntheses
_q = schema.quotes
_s = schema.sessions
_MERGED = ("status", "priority")


async def latest_completed(conn: AsyncConnection, interview_id: str) -> Row[Any] | None:
    """The interview's newest synthesis with status completed, if any."""
    query = (
        select(_y)
        .where(_y.c.interview_id == interview_id, _y.c.status == "completed")
        .order_by(_y.c.created_at.desc(), _y.c.id.desc())
        .limit(1)
    )
    return (await conn.execute(query)).first()


async def promote(
    db: Database,
    workspace_id: str,
    interview_id: str,
    theme_id: str,
    *,
    type: FindingType = "theme",
    status: FindingStatus | None = None,
    priority: Priority | None = None,
) -> Upserted:
    """The finding made from (or merged with) the theme; NotFound when the latest completed
    synthesis has no such theme."""
    async with db.begin() as conn:
        await interviews.owned_row(conn, workspace_id, interview_id)
        synthesis = await latest_completed(conn, interview_id)
        themes = (synthesis.result or {}).get("themes", []) if synthesis is not None else []
        theme = next((t for t in themes if t.get("id") == theme_id), None)
        if synthesis is None or theme is None:
            raise NotFound(f"no theme {theme_id} in the latest completed synthesis")
        quoted = await conn.execute(
            select(_q)
            .join(_s, _s.c.id == _q.c.session_id)
            .where(_q.c.synthesis_id == synthesis.id, _q.c.theme_id == theme_id)
            .order_by(_q.c.created_at, _q.c.id)
            # As evidence.verify: an erasure runs wholly before or after the copies are made.
            .with_for_update(read=True, of=_s)
        )
        spans = tuple(
            Span(r.session_id, r.message_id, r.start, r.end, r.text, r.score) for r in quoted
        )
        title = (str(theme.get("title") or "") or theme_id)[:TITLE_MAX]
        item = NewFinding(
            type=type,
            title=title,
            description=str(theme.get("description") or "")[:DESCRIPTION_MAX],
            status=status,
            priority=priority,
        )
        source = {"kind": "synthesis", "synthesis_id": synthesis.id, "theme_id": theme_id}
        prevalence = min(max(int(theme.get("prevalence") or 0), 0), PREVALENCE_MAX)
        # On a merge the researcher's description stays; status and priority are the body's.
        upsert = Upsert(item, records.key_of(title), spans, source, prevalence, _MERGED)
        merged = await merge(conn, (workspace_id, interview_id), upsert)
        finding = await records.view(conn, interview_id, merged.finding_id)
    return Upserted(finding=finding, created=merged.created)
