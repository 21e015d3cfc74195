"""An interview's verified quotes, by finding, session or synthesis theme, newest first."""

from __future__ import annotations

import msgspec
from sqlalchemy import false, select

from runtime.analysis.findings import participants
from runtime.analysis.findings.evidence import quote_view
from runtime.analysis.findings.promote import latest_completed
from runtime.analysis.findings.views import QuoteEntry
from runtime.interviews import service as interviews
from runtime.stores import schema
from runtime.stores.database import Database
from runtime.stores.pagination import Page, fetch_page

_q = schema.quotes


async def list_page(
    db: Database,
    workspace_id: str,
    interview_id: str,
    *,
    finding_id: str | None = None,
    session_id: str | None = None,
    theme_id: str | None = None,
    synthesis_id: str | None = None,
    cursor: str | None = None,
    limit: int,
) -> Page[QuoteEntry]:
    """One page of the interview's quotes under the filters given (all of them apply). A
    `theme_id` without `synthesis_id` is a theme of the latest completed synthesis (none
    completed: no quotes)."""
    query = select(_q).where(_q.c.interview_id == interview_id)
    async with db.connect() as conn:
        await interviews.owned_row(conn, workspace_id, interview_id)
        if theme_id is not None and synthesis_id is None:
            latest = await latest_completed(conn, interview_id)
            query = query.where(_q.c.synthesis_id == latest.id if latest else false())
        for column, wanted in (
            (_q.c.finding_id, finding_id),
            (_q.c.session_id, session_id),
            (_q.c.theme_id, theme_id),
            (_q.c.synthesis_id, synthesis_id),
        ):
            if wanted is not None:
                query = query.where(column == wanted)
        rows = await fetch_page(conn, query, _q, cursor, limit)
        names = await participants.labels(conn, interview_id, {r["session_id"] for r in rows.items})
    return rows.map(
        lambda r: QuoteEntry(
            **msgspec.structs.asdict(quote_view(r, names)),
            finding_id=r["finding_id"],
            synthesis_id=r["synthesis_id"],
            theme_id=r["theme_id"],
        )
    )
