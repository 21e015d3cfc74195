"""An interview's live feed, for researchers: every session's events, over SSE and WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from sse_starlette import ServerSentEvent
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from api import ratelimit
from api.auth import researcher, services_of
from api.endpoints import Group, Reply
from api.openapi.stream import feed_description, feed_ws_description, sse_frame
from api.routes import params
from api.routes.streams import error_frame, refuse, start_id, until_outage
from api.sse import EventStream
from runtime.access import keys
from runtime.access.keys import Principal
from runtime.interviews import service as interviews
from runtime.live import feed
from runtime.platform import json_input, metrics
from runtime.platform.errors import DomainError, Unauthorized, ValidationError
from runtime.services import Services

# Who may read an interview's sessions may watch them live.
FEED_SCOPE = keys.SESSIONS_READ
op = Group("streams", "researcher", FEED_SCOPE)


async def _watcher(conn: HTTPConnection) -> tuple[str, Principal]:
    """The interview (404 unless in the key's workspace) and the key watching it."""
    principal = await researcher(conn, FEED_SCOPE)
    interview_id = conn.path_params["id"]
    async with services_of(conn).db.connect() as db:
        await interviews.owned_row(db, principal.workspace_id, interview_id)
    return interview_id, principal


async def _reset(services: Services, interview_id: str, last_id: str) -> dict[str, str | None]:
    """The `feed.reset` frame's data when the feed no longer holds what follows `last_id`
    (it is capped, and expires): {} when nothing was missed."""
    oldest = await services.events.feed_oldest(interview_id)
    if not feed.trimmed_before(oldest, last_id):
        return {}
    return {"last_event_id": last_id, "oldest_event_id": oldest}


class FeedEndpoint:
    """GET /v1/interviews/{id}/live as a plain ASGI app, like the session stream
    (api.routes.streams.EventsEndpoint): no per-request wrappers kept for the stream's life."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        stream = await self._open(Request(scope, receive))
        await stream(scope, receive, send)

    async def _open(self, request: Request) -> EventStream:
        if request.method != "GET":
            raise HTTPException(405)
        interview_id, principal = await _watcher(request)
        last_id = start_id(request.headers.get("last-event-id") or params.LAST_EVENT_ID(request))
        services = services_of(request)
        reset = await _reset(services, interview_id, last_id)
        first = b""
        if reset:
            frame = ServerSentEvent(data=json.dumps(reset), event=feed.RESET, sep="\n")
            first = frame.encode()
        subscription = await services.hub.open_feed(interview_id, last_id, principal.key_id)
        return EventStream(subscription, services.hub.release, first=first)


op.raw(
    "GET /v1/interviews/{id}/live",
    "streamInterviewFeed",
    "The interview's live feed: every session's events (SSE)",
    Reply(
        200,
        "Events as they happen, until the client leaves",
        sse_frame(
            "One frame: an event of one of the interview's sessions (`data`: the event's data "
            "plus `session_id`), or `feed.reset` / `error` without an id"
        ),
        "text/event-stream",
    ),
    errors={
        400: "Last-Event-ID (or last_event_id) is not an event id",
        404: "No such interview in this workspace",
    },
    query=(params.LAST_EVENT_ID,),
    headers=("LastEventIdHeader",),
    description=feed_description(),
)(FeedEndpoint())


@op.raw(
    "GET /v1/interviews/{id}/live/ws",
    "interviewFeedWebSocket",
    "The interview's live feed (WebSocket)",
    Reply(101, "Switching Protocols: the WebSocket is open"),
    query=(params.LAST_EVENT_ID,),
    description=feed_ws_description(),
    websocket=True,
)
async def websocket(ws: WebSocket) -> None:
    services = services_of(ws)
    try:
        interview_id, principal = await _watcher(ws)
        last_id = start_id(params.LAST_EVENT_ID(ws))
    except DomainError as exc:
        await refuse(ws, exc)
        return
    await ws.accept()
    metrics.OPEN_STREAMS.labels("websocket").inc()
    writer: asyncio.Task[None] | None = None

    async def send_feed(from_id: str) -> None:
        if reset := await _reset(services, interview_id, from_id):
            await ws.send_json({"event": feed.RESET, "data": reset})
        subscription = await services.hub.open_feed(interview_id, from_id, principal.key_id)
        try:
            while not subscription.closed:
                for event in await subscription.next():
                    await ws.send_json({"id": event.id, "event": event.type, "data": event.data})
            if subscription.revoked:
                await ws.close(code=4401, reason=keys.REVOKED)
        finally:
            await services.hub.release(subscription)

    def restart(from_id: str) -> None:
        nonlocal writer
        if writer is not None:
            writer.cancel()
        writer = asyncio.create_task(until_outage(ws, send_feed(from_id)))

    restart(last_id)
    try:
        while True:
            incoming = await ws.receive()
            if incoming["type"] == "websocket.disconnect":
                break
            reply = await _frame(ws, principal, incoming.get("text") or "", restart)
            if reply is not None:
                await ws.send_json(reply)
    except (WebSocketDisconnect, RuntimeError):
        pass  # gone, or closed by the writer (revoked key, store outage)
    finally:
        metrics.OPEN_STREAMS.labels("websocket").dec()
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer


async def _frame(
    ws: WebSocket, principal: Principal, raw: str, restart: Callable[[str], None]
) -> dict[str, Any] | None:
    """A client frame: `resume` from an id (checks the key, counts like a request) or `ping`."""
    try:
        message = json_input.loads(raw, "a frame")
        if not isinstance(message, dict):
            raise ValidationError("a frame must be a JSON object")
        kind = message.get("type")
        if kind == "ping":
            return {"type": "pong"}
        if kind != "resume":
            raise ValidationError("type must be one of: resume, ping", field="type")
        services = services_of(ws)
        await ratelimit.by_key(ws, services, principal)
        try:
            await keys.require_live(services.db, principal.key_id)
        except Unauthorized as exc:
            await ws.close(code=4401, reason=exc.message)
            return None
        restart(start_id(str(message.get("last_event_id", "0"))))
        return None
    except DomainError as exc:
        return error_frame(exc)


endpoints = op.endpoints
