"""The session analysis job: an ended session's summary and quality computed and cached."""

from __future__ import annotations

import structlog

from runtime.analysis.summaries import reads as summaries
from runtime.platform.errors import NotFound
from runtime.services import Services
from workers.types import JobContext

log = structlog.get_logger(__name__)


async def analyze_session(ctx: JobContext, *, session_id: str) -> dict[str, object]:
    services: Services = ctx["services"]
    try:
        summary = await summaries.refresh(services.db, session_id)
    except NotFound:  # erased before or while it ran: nothing to keep
        return {"session_id": session_id, "erased": True}
    log.info("session_analysis.done", session_id=session_id, index=summary.quality.quality_index)
    return {"session_id": session_id, "quality_index": summary.quality.quality_index}
