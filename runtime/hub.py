"""One Pub/Sub connection per process that wakes every local reader of a session's event log."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from runtime import redis_keys
from runtime.eventlog import EventLog
from runtime.events import StoredEvent

log = structlog.get_logger(__name__)


class StreamHub:
    """Readers wait on an asyncio.Event, not on a Redis connection each: idle streams stay cheap."""

    def __init__(self, redis: Redis, events: EventLog) -> None:
        self._redis = redis
        self._events = events
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._pubsub = redis.pubsub(ignore_subscribe_messages=True)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="stream-hub")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(RedisError, RuntimeError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _listen(self) -> None:
        while True:
            try:
                if not self._pubsub.subscribed:
                    # get_message returns at once with nothing subscribed; wait for a channel.
                    self._ready.clear()
                    await self._ready.wait()
                message = await self._pubsub.get_message(timeout=1.0)
            except RedisError as exc:
                # Readers also re-check on their heartbeat, so a lost wake-up only delays them.
                log.warning("stream_hub.redis_error", error=str(exc))
                await asyncio.sleep(0.5)
                continue
            if message is None:
                continue
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else channel
            session_id = channel.split(":")[2]
            for waiter in self._waiters.get(session_id, ()):
                waiter.set()

    async def subscribe(
        self, session_id: str, last_id: str, heartbeat: float
    ) -> AsyncIterator[StoredEvent | None]:
        """Yield events after `last_id` as they arrive, and None when `heartbeat` passes idle."""
        wake = asyncio.Event()
        async with self._lock:
            first = not self._waiters[session_id]
            self._waiters[session_id].add(wake)
            if first:
                await self._pubsub.subscribe(redis_keys.notify(session_id))
                self._ready.set()
        try:
            # Subscribed before the first read, so nothing appended in between is missed.
            while True:
                wake.clear()
                batch = await self._events.after(session_id, last_id)
                for event in batch:
                    last_id = event.id
                    yield event
                if batch:
                    continue
                try:
                    # asyncio.timeout, not wait_for: no extra task per idle reader.
                    async with asyncio.timeout(heartbeat):
                        await wake.wait()
                except TimeoutError:
                    yield None
        finally:
            async with self._lock:
                self._waiters[session_id].discard(wake)
                if not self._waiters[session_id]:
                    del self._waiters[session_id]
                    with contextlib.suppress(RedisError):
                        await self._pubsub.unsubscribe(redis_keys.notify(session_id))
