"""The live stream of a session, over SSE and over WebSocket, resumable from any event id."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any

import msgspec
from sqlalchemy import Row
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from api.auth import StreamReader, by_reader, services_of, stream_reader
from api.boundary import close_reason
from api.endpoints import Group, Reply
from api.openapi.stream import sse_description, ws_description
from api.routes import params
from api.sse import EventStream
from runtime.access import keys
from runtime.live import conversation, ending
from runtime.live.eventlog import is_valid_id
from runtime.live.hub import Subscription
from runtime.live.voice_channel import VoiceChannel
from runtime.live.voice_open import open_channel
from runtime.platform import json_input, metrics
from runtime.platform.errors import DomainError, Unauthorized, ValidationError
from runtime.services import Services
from runtime.sessions import store as sessions
from runtime.stores import outages as store_errors


def start_id(value: str | None) -> str:
    value = (value or "0").strip()
    if not is_valid_id(value):
        raise ValidationError(
            "Last-Event-ID must be an event id from this stream", field="last_event_id"
        )
    return value


async def _open(
    services: Services, reader: StreamReader, session: Row[Any], last_id: str
) -> tuple[Subscription, bool]:
    """A subscription after `last_id`, and whether it only replays (nothing more will come)."""
    # Every way a session ends appends an event, so a live reader learns of it from the log;
    # the status is needed only for a session that ended before this stream opened (whose
    # end is then made sure to be in the log: Redis may have lost it).
    replay_only = await ending.announce_end(services, session)
    key_id = reader.principal.key_id if reader.principal else None
    # A researcher (an API key or its ticket) also sees the researchers' events; the
    # respondent never does.
    subscription = await services.hub.open(
        session.id, last_id, not replay_only, key_id, private=reader.principal is not None
    )
    return subscription, replay_only


# The scope a researcher's key needs to open either stream (checked by api.auth.stream_reader).
STREAM_SCOPE = keys.SESSIONS_READ
op = Group("streams", "stream", STREAM_SCOPE)


class EventsEndpoint:
    """GET /v1/sessions/{id}/events as a plain ASGI app: a function endpoint would add
    Starlette's request/response wrappers, frames every open stream keeps for its lifetime.
    Errors raised before the stream starts still reach the app's exception handlers."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        stream = await self._open(Request(scope, receive))
        await stream(scope, receive, send)

    async def _open(self, request: Request) -> EventStream:
        if request.method != "GET":
            raise HTTPException(405)
        session_id = request.path_params["id"]
        reader = await stream_reader(request, session_id, STREAM_SCOPE)
        last_id = start_id(request.headers.get("last-event-id") or params.LAST_EVENT_ID(request))
        services = services_of(request)
        subscription, replay_only = await _open(services, reader, reader.session, last_id)
        return EventStream(subscription, services.hub.release, replay_only=replay_only)


@op.raw(
    "GET /v1/sessions/{id}/ws",
    "streamWebSocket",
    "The session's live events (WebSocket)",
    Reply(101, "Switching Protocols: the WebSocket is open"),
    query=(params.TICKET, params.LAST_EVENT_ID),
    description=ws_description(),
    websocket=True,
)
async def websocket(ws: WebSocket) -> None:
    session_id = ws.path_params["id"]
    services = services_of(ws)
    try:
        reader = await stream_reader(ws, session_id, STREAM_SCOPE)
        last_id = start_id(params.LAST_EVENT_ID(ws))
    except DomainError as exc:
        await refuse(ws, exc)
        return
    await ws.accept()
    metrics.OPEN_STREAMS.labels("websocket").inc()
    writer: asyncio.Task[None] | None = None
    voice = _Voice(ws)

    async def feed(from_id: str) -> None:
        session = await sessions.load(services.db, session_id)
        subscription, replay_only = await _open(services, reader, session, from_id)
        try:
            while True:
                batch = await subscription.next(wait=not replay_only)
                for event in batch:
                    await ws.send_json({"id": event.id, "event": event.type, "data": event.data})
                    if event.ends_stream:
                        if voice.channel is not None:
                            # The closing turn is heard before the socket closes.
                            voice.channel.events(batch)
                            await voice.channel.drain(VOICE_DRAIN_SECONDS)
                        await ws.close(code=1000)
                        return
                if voice.channel is not None:
                    voice.channel.events(batch)
                if subscription.closed:
                    if subscription.revoked:
                        await ws.close(code=4401, reason=keys.REVOKED)
                    return
                if replay_only and not subscription.resync:
                    await ws.close(code=1000)  # the log is exhausted, as in api/sse.py
                    return
        finally:
            await services.hub.release(subscription)

    def restart(from_id: str) -> asyncio.Task[None]:
        nonlocal writer
        if writer is not None:
            writer.cancel()
        writer = asyncio.create_task(until_outage(ws, feed(from_id)))
        return writer

    restart(last_id)
    try:
        while True:
            incoming = await ws.receive()
            if incoming["type"] == "websocket.disconnect":
                break
            if incoming.get("bytes") is not None:
                reply = await voice.frame(incoming["bytes"])
            else:
                reply = await _handle(ws, reader, incoming.get("text") or "", restart, voice)
            if reply is not None:
                await ws.send_json(reply)
    except WebSocketDisconnect:
        pass
    except RuntimeError:
        pass  # the writer closed the socket after session.completed
    finally:
        await voice.stop()
        metrics.OPEN_STREAMS.labels("websocket").dec()
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer


async def refuse(ws: WebSocket, exc: DomainError) -> None:
    """Accept, then close with 4000 + the HTTP status (4401, 4404, …) and the reason: a
    browser sees a close code, but never the status of a refused handshake."""
    await ws.accept()
    await ws.close(code=4000 + exc.status, reason=close_reason(exc.message))


async def until_outage(ws: WebSocket, writer: Awaitable[None]) -> None:
    """A socket's writer, run until it ends, or until Redis or the database cannot serve it
    now: then 1013 (try again later), and the client resumes with its last event id."""
    try:
        await writer
    except Exception as exc:
        if store_errors.outage(exc) is None:
            raise
        with contextlib.suppress(Exception):
            await ws.close(code=1013, reason="the live store is unavailable; reconnect")


class _Voice:
    """The socket's voice channel, when the respondent has started one: the Outlet that
    serializes its output onto this WebSocket (binary frames for audio)."""

    def __init__(self, ws: WebSocket) -> None:
        self._ws = ws
        self.channel: VoiceChannel | None = None

    async def send_json(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await self._ws.send_json(message)

    async def send_audio(self, pcm: bytes) -> None:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await self._ws.send_bytes(pcm)

    async def start(self, reader: StreamReader, message: dict[str, Any]) -> None:
        if self.channel is not None:
            raise ValidationError("voice is already started on this socket", field="type")
        self.channel = await open_channel(services_of(self._ws), reader.session.id, self, message)

    async def frame(self, data: bytes) -> dict[str, Any] | None:
        if self.channel is None:
            return error_frame(
                ValidationError("audio frames come after voice.start", field="frame")
            )
        try:
            await self.channel.frame(data)
        except DomainError as exc:
            return error_frame(exc)
        return None

    async def stop(self) -> None:
        channel, self.channel = self.channel, None
        if channel is not None:
            await channel.close()


VOICE_TYPES = ("voice.start", "voice.stop", "voice.end_turn", "playback")
# How long the closing turn's audio may play before the socket closes after the session ends.
VOICE_DRAIN_SECONDS = 60.0


async def _handle(
    ws: WebSocket, reader: StreamReader, raw: str, restart: Any, voice: _Voice
) -> dict[str, Any] | None:
    services = services_of(ws)
    session_id = reader.session.id
    try:
        # Bounded like a request body: depth, numbers, and only text a store can hold.
        message = json_input.loads(raw, "a frame")
        if not isinstance(message, dict):
            raise ValidationError("a frame must be a JSON object")
        kind = message.get("type")
        if kind in ("message", "end", *VOICE_TYPES) and not reader.may_post:
            raise Unauthorized("only the respondent may post to this session")
        if kind in ("resume", "message", "end", "voice.start"):
            # Frames that cost what a request costs count like one (pings are free).
            await by_reader(ws, reader)
        if kind == "resume":
            if reader.principal is not None:
                # The hub may have missed the key's revocation notice: a replay of the whole
                # log is worth one look at the key.
                try:
                    await keys.require_live(services.db, reader.principal.key_id)
                except Unauthorized as exc:
                    await ws.close(code=4401, reason=exc.message)
                    return None
            restart(start_id(str(message.get("last_event_id", "0"))))
            return None
        if kind == "message":
            posted = await conversation.say(
                services,
                session_id,
                str(message.get("content", "")),
                str(message.get("client_message_id", "")),
            )
            return {"type": "ack", **msgspec.structs.asdict(posted.receipt())}
        if kind == "end":
            await ending.end(services, session_id)
            return {"type": "ack", "ended": True}
        if kind == "ping":
            return {"type": "pong"}
        if kind == "voice.start":
            await voice.start(reader, message)
            return None
        if kind == "voice.stop":
            await voice.stop()
            return {"type": "voice.stopped"}
        if kind in VOICE_TYPES:
            if voice.channel is None:
                raise ValidationError(f"{kind} comes after voice.start", field="type")
            await voice.channel.control(message)
            return None
        raise ValidationError(
            "type must be one of: resume, message, end, ping, " + ", ".join(VOICE_TYPES),
            field="type",
        )
    except DomainError as exc:
        return error_frame(exc)


def error_frame(exc: DomainError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.field:
        body["field"] = exc.field
    return {"type": "error", "error": body}


op.raw(
    "GET /v1/sessions/{id}/events",
    "streamEvents",
    "The session's live events (SSE)",
    Reply(200, "Events until the session ends", {"type": "string"}, "text/event-stream"),
    errors={
        400: "Last-Event-ID (or last_event_id) is not an event id",
        401: "The ticket is malformed, expired or another session's, or the token is not valid",
        404: "No such session (or not in the API key's workspace)",
    },
    query=(params.TICKET, params.LAST_EVENT_ID),
    headers=("LastEventIdHeader",),
    description=sse_description(),
)(EventsEndpoint())

endpoints = op.endpoints
