"""Researcher endpoints for sessions: list per interview, get one, its transcript and files."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth import researcher, services_of
from api.responses import Json, page
from api.routes import files, params
from runtime import interviews, sessions


async def list_(request: Request) -> Response:
    principal = await researcher(request)
    items, cursor = await sessions.list_page(
        services_of(request).db,
        principal.workspace_id,
        request.path_params["id"],
        status=params.choice(request, "status", interviews.SESSION_STATUSES),
        since=params.timestamp(request, "since"),
        cursor=request.query_params.get("cursor"),
        limit=params.limit(request),
    )
    return page(items, cursor)


async def get(request: Request) -> Response:
    principal = await researcher(request)
    db = services_of(request).db
    row = await sessions.for_workspace(db, principal.workspace_id, request.path_params["id"])
    interview = await interviews.get(db, principal.workspace_id, row.interview_id)
    live = await services_of(request).events.live_state(row.id)
    return Json({**sessions.to_view(row, interview["anonymous"]), "live": live})


routes = [
    Route("/v1/interviews/{id}/sessions", list_, methods=["GET"]),
    Route("/v1/sessions/{id}", get, methods=["GET"]),
    Route("/v1/sessions/{id}/transcript", files.transcript, methods=["GET"]),
    Route("/v1/sessions/{id}/audio", files.upload_audio, methods=["PUT"]),
    Route("/v1/sessions/{id}/files", files.files, methods=["GET"]),
    Route("/v1/sessions/{id}/pdf", files.pdf, methods=["GET"]),
]
