"""Paths and query parameters holding text no store can keep are refused before any route runs."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import QueryParams
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from api.responses import error
from runtime.platform import text
from runtime.platform.errors import DomainError, NotFound


def guard(routes: Iterable[BaseRoute]) -> None:
    """Make each route check its request first (after the method: a 405 stays a 405)."""
    for route in routes:
        # Route objects are module-level, shared by every app built in one process.
        if isinstance(route, Route | WebSocketRoute | Mount) and not isinstance(route.app, _Guard):
            route.app = _Guard(route.app)


def refusal(scope: Scope) -> DomainError | None:
    """Why this request cannot be served as it stands, or None. The server has decoded `%00`
    into the path (and the query); a NUL or a lone surrogate cannot be in any id, and
    PostgreSQL would fail on it rather than find nothing."""
    at = text.unstorable(scope["path"])
    if at is not None:
        return NotFound(f"nothing is at this path: it holds U+{ord(scope['path'][at]):04X}")
    for name, value in QueryParams(scope.get("query_string", b"")).multi_items():
        try:
            text.require_storable(name, None, "a query parameter's name")
            text.require_storable(value, name)
        except DomainError as exc:
            return exc
    return None


def close_reason(message: str) -> str:
    """As much of `message` as a close frame carries: 123 bytes of UTF-8, whole characters.
    A longer reason (an id of emoji quoted in it) makes the server drop the connection
    without any close frame."""
    return message.encode()[:123].decode(errors="ignore")


class _Guard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = refusal(scope)
        if refused is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            # As api/routes/streams.py does: a browser sees a close code, never a refused
            # handshake's status; 4000 + the HTTP status.
            ws = WebSocket(scope, receive, send)
            await ws.accept()
            await ws.close(code=4000 + refused.status, reason=close_reason(refused.message))
        else:
            response = error(refused.status, refused.code, refused.message, refused.field)
            await response(scope, receive, send)
