"""Researcher endpoints for interviews: CRUD, duplicate, lifecycle."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth import researcher, services_of
from api.responses import Json, page
from api.routes import params
from api.validation import Body, Bool, Int, Num, Obj, Str, parse
from runtime.access import keys
from runtime.engines import readiness as engine_readiness
from runtime.erasure import erase as erasure
from runtime.erasure import retention
from runtime.interviews import service as interviews

_FIELDS: dict[str, Any] = {
    "title": Str(200, 1),
    "goal": Str(4000),
    "context": Str(20000),
    "tone": Str(200),
    "language": Str(35, 2),
    "welcome_message": Str(4000),
    "closing_message": Str(4000),
    "engine": Str(20, enum=interviews.ENGINES),
    "max_duration_minutes": Int(1, 1440, nullable=True),
    "max_turns": Int(2, 1000, nullable=True),
    "anonymous": Bool(),
    "model": Str(200, 1, nullable=True),
    "temperature": Num(0, 2, nullable=True),
    "retention_days": Int(retention.MIN_DAYS, retention.MAX_DAYS, nullable=True),
}
INTERVIEW_CREATE = Body("InterviewCreate", Obj(_FIELDS, required=("title",)))
INTERVIEW_UPDATE = Body("InterviewUpdate", Obj(_FIELDS))


def with_links(request: Request, view: dict[str, Any]) -> dict[str, Any]:
    base = services_of(request).settings.public_base_url or str(request.base_url).rstrip("/")
    return {**view, "share_url": f"{base}/i/{view['share_token']}"}


def _check_retention(principal: keys.Principal, fields: dict[str, Any]) -> None:
    # Retention erases sessions for good: setting it takes the scope erasing them takes.
    if "retention_days" in fields:
        principal.require(keys.SESSIONS_DELETE)


async def create(request: Request) -> Response:
    principal = await researcher(request, keys.INTERVIEWS_WRITE)
    fields = await parse(request, INTERVIEW_CREATE)
    _check_retention(principal, fields)
    view = await interviews.create(services_of(request).db, principal.workspace_id, fields)
    return Json(with_links(request, view), status_code=201)


async def list_(request: Request) -> Response:
    principal = await researcher(request, keys.INTERVIEWS_READ)
    items, cursor = await interviews.list_page(
        services_of(request).db,
        principal.workspace_id,
        status=params.choice(request, "status", interviews.STATUSES),
        cursor=request.query_params.get("cursor"),
        limit=params.limit(request),
    )
    return page([with_links(request, v) for v in items], cursor)


async def get(request: Request) -> Response:
    principal = await researcher(request, keys.INTERVIEWS_READ)
    view = await interviews.get(
        services_of(request).db, principal.workspace_id, request.path_params["id"]
    )
    return Json(with_links(request, view))


async def update(request: Request) -> Response:
    principal = await researcher(request, keys.INTERVIEWS_WRITE)
    fields = await parse(request, INTERVIEW_UPDATE)
    _check_retention(principal, fields)
    services = services_of(request)
    await engine_readiness.require_for_update(
        services.db,
        services.llm_upstream,
        principal.workspace_id,
        request.path_params["id"],
        fields,
    )
    view = await interviews.update_fields(
        services.db, principal.workspace_id, request.path_params["id"], fields
    )
    return Json(with_links(request, view))


async def delete(request: Request) -> Response:
    principal = await researcher(request, keys.INTERVIEWS_WRITE)
    await erasure.delete_draft(
        services_of(request), principal.workspace_id, request.path_params["id"]
    )
    return Response(status_code=204)


async def duplicate(request: Request) -> Response:
    principal = await researcher(request, keys.INTERVIEWS_WRITE)
    view = await interviews.duplicate(
        services_of(request).db, principal.workspace_id, request.path_params["id"]
    )
    return Json(with_links(request, view), status_code=201)


def _transition(action: str) -> Any:
    async def endpoint(request: Request) -> Response:
        principal = await researcher(request, keys.INTERVIEWS_WRITE)
        services = services_of(request)
        if action == "publish":
            await engine_readiness.require_interview_engine(
                services.db,
                services.llm_upstream,
                principal.workspace_id,
                request.path_params["id"],
            )
        view = await interviews.transition(
            services.db, principal.workspace_id, request.path_params["id"], action
        )
        return Json(with_links(request, view))

    endpoint.__name__ = action
    return endpoint


routes = [
    Route("/v1/interviews", create, methods=["POST"]),
    Route("/v1/interviews", list_, methods=["GET"]),
    Route("/v1/interviews/{id}", get, methods=["GET"]),
    Route("/v1/interviews/{id}", update, methods=["PATCH"]),
    Route("/v1/interviews/{id}", delete, methods=["DELETE"]),
    Route("/v1/interviews/{id}/duplicate", duplicate, methods=["POST"]),
    *(
        Route(f"/v1/interviews/{{id}}/{action}", _transition(action), methods=["POST"])
        for action in interviews.TRANSITIONS
    ),
]
