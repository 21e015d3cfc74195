"""The job worker against real Redis: runs, de-duplicates, retries, and beats for busy jobs."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import pytest
from saq import Queue
from saq.job import Status

from runtime.platform.settings import Settings
from runtime.services import Services
from runtime.stores.jobs import JobQueue
from workers import queue
from workers.types import JobContext, JobFunction

Start = Callable[[Sequence[JobFunction]], Awaitable[None]]


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    # A queue of its own, so no other worker in the test session takes these jobs.
    opened = await Services.open(dataclasses.replace(settings, job_sweep_seconds=1))
    await opened.jobs.close()
    assert opened.settings.redis_url
    opened.jobs = JobQueue(Queue.from_url(opened.settings.redis_url, name=uuid.uuid4().hex))
    yield opened
    await opened.close()


@pytest.fixture
async def start_worker(services: Services) -> AsyncIterator[Start]:
    stops = []

    async def start(functions: Sequence[JobFunction]) -> None:
        stops.append(await queue.start_in_process(services, functions))

    yield start
    for stop in stops:
        await stop()


async def echo(ctx: JobContext, *, value: str) -> dict[str, object]:
    job = ctx["job"]
    await job.update(progress=0.5)
    return {"value": value, "has_services": isinstance(ctx.get("services"), Services)}


async def flaky(ctx: JobContext, *, fail_times: int) -> int:
    attempts = ctx["job"].attempts
    if attempts <= fail_times:
        raise RuntimeError(f"attempt {attempts} fails")
    return attempts


async def busy(ctx: JobContext, *, seconds: float) -> int:
    # Blocks a thread without touching the job, as a PDF or ZIP job does.
    await asyncio.to_thread(time.sleep, seconds)
    return ctx["job"].attempts


async def test_job_runs_with_the_services(services: Services, start_worker: Start) -> None:
    await start_worker([echo])
    job = await services.jobs.enqueue("echo", key="echo-1", value="hello")
    assert job is not None
    await job.refresh(until_complete=10)
    assert job.status == Status.COMPLETE
    assert job.result == {"value": "hello", "has_services": True}
    assert job.progress == 1.0
    stored = await services.jobs.job("echo-1")
    assert stored is not None and stored.result == job.result


async def test_same_key_is_enqueued_once(services: Services, start_worker: Start) -> None:
    first = await services.jobs.enqueue("echo", key="once", value="a")
    second = await services.jobs.enqueue("echo", key="once", value="b")
    assert first is not None and second is None
    await start_worker([echo])
    await first.refresh(until_complete=10)
    assert first.result["value"] == "a"


async def test_failed_job_is_retried_with_backoff(services: Services, start_worker: Start) -> None:
    await start_worker([flaky])
    job = await services.jobs.enqueue(
        "flaky", key="flaky", fail_times=2, retries=3, retry_delay=0.2, retry_backoff=1.0
    )
    assert job is not None
    await job.refresh(until_complete=20)
    assert job.status == Status.COMPLETE
    assert job.result == 3


async def test_job_out_of_retries_fails(services: Services, start_worker: Start) -> None:
    await start_worker([flaky])
    job = await services.jobs.enqueue("flaky", key="hopeless", fail_times=5, retries=2)
    assert job is not None
    await job.refresh(until_complete=20)
    assert job.status == Status.FAILED
    assert job.attempts == 2
    assert "attempt 2 fails" in (job.error or "")


async def test_busy_job_is_kept_alive_by_the_worker(
    services: Services, start_worker: Start
) -> None:
    # With a 1 s heartbeat and a sweep every second, a job silent for 3 s would be swept
    # and retried (attempts > 1) if the worker did not beat for it.
    await start_worker([busy])
    job = await services.jobs.enqueue("busy", key="busy", seconds=3.0, heartbeat=1, retries=3)
    assert job is not None
    await job.refresh(until_complete=30)
    assert job.status == Status.COMPLETE
    assert job.result == 1
