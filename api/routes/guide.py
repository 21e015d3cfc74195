"""Researcher endpoints for the study guide; every edit answers with the whole guide."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth import researcher, services_of
from api.responses import Json
from api.validation import Body, Bool, Int, Obj, Str, StrList, parse
from runtime.access import keys
from runtime.access.keys import Principal
from runtime.interviews import guide as guides
from runtime.interviews import service as interviews
from runtime.platform.errors import NotFound, ValidationError

SECTION = Body("SectionCreate", Obj({"title": Str(200, 1)}, required=("title",)))
SECTION_UPDATE = Body("SectionUpdate", Obj({"title": Str(200, 1)}, required=("title",)))
_ITEM: dict[str, Any] = {
    "text": Str(2000, 1),
    "question_type": Str(30, enum=guides.QUESTION_TYPES),
    "options": StrList(guides.MAX_OPTIONS, Str(200, 1)),
    "scale": Obj(
        {
            "min": Int(0, 100),
            "max": Int(0, 100),
            "min_label": Str(100, nullable=True),
            "max_label": Str(100, nullable=True),
        },
        nullable=True,
    ),
    "follow_up": Str(2000, nullable=True),
    "instructions": Str(4000, nullable=True),
    "probe_budget": Int(0, guides.MAX_PROBE_BUDGET),
    "required": Bool(),
}
ITEM_CREATE = Body("GuideItemCreate", Obj(_ITEM, required=("text",)))
ITEM_UPDATE = Body("GuideItemUpdate", Obj(_ITEM))
REORDER = Body(
    "GuideReorder",
    Obj(
        {
            "item_id": Str(20, 2, nullable=True),
            "section_id": Str(20, 2, nullable=True),
            "after": Str(20, 2, nullable=True),
        },
        required=("after",),
    ),
)


async def _edit(
    request: Request, edit: Any, status: int = 200, principal: Principal | None = None
) -> Response:
    principal = principal or await researcher(request, keys.INTERVIEWS_WRITE)
    view = await interviews.edit_guide(
        services_of(request).db, principal.workspace_id, request.path_params["id"], edit
    )
    return Json(view, status_code=status)


async def get(request: Request) -> Response:
    principal = await researcher(request, keys.INTERVIEWS_READ)
    view = await interviews.get_guide(
        services_of(request).db, principal.workspace_id, request.path_params["id"]
    )
    return Json(view)


async def add_section(request: Request) -> Response:
    principal = await researcher(request, keys.INTERVIEWS_WRITE)
    fields = await parse(request, SECTION)
    edit = lambda g: guides.add_section(g, fields["title"])[0]  # noqa: E731
    return await _edit(request, edit, 201, principal)


async def update_section(request: Request) -> Response:
    principal = await researcher(request, keys.INTERVIEWS_WRITE)
    fields = await parse(request, SECTION_UPDATE)
    section_id = request.path_params["section_id"]
    edit = lambda g: guides.update_section(g, section_id, fields["title"])  # noqa: E731
    return await _edit(request, edit, principal=principal)


async def delete_section(request: Request) -> Response:
    section_id = request.path_params["section_id"]
    return await _edit(request, lambda g: guides.delete_section(g, section_id))


def _adder(kind: str) -> Any:
    async def endpoint(request: Request) -> Response:
        principal = await researcher(request, keys.INTERVIEWS_WRITE)
        fields = await parse(request, ITEM_CREATE)
        section_id = request.path_params["section_id"]
        edit = lambda g: guides.add_item(g, section_id, kind, fields)[0]  # noqa: E731
        return await _edit(request, edit, 201, principal)

    endpoint.__name__ = f"add_{kind}"
    return endpoint


def _item_id(request: Request, kind: str) -> str:
    # /questions/{id} names Q items and /tasks/{id} T items; the other kind is not there.
    item_id = str(request.path_params["item_id"])
    if not item_id.startswith("Q" if kind == "question" else "T"):
        raise NotFound(f"no {kind} {item_id} in this guide")
    return item_id


def _updater(kind: str) -> Any:
    async def endpoint(request: Request) -> Response:
        principal = await researcher(request, keys.INTERVIEWS_WRITE)
        fields = await parse(request, ITEM_UPDATE)
        item_id = _item_id(request, kind)
        edit = lambda g: guides.update_item(g, item_id, fields)  # noqa: E731
        return await _edit(request, edit, principal=principal)

    endpoint.__name__ = f"update_{kind}"
    return endpoint


def _deleter(kind: str) -> Any:
    async def endpoint(request: Request) -> Response:
        item_id = _item_id(request, kind)
        return await _edit(request, lambda g: guides.delete_item(g, item_id))

    endpoint.__name__ = f"delete_{kind}"
    return endpoint


async def reorder(request: Request) -> Response:
    principal = await researcher(request, keys.INTERVIEWS_WRITE)
    body = await parse(request, REORDER)
    item_id, section_id, after = body.get("item_id"), body.get("section_id"), body["after"]
    if item_id:
        move = lambda g: guides.move_item(g, item_id, section_id, after)  # noqa: E731
        return await _edit(request, move, principal=principal)
    if section_id:
        move = lambda g: guides.move_section(g, section_id, after)  # noqa: E731
        return await _edit(request, move, principal=principal)
    raise ValidationError("give item_id (to move an item) or section_id (to move a section)")


routes = [
    Route("/v1/interviews/{id}/guide", get, methods=["GET"]),
    Route("/v1/interviews/{id}/guide/reorder", reorder, methods=["POST"]),
    Route("/v1/interviews/{id}/sections", add_section, methods=["POST"]),
    Route("/v1/interviews/{id}/sections/{section_id}", update_section, methods=["PATCH"]),
    Route("/v1/interviews/{id}/sections/{section_id}", delete_section, methods=["DELETE"]),
    Route(
        "/v1/interviews/{id}/sections/{section_id}/questions", _adder("question"), methods=["POST"]
    ),
    Route("/v1/interviews/{id}/sections/{section_id}/tasks", _adder("task"), methods=["POST"]),
    Route("/v1/interviews/{id}/questions/{item_id}", _updater("question"), methods=["PATCH"]),
    Route("/v1/interviews/{id}/questions/{item_id}", _deleter("question"), methods=["DELETE"]),
    Route("/v1/interviews/{id}/tasks/{item_id}", _updater("task"), methods=["PATCH"]),
    Route("/v1/interviews/{id}/tasks/{item_id}", _deleter("task"), methods=["DELETE"]),
]
