"""Who said a quote: the participant label of each session, as every report names them."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.analysis.corpus import participant_label
from runtime.stores import schema

_s = schema.sessions


async def labels(
    conn: AsyncConnection, interview_id: str, session_ids: Collection[str]
) -> dict[str, str]:
    """Each session's label: its respondent's name, or "Participant N" (N its 1-based place
    among all the interview's sessions by start) when anonymous or unnamed."""
    if not session_ids:
        return {}
    settings = await conn.scalar(
        select(schema.interviews.c.settings).where(schema.interviews.c.id == interview_id)
    )
    anonymous = bool((settings or {}).get("anonymous"))
    numbered = (
        select(
            _s.c.id,
            _s.c.respondent_name,
            func.row_number().over(order_by=(_s.c.created_at, _s.c.id)).label("number"),
        )
        .where(_s.c.interview_id == interview_id)
        .subquery()
    )
    rows = await conn.execute(select(numbered).where(numbered.c.id.in_(list(session_ids))))
    return {r.id: participant_label(int(r.number), r.respondent_name, anonymous) for r in rows}
