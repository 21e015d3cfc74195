"""The final transcript job: a voice session's clips heard again, captions and recording kept."""

from __future__ import annotations

import structlog

from runtime.platform.errors import NotFound
from runtime.services import Services
from runtime.transcripts import final as final_transcript
from workers.types import JobContext

log = structlog.get_logger(__name__)


async def finalize_voice(ctx: JobContext, *, session_id: str) -> dict[str, object]:
    services: Services = ctx["services"]
    job = ctx.get("job")
    # The last attempt keeps the live text of what it cannot hear; earlier ones raise, and
    # the job is retried with backoff (runtime/transcripts/final.py enqueue).
    last = job is None or job.attempts >= job.retries
    try:
        done = await final_transcript.finalize(services, session_id, last_attempt=last)
    except NotFound:  # erased before or while it ran: nothing to keep
        return {"session_id": session_id, "erased": True}
    if done.kept_live:
        log.warning("voice_final.kept_live_text", session_id=session_id, clips=done.kept_live)
    log.info("voice_final.done", session_id=session_id, heard=done.heard, files=done.files)
    return done.result()
