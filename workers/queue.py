"""The job worker: runs queued jobs with the process's Services, beating for each one."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import structlog
from saq import Worker
from saq.types import PartialTimersDict

from runtime.platform import metrics
from runtime.services import Services
from workers import registry
from workers.types import JobContext, JobFunction

log = structlog.get_logger(__name__)


class _QuietWorker(Worker[JobContext]):
    # saq installs SIGINT/SIGTERM handlers on the loop; the process owner (uvicorn or
    # `rapport worker`) already has its own and decides when the worker stops.
    SIGNALS = []


def _with_heartbeat(function: JobFunction) -> tuple[str, JobFunction]:
    # saq's sweeper treats a job as dead when it has not been touched for `heartbeat`
    # seconds. A job busy in a thread (a PDF, a ZIP) can't touch it itself, so the
    # worker does it while the job runs; a killed worker stops beating and its job is
    # retried elsewhere.
    @functools.wraps(function)
    async def run(ctx: JobContext, **kwargs: Any) -> Any:
        job = ctx.get("job")
        beat = None
        if job is not None and job.heartbeat:
            beat = asyncio.create_task(_beat(job.heartbeat, job.update))
        began = time.perf_counter()
        outcome: metrics.JobOutcome = "failed"
        try:
            result = await function(ctx, **kwargs)
            outcome = "succeeded"
            return result
        except asyncio.CancelledError:
            outcome = "cancelled"  # a shutdown or abort: saq puts the job back or drops it
            raise
        finally:
            metrics.JOBS.labels(function.__name__, outcome).inc()
            metrics.JOB_DURATION.labels(function.__name__).observe(time.perf_counter() - began)
            if beat is not None:
                beat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beat

    return function.__name__, run


async def _beat(heartbeat: int, touch: Callable[[], Awaitable[None]]) -> None:
    while True:
        await asyncio.sleep(heartbeat / 3)
        try:
            await touch()
        except Exception:
            log.warning("job.heartbeat_failed", exc_info=True)


def build(services: Services, functions: Sequence[JobFunction] | None = None) -> Worker[JobContext]:
    """A saq worker over the process's queue; `functions` defaults to the registry."""

    async def startup(ctx: JobContext) -> None:
        ctx["services"] = services

    return _QuietWorker(
        services.jobs.queue,
        functions=[_with_heartbeat(f) for f in (functions or registry.FUNCTIONS)],
        concurrency=services.settings.worker_concurrency,
        startup=[startup],
        # saq's PartialTimersDict inherits required keys, so a partial dict needs a cast.
        timers=cast(PartialTimersDict, {"sweep": services.settings.job_sweep_seconds}),
        # On shutdown saq cancels running jobs at once and puts them back on the queue
        # (`retry("cancelled")`), so another worker takes them over straight away; waiting
        # for them would hold every deploy for as long as the longest export.
        shutdown_grace_period_s=None,
    )


async def start_in_process(
    services: Services, functions: Sequence[JobFunction] | None = None
) -> Callable[[], Awaitable[None]]:
    """Run a job worker beside the API (rapport serve); returns its stop function."""
    worker = build(services, functions)
    task = asyncio.create_task(worker.start(), name="job-worker")

    async def stop_worker() -> None:
        await worker.stop()
        await task

    return stop_worker
