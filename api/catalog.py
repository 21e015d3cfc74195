"""Every endpoint declared beside its handler (api.endpoints): the app routes them, the
OpenAPI document describes them, from this one list."""

from __future__ import annotations

from api.endpoints import Endpoint
from api.routes import blobs, exports, files, guide, interviews, keys, public, sessions, webhooks

ENDPOINTS: tuple[Endpoint, ...] = (
    *interviews.endpoints,
    *guide.endpoints,
    *sessions.endpoints,
    *files.endpoints,
    *blobs.endpoints,
    *public.endpoints,
    *exports.endpoints,
    *webhooks.endpoints,
    *keys.endpoints,
)
