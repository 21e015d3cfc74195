"""Who said a quote: the participant label of each session, as every report names them."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.analysis.corpus import numbered, participant_label
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
    counted = numbered(interview_id)
    rows = await conn.execute(select(counted).where(counted.c.id.in_(list(session_ids))))
    return {r.id: participant_label(int(r.number), r.respondent_name, anonymous) for r in rows}
