"""Researcher endpoints for sessions: list, preview, get one, erase, its transcript and files."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth import bearer, researcher, respondent, services_of
from api.responses import Json, page
from api.routes import files, params
from api.routes.public import RESPONDENT_FIELDS, session_payload
from api.validation import Body, Obj, parse
from runtime.access import keys
from runtime.erasure import erase as erasure
from runtime.interviews import service as interviews
from runtime.live import conversation
from runtime.sessions import store as sessions
from runtime.sessions.vocabulary import SESSION_STATUSES

PREVIEW_START = Body("PreviewSessionStart", Obj(RESPONDENT_FIELDS))


async def list_(request: Request) -> Response:
    principal = await researcher(request, keys.SESSIONS_READ)
    items, cursor = await sessions.list_page(
        services_of(request).db,
        principal.workspace_id,
        request.path_params["id"],
        status=params.choice(request, "status", SESSION_STATUSES),
        since=params.timestamp(request, "since"),
        cursor=request.query_params.get("cursor"),
        limit=params.limit(request),
        include_test=params.flag(request, "include_test"),
    )
    return page(items, cursor)


async def preview(request: Request) -> Response:
    principal = await researcher(request, keys.SESSIONS_WRITE)
    body = await parse(request, PREVIEW_START, allow_empty=True)
    started = await conversation.start_preview(
        services_of(request), principal.workspace_id, request.path_params["id"], body
    )
    payload = await session_payload(request, started.row["id"], started.token)
    return Json(payload, status_code=201)


async def get(request: Request) -> Response:
    principal = await researcher(request, keys.SESSIONS_READ)
    db = services_of(request).db
    row = await sessions.for_workspace(db, principal.workspace_id, request.path_params["id"])
    interview = await interviews.get(db, principal.workspace_id, row.interview_id)
    live = await services_of(request).events.live_state(row.id, row.awaiting == "interviewer")
    usage = await sessions.usage(db, row.id)
    return Json({**sessions.to_view(row, interview["anonymous"]), "live": live, "usage": usage})


async def erase(request: Request) -> Response:
    """With an API key (sessions:delete): 200 and the receipt. With the session's own token
    (the respondent, CORS): 204 — the receipt names the researcher's exports."""
    services = services_of(request)
    session_id = request.path_params["id"]
    if (bearer(request) or "").startswith(sessions.SESSION_TOKEN_PREFIX):
        # Looked up in SQL, not the token cache: an erased session's token is refused (401).
        await respondent(request, session_id)
        await erasure.erase(services, session_id, erased_by="respondent")
        return Response(status_code=204)
    principal = await researcher(request, keys.SESSIONS_DELETE)
    receipt = await erasure.erase(
        services, session_id, erased_by="api_key", workspace_id=principal.workspace_id
    )
    return Json(receipt.view())


routes = [
    Route("/v1/interviews/{id}/sessions", list_, methods=["GET"]),
    Route("/v1/interviews/{id}/preview-sessions", preview, methods=["POST"]),
    Route("/v1/sessions/{id}", get, methods=["GET"]),
    Route("/v1/sessions/{id}", erase, methods=["DELETE"]),
    Route("/v1/sessions/{id}/transcript", files.transcript, methods=["GET"]),
    Route("/v1/sessions/{id}/audio", files.upload_audio, methods=["PUT"]),
    Route("/v1/sessions/{id}/files", files.files, methods=["GET"]),
    Route("/v1/sessions/{id}/pdf", files.pdf, methods=["GET"]),
]
