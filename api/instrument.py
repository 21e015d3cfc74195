"""Per-request metrics: the route template a request matched, its status and its time."""

from __future__ import annotations

import weakref
from typing import Any

from starlette.routing import BaseRoute, Match, Mount
from starlette.types import Scope

from runtime.platform import metrics

UNMATCHED = "unmatched"
# Live streams last as long as their session: they are counted, and open ones gauged
# (rapport_open_streams), but their lifetime is not a latency.
STREAMS = frozenset({"/v1/sessions/{id}/events", "/v1/sessions/{id}/ws"})
# Per app: the routes serving each endpoint (the router leaves the endpoint in the scope,
# so only the few routes sharing it are matched again, not all of them).
_INDEX: weakref.WeakKeyDictionary[Any, dict[int, list[BaseRoute]]] = weakref.WeakKeyDictionary()


def _index(app: Any) -> dict[int, list[BaseRoute]]:
    index = _INDEX.get(app)
    if index is None:
        index = {}
        for route in getattr(app, "routes", []):
            endpoint = route.app if isinstance(route, Mount) else getattr(route, "endpoint", None)
            index.setdefault(id(endpoint), []).append(route)
        _INDEX[app] = index
    return index


def route_template(scope: Scope) -> str:
    """The path template of the route that served the request (never the path itself,
    whose ids would make a time series per session)."""
    endpoint = scope.get("endpoint")
    app = scope.get("app")
    if app is None:
        return UNMATCHED
    if endpoint is None:
        # Refused before routing (a rate limit, a method the path does not serve) or no
        # route at all: look the route up (the rare path, so the scan is affordable).
        candidates = list(getattr(app, "routes", []))
    else:
        candidates = _index(app).get(id(endpoint), [])
    if len(candidates) == 1:
        return str(getattr(candidates[0], "path", UNMATCHED))
    for route in candidates:
        if route.matches(scope)[0] is not Match.NONE:
            return str(getattr(route, "path", UNMATCHED))
    return UNMATCHED


def observe(scope: Scope, status: int, seconds: float) -> None:
    method = scope.get("method", "WS") if scope["type"] == "http" else "WS"
    route = route_template(scope)
    metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
    if route not in STREAMS:
        metrics.HTTP_LATENCY.labels(method, route).observe(seconds)
