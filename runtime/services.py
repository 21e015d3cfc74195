"""The runtime's long-lived parts, opened once per process and shared by api and workers."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import BlockingConnectionPool, Redis

from runtime.blobs import BlobStore, open_store
from runtime.database import Database
from runtime.engines.base import Engine
from runtime.engines.scripted import ScriptedEngine
from runtime.eventlog import EventLog
from runtime.hub import StreamHub
from runtime.jobs import JobQueue
from runtime.settings import Settings
from runtime.turns import TurnRunner


@dataclass
class Services:
    settings: Settings
    db: Database
    redis: Redis
    events: EventLog
    hub: StreamHub
    turns: TurnRunner
    jobs: JobQueue
    blobs: BlobStore

    @classmethod
    async def open(cls, settings: Settings) -> Services:
        if not settings.redis_url:
            raise RuntimeError("REDIS_URL must be resolved before opening services")
        db = Database.from_settings(settings)
        # Blocking: when every connection is busy (10,000 streams opening at once), wait for
        # one instead of failing the request.
        pool = BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=settings.redis_max_connections, timeout=20
        )
        redis = Redis(connection_pool=pool, health_check_interval=30)
        events = EventLog(redis, settings.event_log_ttl_seconds)
        engines: dict[str, Engine] = {"scripted": ScriptedEngine(settings.scripted_delta_delay_ms)}
        turns = TurnRunner(db, redis, events, engines, settings.turn_lease_ms)
        hub = StreamHub(redis, events, settings.sse_heartbeat_seconds)
        blobs = open_store(settings)
        await blobs.prepare()
        await hub.start()
        jobs = JobQueue.from_url(settings.redis_url)
        return cls(settings, db, redis, events, hub, turns, jobs, blobs)

    async def close(self) -> None:
        await self.turns.close()
        await self.hub.stop()
        await self.jobs.close()
        await self.blobs.close()
        await self.redis.aclose()
        await self.db.close()
