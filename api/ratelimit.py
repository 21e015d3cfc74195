"""Rate limits in the API: each request counted once where its checked credential says (a
key's plan, a session's own limit, or the client address), session starts per address, and
the X-RateLimit-* headers. The plan of limits and its reasons: docs/limits.md."""

from __future__ import annotations

from limits import RateLimitItem
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import Scope

from api.credentials import Presented, presented
from runtime.access import console_tickets
from runtime.access import rate_limits as ratelimit
from runtime.access.keys import Principal
from runtime.access.rate_limits import Quota
from runtime.live import tickets
from runtime.platform.errors import Unauthorized
from runtime.services import Services
from runtime.sessions import tokens as session_tokens

RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
# Orchestrators probe these; limiting them would turn a busy node into a dead one.
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz"})
# Where the edge leaves the API key it verified, so that api.auth need not look it up again.
PRINCIPAL = "principal"


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


async def admit(services: Services, scope: Scope) -> None:
    """Counts a request (or a WebSocket opening) once, at the edge: against the plan of a key
    that was verified, against the session named by a valid ticket or session token, and
    anything else — a credential that failed its check included, so guessing costs the
    guesser — against the client address. Raises RateLimited past the limit."""
    if scope["path"] in UNLIMITED_PATHS:
        return
    limiter = services.limiter
    credential = presented(scope)
    if credential.kind == "api_key":
        try:
            principal = await console_tickets.principal_of(
                services.redis, services.db, credential.value
            )
        except Unauthorized:
            pass  # the route refuses it; the attempt counts against the address
        else:
            scope.setdefault("state", {})[PRINCIPAL] = principal
            await charge(services, scope, limiter.plan(principal.plan), "key", principal.key_id)
            return
    elif await _names_its_session(services, credential):
        await charge(services, scope, limiter.session, "session", credential.session_id)
        return
    address = client_address(scope, services.settings.trusted_proxy_hops)
    await charge(services, scope, limiter.public, "addr", address)


async def _names_its_session(services: Services, credential: Presented) -> bool:
    try:
        if credential.kind == "ticket":
            tickets.verify(services.settings.secret_key, credential.value, credential.session_id)
            return True
        if credential.kind == "session_token":
            await session_tokens.check_token(services.db, credential.session_id, credential.value)
            return True
    except Unauthorized:
        pass
    return False


async def charge(services: Services, scope: Scope, item: RateLimitItem, *who: str) -> None:
    """Counts against one limit; the last limit counted is the one the headers report."""
    quota = await services.limiter.hit(item, *who)
    scope.setdefault("state", {})["rate_limit"] = quota
    if not quota.allowed:
        raise ratelimit.exceeded(item, quota)


async def by_key(conn: HTTPConnection, services: Services, principal: Principal) -> None:
    await charge(
        services, conn.scope, services.limiter.plan(principal.plan), "key", principal.key_id
    )


async def by_session(conn: HTTPConnection, services: Services, session_id: str) -> None:
    """What a session's credential does outside its own paths (a resume, WebSocket frames)."""
    await charge(services, conn.scope, services.limiter.session, "session", session_id)


async def session_start(conn: HTTPConnection, services: Services) -> None:
    """A new session, counted against its address's starts (on top of the address limit)."""
    address = client_address(conn.scope, services.settings.trusted_proxy_hops)
    await charge(services, conn.scope, services.limiter.starts, "start", address)


def add_headers(scope: Scope, headers: MutableHeaders, status: int) -> None:
    quota: Quota | None = scope.get("state", {}).get("rate_limit")
    if quota is None:
        return
    headers["x-ratelimit-limit"] = str(quota.limit)
    headers["x-ratelimit-remaining"] = str(quota.remaining)
    headers["x-ratelimit-reset"] = str(quota.reset)
    if status == 429:
        headers["retry-after"] = str(quota.retry_after)
