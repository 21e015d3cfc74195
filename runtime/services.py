"""The runtime's long-lived parts, opened once per process and shared by api and workers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import structlog
from openai import AsyncOpenAI, DefaultAsyncHttpxClient
from redis.asyncio import BlockingConnectionPool, Redis

from runtime.blobs import BlobStore, open_store
from runtime.database import Database
from runtime.engines.base import Engine
from runtime.engines.llm import LLMConfig, LLMEngine
from runtime.engines.scripted import ScriptedEngine
from runtime.eventlog import EventLog
from runtime.hub import StreamHub
from runtime.idempotency import IdempotencyStore
from runtime.jobs import JobQueue
from runtime.llm_upstream import UpstreamProbe
from runtime.ratelimit import RateLimiter
from runtime.settings import Settings
from runtime.turns import TurnRunner
from runtime.webhook_delivery import Sender

log = structlog.get_logger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    redis: Redis
    events: EventLog
    hub: StreamHub
    turns: TurnRunner
    jobs: JobQueue
    limiter: RateLimiter
    idempotency: IdempotencyStore
    webhooks: Sender
    llm_client: AsyncOpenAI
    blobs: BlobStore
    llm_upstream: UpstreamProbe

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
        llm_client = llm_client_from(settings)
        engines: dict[str, Engine] = {
            "scripted": ScriptedEngine(settings.scripted_delta_delay_ms),
            "llm": LLMEngine(llm_client, llm_config_from(settings)),
        }
        turns = TurnRunner(
            db, redis, events, engines, settings.turn_lease_ms, settings.turn_max_attempts
        )
        hub = StreamHub(redis, events, settings.sse_heartbeat_seconds)
        limiter = RateLimiter(redis, settings)
        blobs = open_store(settings)
        await blobs.prepare()
        await hub.start()
        return cls(
            settings=settings,
            db=db,
            redis=redis,
            events=events,
            hub=hub,
            turns=turns,
            jobs=JobQueue.from_url(settings.redis_url),
            limiter=limiter,
            idempotency=IdempotencyStore(redis, settings.idempotency_ttl_seconds),
            webhooks=Sender(settings),
            llm_client=llm_client,
            blobs=blobs,
            llm_upstream=UpstreamProbe(settings),
        )

    async def close(self) -> None:
        # Every part is closed even when one fails: a Redis that has gone away (a shared
        # embedded one whose owner stopped) must not keep the database from closing.
        parts: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("turns", self.turns.close),
            ("webhooks", self.webhooks.close),
            ("hub", self.hub.stop),
            ("jobs", self.jobs.close),
            ("blobs", self.blobs.close),
            ("redis", self.redis.aclose),
            ("db", self.db.close),
            ("llm_client", self.llm_client.close),
            ("llm_upstream", self.llm_upstream.close),
        ]
        for name, close in parts:
            try:
                await close()
            except Exception as exc:
                log.warning(
                    "services.close_failed", part=name, error=f"{type(exc).__name__}: {exc}"
                )


def llm_client_from(settings: Settings) -> AsyncOpenAI:
    """One client (one connection pool) per process; the engine does its own retries."""
    return AsyncOpenAI(
        base_url=settings.llm_base_url or None,
        # Local servers (vLLM, Ollama) take any key; the client insists on one.
        api_key=settings.llm_api_key or "not-needed",
        max_retries=0,
        timeout=settings.llm_turn_deadline_ms / 1000,
        # Every live turn holds one upstream stream; keep that many connections warm rather
        # than the client's default 100, so a busy minute does not reconnect per turn.
        http_client=DefaultAsyncHttpxClient(
            limits=httpx.Limits(max_connections=2000, max_keepalive_connections=1000)
        ),
    )


def llm_config_from(settings: Settings) -> LLMConfig:
    return LLMConfig(
        model=settings.llm_model,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        first_token_timeout=settings.llm_first_token_timeout_ms / 1000,
        token_timeout=settings.llm_token_timeout_ms / 1000,
        turn_deadline=settings.llm_turn_deadline_ms / 1000,
    )
