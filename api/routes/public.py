"""Public respondent endpoints: interview info, start or resume, say something, end."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api import ratelimit
from api.auth import respondent_check, services_of
from api.responses import Json
from api.validation import Body, Obj, Str, parse
from runtime.interviews import service as interviews
from runtime.live import conversation, ending, tickets
from runtime.platform.clock import iso
from runtime.sessions import store as sessions

RESPONDENT_FIELDS = {
    "name": Str(200, nullable=True),
    "email": Str(320, nullable=True),
    "external_id": Str(200, nullable=True),
}
SESSION_START = Body(
    "SessionStart", Obj({**RESPONDENT_FIELDS, "session_token": Str(100, nullable=True)})
)
MESSAGE = Body(
    "MessageCreate",
    Obj(
        {"content": Str(100_000, 1), "client_message_id": Str(200, 1)},
        required=("content", "client_message_id"),
    ),
)


async def interview_info(request: Request) -> Response:
    async with services_of(request).db.connect() as conn:
        row = await interviews.by_share_token(conn, request.path_params["share_token"])
    return Json(
        {
            "title": row.title,
            "language": row.language,
            "status": row.status,
            "accepting_sessions": row.status == "active",
            "anonymous": bool((row.settings or {}).get("anonymous")),
        }
    )


def stream_links(request: Request, session_id: str) -> dict[str, Any]:
    settings = services_of(request).settings
    ticket = tickets.issue(settings.secret_key, session_id, settings.ticket_ttl_seconds)
    base = settings.public_base_url or str(request.base_url).rstrip("/")
    ws_base = base.replace("https://", "wss://").replace("http://", "ws://")
    return {
        "events_url": f"{base}/v1/sessions/{session_id}/events?ticket={ticket}",
        "ws_url": f"{ws_base}/v1/sessions/{session_id}/ws?ticket={ticket}",
        "ticket_expires_in": settings.ticket_ttl_seconds,
    }


async def start(request: Request) -> Response:
    body = await parse(request, SESSION_START, allow_empty=True)
    services = services_of(request)
    share_token = request.path_params["share_token"]
    token = body.pop("session_token", None)
    if token:
        # Resume: the same session, fresh stream links, and what was said so far.
        async with services.db.connect() as conn:
            interview = await interviews.by_share_token(conn, share_token)
        row = await sessions.authenticate_any(services.db, token)
        if row.interview_id != interview.id:
            raise sessions.invalid_token()
        await ratelimit.by_session(request, services, row.id)
        return Json(await session_payload(request, row.id, token), status_code=200)
    await ratelimit.session_start(request, services)
    started = await conversation.start(services, share_token, body)
    return Json(await session_payload(request, started.row["id"], started.token), status_code=201)


async def session_payload(request: Request, session_id: str, token: str) -> dict[str, Any]:
    services = services_of(request)
    async with services.db.connect() as conn:
        row = await sessions.row(conn, session_id)
        history = await sessions.messages(conn, session_id)
    return {
        "session_id": session_id,
        "session_token": token,
        "status": row.status,
        "messages": [sessions.message_view(m, with_metadata=False) for m in history],
        "created_at": iso(row.created_at),
        **stream_links(request, session_id),
    }


async def ticket(request: Request) -> Response:
    session_id = request.path_params["id"]
    await respondent_check(request, session_id)
    return Json(stream_links(request, session_id))


async def post_message(request: Request) -> Response:
    session_id = request.path_params["id"]
    await respondent_check(request, session_id)
    body = await parse(request, MESSAGE)
    posted = await conversation.say(
        services_of(request), session_id, body["content"], body["client_message_id"]
    )
    return Json(posted.receipt(), status_code=202)


async def end(request: Request) -> Response:
    session_id = request.path_params["id"]
    await respondent_check(request, session_id)
    await ending.end(services_of(request), session_id)
    row = await sessions.load(services_of(request).db, session_id)
    return Json({"session_id": session_id, "status": row.status})


routes = [
    Route("/v1/public/interviews/{share_token}", interview_info, methods=["GET"]),
    Route("/v1/public/interviews/{share_token}/sessions", start, methods=["POST"]),
    Route("/v1/sessions/{id}/tickets", ticket, methods=["POST"]),
    Route("/v1/sessions/{id}/messages", post_message, methods=["POST"]),
    Route("/v1/sessions/{id}/end", end, methods=["POST"]),
]
