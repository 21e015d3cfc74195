"""The synthesis job: one run over an interview's sessions, from its id."""

from __future__ import annotations

import structlog

from runtime.analysis.synthesis import engines, pipeline
from runtime.platform.errors import NotFound
from runtime.services import Services
from workers.types import JobContext

log = structlog.get_logger(__name__)


async def run_synthesis(ctx: JobContext, *, synthesis_id: str) -> dict[str, object]:
    services: Services = ctx["services"]
    job = ctx.get("job")

    async def report(share: float) -> None:
        if job is not None:
            await job.update(progress=share)

    factory = engines.factory(services.db, services.settings, services.llm_client)
    try:
        ran = await pipeline.run(services.db, synthesis_id, factory, report)
    except NotFound:  # its interview (or itself) was deleted while it waited
        return {"synthesis_id": synthesis_id, "deleted": True}
    except Exception as exc:
        if job is None or job.attempts >= job.retries:
            await pipeline.fail(services.db, synthesis_id, f"{type(exc).__name__}: {exc}")
        raise
    log.info("synthesis.done", **ran.result())
    return ran.result()
