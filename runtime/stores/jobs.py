"""The job queue: saq on the deployment's Redis; the api enqueues, `workers` runs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from saq import Job, Queue, Status
from saq.queue.redis import RedisQueue

from runtime.stores import redis_keys

T = TypeVar("T")

# saq's own default timeout is 10 s and no heartbeat, which kills any real export. Jobs get
# a generous timeout and a heartbeat (the worker beats for them while they run), so a
# worker that dies mid-job is noticed within about one heartbeat plus one sweep.
DEFAULT_TIMEOUT_SECONDS = 3600
DEFAULT_HEARTBEAT_SECONDS = 15
DEFAULT_RETRIES = 3
DEFAULT_RETRY_DELAY_SECONDS = 2.0
MAX_RETRY_DELAY_SECONDS = 300.0


class JobQueue:
    """Enqueue and look up jobs by key; one per process, opened with the Services."""

    def __init__(self, queue: Queue, timeout_seconds: float | None = None) -> None:
        self.queue = queue
        self._timeout = timeout_seconds

    @classmethod
    def from_url(cls, redis_url: str, timeout_seconds: float | None = None) -> JobQueue:
        """`timeout_seconds` bounds connecting and each enqueue or lookup, not the worker's
        reads: saq blocks on Redis for them (BLMOVE, its Pub/Sub listener), which a socket
        timeout would break, so its client has none."""
        # saq's own from_url refuses unix:// URLs, which the embedded Redis uses.
        client = Redis.from_url(redis_url, socket_connect_timeout=timeout_seconds)
        return cls(RedisQueue(client, name=redis_keys.JOB_QUEUE), timeout_seconds)

    async def _bounded(self, call: Awaitable[T]) -> T:
        if self._timeout is None:
            return await call
        try:
            async with asyncio.timeout(self._timeout):
                return await call
        except TimeoutError as exc:
            # As the services' own client says it, so the API answers 503 unavailable.
            raise RedisTimeoutError("the job queue's Redis did not answer in time") from exc

    async def enqueue(
        self,
        function: str,
        *,
        key: str | None = None,
        timeout: int = DEFAULT_TIMEOUT_SECONDS,  # noqa: ASYNC109 - the job's limit, not ours
        heartbeat: int = DEFAULT_HEARTBEAT_SECONDS,
        retries: int = DEFAULT_RETRIES,
        retry_delay: float = DEFAULT_RETRY_DELAY_SECONDS,
        retry_backoff: float = MAX_RETRY_DELAY_SECONDS,
        scheduled: int = 0,
        ttl: int | None = None,
        **kwargs: Any,
    ) -> Job | None:
        """Queue `function(**kwargs)`; None when a job with this key is already queued or
        running (the key de-duplicates: pass ids, never objects — the job loads the rest)."""
        # Without a key saq makes a random one, so the job is never de-duplicated.
        identity: dict[str, Any] = {"key": key} if key else {}
        if ttl is not None:
            identity["ttl"] = ttl  # how long saq keeps the finished job (600 s by default)
        job = Job(
            function=function,
            kwargs=kwargs,
            timeout=timeout,
            heartbeat=heartbeat,
            retries=retries,
            retry_delay=retry_delay,
            retry_backoff=retry_backoff,
            scheduled=scheduled,
            **identity,
        )
        return await self._bounded(self.queue.enqueue(job))

    async def job(self, key: str) -> Job | None:
        """The job with this key, while saq keeps it (until `ttl` after it finishes)."""
        return await self._bounded(self.queue.job(key))

    async def forget(self, key: str) -> bool:
        """Drop the job with this key and its every trace in Redis, unless it is running (it
        finishes, and finds what it was for gone): an erased session's ids must not stay
        behind in a queued job. True when there was one to drop."""
        job = await self.job(key)
        if job is None or job.status == Status.ACTIVE:
            return False
        if job.status == Status.QUEUED:
            await self._bounded(self.queue.abort(job, "forgotten"))
        if isinstance(self.queue, RedisQueue):
            await self._bounded(self.queue.redis.delete(job.id))
        return True

    async def close(self) -> None:
        try:
            await self.queue.disconnect()
        except RedisError:
            # saq unsubscribes on the way out; with Redis gone there is nothing to leave,
            # and the rest of the process must still shut down.
            if isinstance(self.queue, RedisQueue):
                await self.queue.redis.connection_pool.disconnect()
