"""Rate limits in the API: per client address at the edge, per key once known; their headers."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import Scope

from runtime import keys, ratelimit
from runtime.keys import Principal
from runtime.ratelimit import Quota
from runtime.services import Services

RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
# Orchestrators probe these; limiting them would turn a busy node into a dead one.
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz"})


def client_address(scope: Scope, trusted_proxy_hops: int) -> str:
    """The caller's address; behind N trusted proxies, the Nth X-Forwarded-For entry from the
    right (the one our outermost proxy saw), never one the client could have written."""
    direct = scope["client"][0] if scope.get("client") else "unknown"
    if trusted_proxy_hops <= 0:
        return str(direct)
    forwarded = [
        part.strip()
        for part in Headers(scope=scope).get("x-forwarded-for", "").split(",")
        if part.strip()
    ]
    if not forwarded:
        return str(direct)
    return forwarded[-min(trusted_proxy_hops, len(forwarded))]


def carries_api_key(scope: Scope) -> bool:
    header = Headers(scope=scope).get("authorization", "")
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and token.strip().startswith(keys.KEY_PREFIX)


async def by_address(services: Services, scope: Scope) -> Quota:
    """Counts the request against its client address; the quota is kept for the headers."""
    address = client_address(scope, services.settings.trusted_proxy_hops)
    quota = await services.limiter.hit(services.limiter.public, "addr", address)
    scope.setdefault("state", {})["rate_limit"] = quota
    return quota


async def by_key(conn: HTTPConnection, services: Services, principal: Principal) -> None:
    item = services.limiter.plan(principal.plan)
    quota = await services.limiter.hit(item, "key", principal.key_id)
    conn.scope.setdefault("state", {})["rate_limit"] = quota
    if not quota.allowed:
        raise ratelimit.exceeded(item, quota)


def add_headers(scope: Scope, headers: MutableHeaders, status: int) -> None:
    quota: Quota | None = scope.get("state", {}).get("rate_limit")
    if quota is None:
        return
    headers["x-ratelimit-limit"] = str(quota.limit)
    headers["x-ratelimit-remaining"] = str(quota.remaining)
    headers["x-ratelimit-reset"] = str(quota.reset)
    if status == 429:
        headers["retry-after"] = str(quota.retry_after)
