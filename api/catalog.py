"""Every endpoint declared beside its handler (api.endpoints): the app routes them, the
OpenAPI document describes them, from this one list."""

from __future__ import annotations

from api.endpoints import Endpoint
from api.routes import (
    blobs,
    console,
    coverage,
    docs,
    exports,
    files,
    findings,
    graph,
    guide,
    health,
    interviews,
    keys,
    live,
    metrics,
    notes,
    pages,
    public,
    saturation,
    sessions,
    steering,
    streams,
    summaries,
    synthesis,
    webhooks,
)

ENDPOINTS: tuple[Endpoint, ...] = (
    *health.endpoints,
    *interviews.endpoints,
    *guide.endpoints,
    *sessions.endpoints,
    *notes.endpoints,
    *steering.endpoints,
    *coverage.endpoints,
    *synthesis.endpoints,
    *findings.endpoints,
    *graph.endpoints,
    *saturation.endpoints,
    *summaries.endpoints,
    *files.endpoints,
    *blobs.endpoints,
    *public.endpoints,
    *streams.endpoints,
    *live.endpoints,
    *exports.endpoints,
    *webhooks.endpoints,
    *keys.endpoints,
    *console.endpoints,
    *pages.endpoints,
    *docs.endpoints,
    *metrics.endpoints,
)
