"""ASGI middleware: request ids, security headers, rate limits, body limits, public CORS."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors, instrument, ratelimit
from api.boundary import close_reason
from api.responses import error
from runtime.platform.errors import DomainError
from runtime.stores import outages as store_errors

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}
# The respondent page needs scripts, styles and connections back to us, and may be framed
# by any site for now (embedding on customers' sites; per-interview origins come later).
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors *"
)
# The console: the respondent page's policy, framed by no one (a researcher's credential
# is in it), and no form posts anywhere.
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# /docs: what the vendored Swagger UI needs (its files, the OpenAPI document, "try it out"
# calls to this API, data: icons), framed by no one.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PUBLIC_PATHS = re.compile(
    r"^/v1/public/|^/v1/sessions/[^/]+/(messages|utterances|end|events|ws|tickets|audio)$"
    r"|^/v1/sessions/[^/]+$"
)
# Uploads stream to disk under their own, larger limit, enforced by the route: the method
# and path of each (any other method on such a path has the JSON limit, or is refused).
UPLOADS = (
    ("PUT", re.compile(r"^/v1/sessions/[^/]+/audio$")),
    ("POST", re.compile(r"^/v1/sessions/[^/]+/utterances$")),
)
BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
access_log = structlog.get_logger("rapport.access")


class Edge:
    """Every request's way in: an X-Request-Id (the client's, if sane), the security headers
    and an access line for all; CORS on the public subset; the body limit where a body may
    come. One middleware, choosing the layers per request, because every layer is a frame
    that an open stream keeps alive for as long as it lasts.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, cors_origins: tuple[str, ...]) -> None:
        self.app = app
        limited = BodyLimit(app, max_body_bytes)
        self.limited = limited
        self.cors_origins = cors_origins
        self.cors_plain = _cors(app, cors_origins)
        self.cors_limited = _cors(limited, cors_origins)

    def _chain(self, scope: Scope) -> ASGIApp:
        if scope["type"] != "http":
            return self.app
        with_body = scope["method"] not in BODYLESS_METHODS
        upload = is_upload(scope)
        if _cross_origin_public(scope):
            return self.cors_limited if with_body and not upload else self.cors_plain
        if upload:
            return self.app
        return self.limited if with_body else self.app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        page = _page_policy(scope["path"])
        started = time.perf_counter()
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "websocket.accept":
                # The 101 handshake carries the request id and security headers too.
                accept_headers = MutableHeaders(raw=list(message.get("headers", [])))
                accept_headers["x-request-id"] = request_id
                for name, value in SECURITY_HEADERS.items():
                    accept_headers.setdefault(name, value)
                ratelimit.add_headers(scope, accept_headers, 101)
                message = {**message, "headers": accept_headers.raw}
                status = 101
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["x-request-id"] = request_id
                ratelimit.add_headers(scope, headers, status)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if page is not None:
                    headers["content-security-policy"] = page
                    if page == PAGE_CSP:  # the one page others may frame
                        del headers["x-frame-options"]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                refusal = await _refusal(scope)
                if refusal is not None:
                    # A cross-origin respondent page must be able to read why (CORS headers).
                    if _cross_origin_public(scope):
                        refusal = _cors(refusal, self.cors_origins)
                    await refusal(scope, receive, send_with_headers)
                    return
                await self._chain(scope)(scope, receive, send_with_headers)
            except Exception as exc:
                # A store failing in a layer outside the routes (idempotency): the documented
                # 503, with the request id and headers, while nothing has been sent yet.
                unavailable = store_errors.outage(exc)
                if unavailable is None or status != 0 or scope["type"] != "http":
                    raise
                await _Refusal(unavailable)(scope, receive, send_with_headers)
            finally:
                elapsed = time.perf_counter() - started
                instrument.observe(scope, status, elapsed)
                # The path only: query strings may carry stream tickets.
                access_log.info(
                    "request",
                    method=scope.get("method", "WS"),
                    path=scope["path"],
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )


def _page_policy(path: str) -> str | None:
    """The pages' own policies; everything else (static assets too: a script or stylesheet
    is never a document to frame) keeps the API's `default-src 'none'`, framed by no one."""
    if path.startswith("/i/"):
        return PAGE_CSP
    if path == "/docs":
        return DOCS_CSP
    if path == "/console":
        return CONSOLE_CSP
    return None


def is_upload(scope: Scope) -> bool:
    return any(scope["method"] == m and path.match(scope["path"]) for m, path in UPLOADS)


def _unserved_method(scope: Scope) -> bool:
    """A request that may carry a body, to a path whose routes all serve other methods."""
    if scope["type"] != "http" or scope["method"] in BODYLESS_METHODS:
        return False
    partial = False
    for route in scope["app"].router.routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return False
        partial = partial or match is Match.PARTIAL
    return partial


def _cross_origin_public(scope: Scope) -> bool:
    return scope["type"] == "http" and bool(
        PUBLIC_PATHS.match(scope["path"]) and any(k == b"origin" for k, _ in scope["headers"])
    )


async def _refusal(scope: Scope) -> ASGIApp | None:
    """What answers instead of the app: over a rate limit (api.ratelimit counts the request
    here), or a method the path does not serve, refused before any layer (idempotency)
    reads a body that the route would never take."""
    try:
        await ratelimit.admit(scope["app"].state.services, scope)
    except DomainError as exc:
        return _Refusal(exc)
    except Exception as exc:
        # Checking a credential reads SQL: a store that does not answer is a 503 here too.
        unavailable = store_errors.outage(exc)
        if unavailable is None:
            raise
        return _Refusal(unavailable)
    if _unserved_method(scope):
        return _Refusal(HTTPException(405))
    return None


class _Refusal:
    """The documented error; a WebSocket is accepted, then closed with 4000 + the status (as
    api.routes.streams does), since a browser never sees the status of a refused handshake."""

    def __init__(self, exc: DomainError | HTTPException) -> None:
        self.exc = exc

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exc = self.exc
        if scope["type"] == "websocket":
            assert isinstance(exc, DomainError)
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            close = {"type": "websocket.close", "code": 4000 + exc.status}
            await send({**close, "reason": close_reason(exc.message)})
            return
        request = Request(scope, receive)
        if isinstance(exc, DomainError):
            response = await errors.domain_error(request, exc)
        else:
            response = await errors.http_error(request, exc)
        await response(scope, receive, send)


class BodyLimit:
    """413 before reading a body that says it is too large, or as soon as one grows too large."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        await too_large(self.max_bytes)(scope, receive, send)


def too_large(max_bytes: int) -> Response:
    return error(413, "payload_too_large", f"request bodies are limited to {max_bytes} bytes")


class _TooLarge(Exception):
    pass


def _cors(app: ASGIApp, origins: tuple[str, ...]) -> CORSMiddleware:
    """CORS for the respondent endpoints only; the researcher API stays same-origin."""
    return CORSMiddleware(
        app,
        allow_origins=list(origins),
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=[
            "authorization",
            "content-type",
            "last-event-id",
            "x-request-id",
            "idempotency-key",
        ],
        expose_headers=[
            "x-request-id",
            "retry-after",
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "idempotent-replayed",
        ],
        max_age=600,
    )
