"""The operations: one `Operation` row per endpoint the application serves."""

from __future__ import annotations

from typing import Any

from api.endpoints import Auth, Operation, Reply
from api.openapi.stream import sse_description, ws_description
from runtime.access import keys


class Group:
    """The rows of one tag not yet declared beside their handlers (api.endpoints)."""

    def __init__(self, tag: str, auth: Auth, scope: str | None = None) -> None:
        self.tag = tag
        self.auth = auth
        self.scope = scope

    def __call__(
        self, route: str, operation_id: str, summary: str, *replies: Reply, **more: Any
    ) -> Operation:
        method, path = route.split(" ", 1)
        more.setdefault("scope", self.scope)
        return Operation(
            method.lower(), path, operation_id, summary, self.tag, self.auth, replies, **more
        )


def operations() -> list[Operation]:
    ops = (*_operations_streams(),)
    return list(ops)


def _operations_streams() -> list[Operation]:
    op = Group("streams", "stream", keys.SESSIONS_READ)
    return [
        op(
            "GET /v1/sessions/{id}/events",
            "streamEvents",
            "The session's live events (SSE)",
            Reply(200, "Events until the session ends", {"type": "string"}, "text/event-stream"),
            errors={
                400: "Last-Event-ID (or last_event_id) is not an event id",
                401: "The ticket is malformed, expired or another session's, or the token is "
                "not valid",
                404: "No such session (or not in the API key's workspace)",
            },
            query=("Ticket", "LastEventIdQuery"),
            headers=("LastEventIdHeader",),
            description=sse_description(),
        ),
        op(
            "GET /v1/sessions/{id}/ws",
            "streamWebSocket",
            "The session's live events (WebSocket)",
            Reply(101, "Switching Protocols: the WebSocket is open"),
            query=("Ticket", "LastEventIdQuery"),
            description=ws_description(),
            websocket=True,
        ),
    ]
