"""The runtime's long-lived parts, opened once per process and shared by api and workers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

import httpx
import structlog
from openai import AsyncOpenAI, DefaultAsyncHttpxClient
from redis.asyncio import BlockingConnectionPool, Redis

from runtime.access import keys
from runtime.access.idempotency import IdempotencyStore
from runtime.access.rate_limits import RateLimiter
from runtime.deployment.exposition import Exposition
from runtime.engines.base import Engine
from runtime.engines.llm import LLMConfig, LLMEngine
from runtime.engines.scripted import ScriptedEngine
from runtime.engines.upstream import UpstreamProbe
from runtime.live.early_turns import EarlyStarts
from runtime.live.eventlog import EventLog
from runtime.live.feed import InterviewOf
from runtime.live.hub import Hub, StreamHub
from runtime.live.lease import Leases, RedisLeases
from runtime.live.redis_log import RedisEventLog
from runtime.live.turns import TurnRunner
from runtime.platform.private_files import private_dir
from runtime.platform.settings import Settings
from runtime.sessions import store as sessions
from runtime.stores.blobs import BlobStore, open_store
from runtime.stores.database import Database
from runtime.stores.jobs import JobQueue
from runtime.voice import engines as speech
from runtime.voice.stt import SpeechToText
from runtime.voice.tts import TextToSpeech
from runtime.webhooks.delivery import Sender

log = structlog.get_logger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    redis: Redis
    events: EventLog
    hub: Hub
    leases: Leases
    early: EarlyStarts
    turns: TurnRunner
    jobs: JobQueue
    limiter: RateLimiter
    idempotency: IdempotencyStore
    webhooks: Sender
    llm_client: AsyncOpenAI
    blobs: BlobStore
    metrics: Exposition
    llm_upstream: UpstreamProbe
    stt: SpeechToText
    tts: TextToSpeech

    @classmethod
    async def open(cls, settings: Settings) -> Services:
        if not settings.redis_url:
            raise RuntimeError("REDIS_URL must be resolved before opening services")
        # The data directory holds the SQLite file, blobs, upload spools and the secret:
        # owner-only, even when an earlier version (or the embedded Redis) made it.
        await asyncio.to_thread(private_dir, settings.data_dir)
        db = Database.from_settings(settings)
        redis = redis_client(settings)
        # Each session's events are mirrored into its interview's live feed (runtime/live/feed.py).
        interview_of = InterviewOf(partial(sessions.interview_of, db))
        events = RedisEventLog(redis, settings.event_log_ttl_seconds, interview_of)
        leases = RedisLeases(redis, settings.turn_lease_ms)
        llm_client = llm_client_from(settings)
        engines: dict[str, Engine] = {
            "scripted": ScriptedEngine(settings.scripted_delta_delay_ms),
            "llm": LLMEngine(llm_client, llm_config_from(settings)),
        }
        early = EarlyStarts(engines)
        jobs = JobQueue.from_url(settings.redis_url, settings.redis_timeout_seconds)
        turns = TurnRunner(db, leases, events, engines, early, settings.turn_max_attempts, jobs)
        # Streams opened with an API key close when it is revoked (runtime/live/hub.py).
        hub = StreamHub(
            redis, events, settings.sse_heartbeat_seconds, partial(keys.revoked_among, db)
        )
        limiter = RateLimiter(redis, settings)
        blobs = open_store(settings)
        await blobs.prepare()
        await hub.start()
        metrics = Exposition(jobs)
        metrics.serve_port(settings)
        return cls(
            settings=settings,
            db=db,
            redis=redis,
            events=events,
            hub=hub,
            leases=leases,
            early=early,
            turns=turns,
            jobs=jobs,
            limiter=limiter,
            idempotency=IdempotencyStore(redis, settings.idempotency_ttl_seconds),
            webhooks=Sender(settings),
            llm_client=llm_client,
            blobs=blobs,
            metrics=metrics,
            llm_upstream=UpstreamProbe(settings),
            stt=speech.speech_to_text(settings),
            tts=speech.text_to_speech(settings),
        )

    async def close(self) -> None:
        # Every part is closed even when one fails: a Redis that has gone away (a shared
        # embedded one whose owner stopped) must not keep the database from closing.
        parts: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("turns", self.turns.close),
            ("metrics", self._close_metrics),
            ("webhooks", self.webhooks.close),
            ("hub", self.hub.stop),
            ("jobs", self.jobs.close),
            ("blobs", self.blobs.close),
            ("redis", self.redis.aclose),
            ("db", self.db.close),
            ("llm_client", self.llm_client.close),
            ("llm_upstream", self.llm_upstream.close),
            ("stt", partial(speech.close, self.stt)),
            ("tts", partial(speech.close, self.tts)),
        ]
        for name, close in parts:
            try:
                await close()
            except Exception as exc:
                log.warning(
                    "services.close_failed", part=name, error=f"{type(exc).__name__}: {exc}"
                )

    async def _close_metrics(self) -> None:
        self.metrics.close()


def redis_client(settings: Settings) -> Redis:
    """The process's Redis client. Every command is bounded (socket and connect timeouts), so
    a frozen or unreachable Redis fails the request with 503 instead of holding it. The
    hub's Pub/Sub reads pass their own timeout, which redis-py uses instead of the socket
    timeout, and no command here blocks on the server (saq's blocking reads have a client
    of their own: runtime/stores/jobs.py)."""
    assert settings.redis_url
    # Blocking: when every connection is busy (10,000 streams opening at once), wait a while
    # for one instead of failing the request at once.
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_pool_timeout_seconds,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
    )
    return Redis(connection_pool=pool)


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
