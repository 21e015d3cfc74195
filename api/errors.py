"""Every failure leaves as the documented error shape, with a stable code."""

from __future__ import annotations

import structlog
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from api.responses import error
from runtime.errors import DomainError, Unavailable

log = structlog.get_logger(__name__)

HTTP_CODES = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    429: "rate_limited",
}
# PostgreSQL SQLSTATEs that mean "not now" rather than "wrong": lock_timeout, a statement
# cancelled by statement_timeout, too many connections, a server shutting down or starting.
_PG_UNAVAILABLE = {"55P03", "57014", "53300", "57P01", "57P02", "57P03"}
# SQLite's busy_timeout ran out while another connection held the write lock.
_SQLITE_UNAVAILABLE = ("database is locked", "database is busy", "database table is locked")


def store_unavailable(exc: BaseException) -> Unavailable | None:
    """The documented 503 for a store that timed out, is locked or unreachable; None for
    anything else (a bug stays a 500)."""
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        # ConnectionError covers a refused connection, a full pool and a Redis still loading.
        return Unavailable("the live store (Redis) is not answering; try again shortly")
    if isinstance(exc, PoolTimeout):
        return Unavailable("every database connection is busy; try again shortly")
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        if getattr(orig, "sqlstate", None) in _PG_UNAVAILABLE or str(
            getattr(orig, "sqlstate", "")
        ).startswith("08"):
            return Unavailable("the database is busy or locked; try again shortly")
        if any(text in str(orig) for text in _SQLITE_UNAVAILABLE):
            return Unavailable("the database is busy or locked; try again shortly")
        if exc.connection_invalidated:
            return Unavailable("the database connection was lost; try again shortly")
    return None


def _domain(exc: DomainError) -> Response:
    response = error(exc.status, exc.code, exc.message, exc.field)
    if exc.status == 401:
        response.headers["www-authenticate"] = "Bearer"
    if isinstance(exc, Unavailable):
        response.headers["retry-after"] = str(exc.retry_after_seconds)
    return response


async def domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return _domain(exc)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "internal_error")
    message = "no such endpoint" if exc.status_code == 404 else str(exc.detail)
    return error(exc.status_code, code, message)


async def unexpected(request: Request, exc: Exception) -> Response:
    # Store errors reach this handler from routes and middleware alike: map them here, once.
    unavailable = store_unavailable(exc)
    if unavailable is not None:
        log.warning(
            "request.store_unavailable",
            path=request.url.path,
            request_id=request.state.request_id,
            error=f"{type(exc).__name__}: {exc}"[:300],
        )
        return _domain(unavailable)
    log.exception("request.failed", path=request.url.path, request_id=request.state.request_id)
    return error(500, "internal_error", "something went wrong on our side; it has been logged")
