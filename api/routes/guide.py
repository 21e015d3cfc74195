"""Researcher endpoints for the study guide; every edit answers with the whole guide."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth import researcher, services_of
from api.responses import Json
from api.validation import Body, Bool, Int, Obj, Str, StrList, parse
from runtime import guide as guides
from runtime import interviews
from runtime.errors import ValidationError

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


async def _edit(request: Request, edit: Any, status: int = 200) -> Response:
    principal = await researcher(request)
    view = await interviews.edit_guide(
        services_of(request).db, principal.workspace_id, request.path_params["id"], edit
    )
    return Json(view, status_code=status)


async def get(request: Request) -> Response:
    principal = await researcher(request)
    view = await interviews.get_guide(
        services_of(request).db, principal.workspace_id, request.path_params["id"]
    )
    return Json(view)


async def add_section(request: Request) -> Response:
    fields = await parse(request, SECTION)
    return await _edit(request, lambda g: guides.add_section(g, fields["title"])[0], 201)


async def update_section(request: Request) -> Response:
    fields = await parse(request, SECTION_UPDATE)
    section_id = request.path_params["section_id"]
    return await _edit(request, lambda g: guides.update_section(g, section_id, fields["title"]))


async def delete_section(request: Request) -> Response:
    section_id = request.path_params["section_id"]
    return await _edit(request, lambda g: guides.delete_section(g, section_id))


def _adder(kind: str) -> Any:
    async def endpoint(request: Request) -> Response:
        fields = await parse(request, ITEM_CREATE)
        section_id = request.path_params["section_id"]
        return await _edit(request, lambda g: guides.add_item(g, section_id, kind, fields)[0], 201)

    endpoint.__name__ = f"add_{kind}"
    return endpoint


async def update_item(request: Request) -> Response:
    fields = await parse(request, ITEM_UPDATE)
    item_id = request.path_params["item_id"]
    return await _edit(request, lambda g: guides.update_item(g, item_id, fields))


async def delete_item(request: Request) -> Response:
    item_id = request.path_params["item_id"]
    return await _edit(request, lambda g: guides.delete_item(g, item_id))


async def reorder(request: Request) -> Response:
    body = await parse(request, REORDER)
    item_id, section_id, after = body.get("item_id"), body.get("section_id"), body["after"]
    if item_id:
        return await _edit(request, lambda g: guides.move_item(g, item_id, section_id, after))
    if section_id:
        return await _edit(request, lambda g: guides.move_section(g, section_id, after))
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
    Route("/v1/interviews/{id}/questions/{item_id}", update_item, methods=["PATCH"]),
    Route("/v1/interviews/{id}/questions/{item_id}", delete_item, methods=["DELETE"]),
    Route("/v1/interviews/{id}/tasks/{item_id}", update_item, methods=["PATCH"]),
    Route("/v1/interviews/{id}/tasks/{item_id}", delete_item, methods=["DELETE"]),
]
