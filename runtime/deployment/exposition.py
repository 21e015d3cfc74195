"""A Prometheus scrape of one process: the job queue depth at scrape time, the metrics port."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Literal

import structlog
from prometheus_client import start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from runtime.platform.metrics import REGISTRY
from runtime.platform.settings import Settings
from runtime.stores.jobs import JobQueue

log = structlog.get_logger(__name__)


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
