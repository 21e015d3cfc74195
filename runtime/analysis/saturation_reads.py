"""An interview's saturation, read from its sessions (the method: runtime.analysis.saturation)."""

from __future__ import annotations

from runtime.analysis import corpus, terms
from runtime.analysis.concepts import codes
from runtime.analysis.saturation import Assessment, Params, assess
from runtime.analysis.saturation_views import Saturation, view
from runtime.interviews import service as interviews
from runtime.stores.database import Database


async def assessment(
    db: Database, interview_id: str, params: Params, filters: corpus.Filters
) -> Assessment:
    """The assessment of the sessions under `filters` (completed, by default), in start order."""
    counted = set((await terms.vocabulary(db, interview_id, filters)).concepts())
    # One small set per session: what the curve holds anyway.
    coded = [
        (mentions.session_id, codes(mentions, counted))
        async for mentions in terms.mentions(db, interview_id, filters)
    ]
    return assess(coded, params)


async def for_interview(
    db: Database,
    workspace_id: str,
    interview_id: str,
    params: Params,
    include_test: bool = False,
) -> Saturation:
    """GET …/saturation: NotFound for another workspace's interview."""
    async with db.connect() as conn:
        await interviews.owned_row(conn, workspace_id, interview_id)
    found = await assessment(db, interview_id, params, corpus.Filters(include_test=include_test))
    return view(interview_id, found)
