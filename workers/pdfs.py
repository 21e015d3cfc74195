"""The PDF job: renders a session's transcript PDF unless the stored one is current."""

from __future__ import annotations

from runtime import transcript_pdf
from runtime.services import Services
from workers.types import JobContext


async def render_pdf(ctx: JobContext, *, session_id: str) -> dict[str, object]:
    services: Services = ctx["services"]
    return await transcript_pdf.ensure(services.db, services.blobs, session_id)
