"""GET /metrics: this process's Prometheus metrics, for a key holding metrics:read."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth import researcher, services_of
from runtime.access import keys


async def scrape(request: Request) -> Response:
    await researcher(request, keys.METRICS_READ)
    body, content_type = await services_of(request).metrics.render(
        request.headers.get("accept", "")
    )
    return Response(body, headers={"content-type": content_type, "cache-control": "no-store"})


routes = [Route("/metrics", scrape, methods=["GET"])]
