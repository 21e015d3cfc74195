"""Every Prometheus metric Rapport exports, in one place (deployment.exposition serves them)."""

from __future__ import annotations

import contextlib
from typing import Literal

import structlog
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)

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
