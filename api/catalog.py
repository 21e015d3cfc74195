"""Every endpoint declared beside its handler (api.endpoints): the app routes them, the
OpenAPI document describes them, from this one list."""

from __future__ import annotations

from api.endpoints import Endpoint
from api.routes import (
    blobs,
    coverage,
    docs,
    exports,
    files,
    guide,
    health,
    interviews,
    keys,
    metrics,
    pages,
    public,
    sessions,
    streams,
    summaries,
    webhooks,
)

ENDPOINTS: tuple[Endpoint, ...] = (
    *health.endpoints,
    *interviews.endpoints,
    *guide.endpoints,
    *sessions.endpoints,
    *coverage.endpoints,
    *summaries.endpoints,
    *files.endpoints,
    *blobs.endpoints,
    *public.endpoints,
    *streams.endpoints,
    *exports.endpoints,
    *webhooks.endpoints,
    *keys.endpoints,
    *pages.endpoints,
    *docs.endpoints,
    *metrics.endpoints,
)
