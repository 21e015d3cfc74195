"""GET /metrics: this process's Prometheus metrics, for a key holding metrics:read."""

from __future__ import annotations

from starlette.responses import Response

from api.auth import services_of
from api.endpoints import Call, Group, Reply
from runtime.access import keys

op = Group("operations", "researcher", keys.METRICS_READ)


@op(
    "GET /metrics",
    "metrics",
    "This process's metrics in the Prometheus text format (or OpenMetrics, by Accept)",
    Reply(
        200,
        "Requests by route and status with latency histograms, open streams, turns by "
        "engine and outcome, time to first token, fallbacks, job queue depth and job "
        "outcomes, webhook delivery attempts, rate-limit refusals, process figures",
        {"type": "string"},
        "text/plain",
        also=("application/openmetrics-text",),
    ),
    description="Each process reports its own; scrape every API node (and set "
    "RAPPORT_METRICS_PORT to scrape `rapport worker`s). `docs/metrics.md` lists them.",
)
async def scrape(call: Call[None]) -> Response:
    request = call.request
    body, content_type = await services_of(request).metrics.render(
        request.headers.get("accept", "")
    )
    return Response(body, headers={"content-type": content_type, "cache-control": "no-store"})


endpoints = op.endpoints
