"""The auto-close job: an interview closed by itself when it has its participants or saturates."""

from __future__ import annotations

from runtime.analysis import autoclose
from runtime.services import Services
from workers.types import JobContext


async def check_auto_close(ctx: JobContext, *, interview_id: str) -> dict[str, object]:
    services: Services = ctx["services"]
    reason = await autoclose.check(services.db, interview_id)
    return {"interview_id": interview_id, "closed": reason is not None, "reason": reason}
