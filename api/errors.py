"""Every failure leaves as the documented error shape, with a stable code."""

from __future__ import annotations

import structlog
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from api.responses import error
from runtime.platform.errors import DomainError, Unavailable
from runtime.stores import outages as store_errors

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
    503: "unavailable",
}


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
    unavailable = store_errors.outage(exc)
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
