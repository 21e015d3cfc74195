"""Every Prometheus metric Rapport exports, in one place, and how a scrape is rendered."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Literal

import structlog
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from runtime.platform.settings import Settings
from runtime.stores.jobs import JobQueue

log = structlog.get_logger(__name__)

# The process's own registry, with the client's process and platform collectors: a test
# or a bench that builds several apps in one process shares it, as a real node would.
REGISTRY = CollectorRegistry(auto_describe=True)

# Seconds; HTTP answers are mostly milliseconds, turns and first tokens up to the LLM's
# deadline, jobs up to their hour.
_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_TTFT_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0)
_JOB_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

TurnOutcome = Literal["completed", "fallback", "gave_up", "failed", "lease_lost"]
JobOutcome = Literal["succeeded", "failed", "cancelled"]
DeliveryOutcome = Literal["succeeded", "retrying", "failed"]
# Which limit refused: the namespaces runtime.access.rate_limits counts under.
LimitKind = str

HTTP_REQUESTS = Counter(
    "rapport_http_requests",
    "HTTP requests and WebSocket handshakes answered, by route template and status",
    ("method", "route", "status"),
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "rapport_http_request_duration_seconds",
    "Time to answer an HTTP request (live streams are counted in rapport_open_streams)",
    ("method", "route"),
    buckets=_HTTP_BUCKETS,
    registry=REGISTRY,
)
OPEN_STREAMS = Gauge(
    "rapport_open_streams",
    "Live session streams open on this process",
    ("transport",),
    registry=REGISTRY,
)
TURNS = Counter(
    "rapport_turns",
    "Interviewer turns this process finished generating, by engine and outcome",
    ("engine", "outcome"),
    registry=REGISTRY,
)
TTFT = Histogram(
    "rapport_turn_first_token_seconds",
    "From the moment a turn could start (an answer stored, a session started) to its first "
    "text in the event log",
    ("engine",),
    buckets=_TTFT_BUCKETS,
    registry=REGISTRY,
)
FALLBACKS = Counter(
    "rapport_turn_fallbacks",
    "Turns another engine wrote because the interview's could not, by reason",
    ("reason",),
    registry=REGISTRY,
)
JOBS = Counter(
    "rapport_jobs",
    "Background jobs run by this process's worker, by function and outcome",
    ("function", "outcome"),
    registry=REGISTRY,
)
JOB_DURATION = Histogram(
    "rapport_job_duration_seconds",
    "How long one run of a background job took",
    ("function",),
    buckets=_JOB_BUCKETS,
    registry=REGISTRY,
)
WEBHOOK_DELIVERIES = Counter(
    "rapport_webhook_delivery_attempts",
    "Webhook delivery attempts, by outcome (retrying: failed, another attempt is scheduled)",
    ("outcome",),
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "rapport_rate_limit_refusals",
    "Requests refused with 429, by the limit that refused them",
    ("limit",),
    registry=REGISTRY,
)


def _with_process_collectors() -> None:
    from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR

    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        # The client's default collectors, described once more on our registry.
        with contextlib.suppress(ValueError):  # already registered
            REGISTRY.register(collector)


_with_process_collectors()


def turn_finished(engine: str, outcome: TurnOutcome, fallback_reason: str | None = None) -> None:
    TURNS.labels(engine, outcome).inc()
    if fallback_reason is not None:
        FALLBACKS.labels(fallback_reason).inc()


def first_token(engine: str, seconds: float) -> None:
    TTFT.labels(engine).observe(max(0.0, seconds))


def rate_limited(limit: LimitKind) -> None:
    RATE_LIMITED.labels(limit).inc()


class QueueDepth(Collector):
    """The job queue's depth, read from Redis at scrape time on the owning process's loop
    (a scrape may come from the metrics port's thread or from the API, off the loop)."""

    TIMEOUT_SECONDS = 2.0
    NAME = "rapport_job_queue_depth"
    HELP = "Background jobs waiting (queued) and running (active) in the job queue"

    def __init__(self) -> None:
        # (queue, loop) of each open Services; a node has one, a test process several.
        self._sources: list[tuple[JobQueue, asyncio.AbstractEventLoop]] = []

    def attach(self, jobs: JobQueue, loop: asyncio.AbstractEventLoop) -> None:
        self._sources.append((jobs, loop))

    def detach(self, jobs: JobQueue) -> None:
        self._sources = [s for s in self._sources if s[0] is not jobs]

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Without it the registry would collect (and wait on the loop) at registration.
        yield GaugeMetricFamily(self.NAME, self.HELP, labels=["state"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(self.NAME, self.HELP, labels=["state"])
        if self._sources:
            jobs, loop = self._sources[0]
            for state in ("queued", "active"):
                depth = self._read(jobs, loop, state)
                if depth is not None:
                    family.add_metric([state], depth)
        yield family

    def _read(
        self, jobs: JobQueue, loop: asyncio.AbstractEventLoop, state: Literal["queued", "active"]
    ) -> int | None:
        future = asyncio.run_coroutine_threadsafe(jobs.queue.count(state), loop)
        try:
            return int(future.result(self.TIMEOUT_SECONDS))
        except (FutureTimeout, Exception) as exc:
            # A scrape without the depth beats a scrape that fails: Redis may be away.
            future.cancel()
            log.warning("metrics.queue_depth_unavailable", error=str(exc) or type(exc).__name__)
            return None


_QUEUE_DEPTH = QueueDepth()
REGISTRY.register(_QUEUE_DEPTH)


class Exposition:
    """What one process contributes to a scrape. `render` runs off the event loop: the
    queue-depth collector waits on the loop for Redis."""

    def __init__(self, jobs: JobQueue) -> None:
        self._jobs = jobs
        _QUEUE_DEPTH.attach(jobs, asyncio.get_running_loop())
        self._stop_server: Callable[[], None] | None = None

    async def render(self, accept: str) -> tuple[bytes, str]:
        """The scrape in the format the scraper asked for (Accept), and its content type."""
        encoder, content_type = choose_encoder(accept)
        return await asyncio.to_thread(encoder, REGISTRY), content_type

    def serve_port(self, settings: Settings) -> None:
        """The same metrics, unauthenticated, on a port of their own (RAPPORT_METRICS_PORT)."""
        if not settings.metrics_port:
            return
        server, thread = start_http_server(
            settings.metrics_port, addr=settings.metrics_host, registry=REGISTRY
        )

        def stop() -> None:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

        self._stop_server = stop
        log.info("metrics.listening", host=settings.metrics_host, port=settings.metrics_port)

    def close(self) -> None:
        if self._stop_server is not None:
            self._stop_server()
            self._stop_server = None
        _QUEUE_DEPTH.detach(self._jobs)
