"""The PDF job: renders a session's transcript PDF unless the stored one is current."""

from __future__ import annotations

import structlog

from runtime.platform.errors import NotFound
from runtime.services import Services
from runtime.transcripts import pdf_files as transcript_pdf
from workers.types import JobContext

log = structlog.get_logger(__name__)


async def render_pdf(ctx: JobContext, *, session_id: str) -> dict[str, object]:
    services: Services = ctx["services"]
    try:
        result = await transcript_pdf.ensure(
            services.db, services.blobs, session_id, services.settings.pdf_font_dirs
        )
    except NotFound:  # erased before or while it rendered: nothing to render, nothing kept
        return {"session_id": session_id, "erased": True}
    if result.get("failed"):
        log.error("pdf.failed", session_id=session_id, reason=result["failed"])
    return result
