"""Researcher endpoints for the study guide; every edit answers with the whole guide."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from msgspec import UNSET, UnsetType
from starlette.responses import Response

from api.auth import services_of
from api.endpoints import Call, Fields, Group, Reply
from api.responses import Json
from api.validation import Bool, Int, Obj, Str, StrList
from runtime.access import keys
from runtime.interviews import guide as guides
from runtime.interviews import service as interviews
from runtime.platform.errors import NotFound, ValidationError

_TITLE = Str(200, 1)
_SCALE = Obj(
    {
        "min": Int(0, 100),
        "max": Int(0, 100),
        "min_label": Str(100, nullable=True),
        "max_label": Str(100, nullable=True),
    },
    nullable=True,
)
_ID = Str(20, 2, nullable=True)


class SectionCreate(Fields):
    title: Annotated[str, _TITLE]


class SectionUpdate(Fields):
    title: Annotated[str, _TITLE]


class GuideItemUpdate(Fields):
    """A question's or task's fields; PATCH changes only the fields given."""

    text: Annotated[str | UnsetType, Str(2000, 1)] = UNSET
    question_type: Annotated[str | UnsetType, Str(30, enum=guides.QUESTION_TYPES)] = UNSET
    options: Annotated[list[str] | UnsetType | None, StrList(guides.MAX_OPTIONS, _TITLE)] = UNSET
    scale: Annotated[dict[str, Any] | UnsetType | None, _SCALE] = UNSET
    follow_up: Annotated[str | UnsetType | None, Str(2000, nullable=True)] = UNSET
    instructions: Annotated[str | UnsetType | None, Str(4000, nullable=True)] = UNSET
    probe_budget: Annotated[int | UnsetType, Int(0, guides.MAX_PROBE_BUDGET)] = UNSET
    required: Annotated[bool | UnsetType, Bool()] = UNSET


class GuideItemCreate(GuideItemUpdate, kw_only=True):
    text: Annotated[str, Str(2000, 1)]


class GuideReorder(Fields, kw_only=True):
    item_id: Annotated[str | UnsetType | None, _ID] = UNSET
    section_id: Annotated[str | UnsetType | None, _ID] = UNSET
    after: Annotated[str | None, _ID]


_404 = {404: "No such interview in this workspace"}
_ERRORS = {
    404: "No such interview in this workspace, or no such section/item in its guide",
    409: "The interview is closed, or the guide is being edited concurrently",
}
op = Group("guide", "researcher", keys.INTERVIEWS_WRITE)


async def _edit(
    call: Call[Any],
    edit: Callable[[guides.StoredGuide], guides.StoredGuide],
    status: int = 200,
) -> Response:
    view = await interviews.edit_guide(
        services_of(call.request).db, call.key.workspace_id, call.path["id"], edit
    )
    return Json(view, status_code=status)


@op(
    "GET /v1/interviews/{id}/guide",
    "getGuide",
    "Get the study guide",
    Reply(200, "The guide", guides.Guide),
    errors=_404,
    scope=keys.INTERVIEWS_READ,
)
async def get(call: Call[None]) -> Response:
    view = await interviews.get_guide(
        services_of(call.request).db, call.key.workspace_id, call.path["id"]
    )
    return Json(view)


@op(
    "POST /v1/interviews/{id}/guide/reorder",
    "reorderGuide",
    "Move an item (item_id) or a section (section_id)",
    Reply(200, "The reordered guide", guides.Guide),
    errors={
        400: "Neither item_id nor section_id, or `after` or section_id is not in this guide",
        **_ERRORS,
    },
    body=GuideReorder,
    description="With item_id: place the item after the item `after`, or first in "
    "section_id (or in its own section) when `after` is null. With section_id only: "
    "place the section after the section `after`, or first when it is null.",
)
async def reorder(call: Call[GuideReorder]) -> Response:
    body = await call.body()
    item_id = body.item_id if isinstance(body.item_id, str) else None
    section_id = body.section_id if isinstance(body.section_id, str) else None
    if item_id:
        return await _edit(call, lambda g: guides.move_item(g, item_id, section_id, body.after))
    if section_id:
        return await _edit(call, lambda g: guides.move_section(g, section_id, body.after))
    raise ValidationError("give item_id (to move an item) or section_id (to move a section)")


@op(
    "POST /v1/interviews/{id}/sections",
    "addSection",
    "Add a section at the end",
    Reply(201, "The guide with the new section", guides.Guide),
    errors={**_ERRORS, **_404},
    body=SectionCreate,
)
async def add_section(call: Call[SectionCreate]) -> Response:
    title = (await call.body()).title
    return await _edit(call, lambda g: guides.add_section(g, title)[0], 201)


@op(
    "PATCH /v1/interviews/{id}/sections/{section_id}",
    "updateSection",
    "Rename a section",
    Reply(200, "The guide", guides.Guide),
    errors=_ERRORS,
    body=SectionUpdate,
)
async def update_section(call: Call[SectionUpdate]) -> Response:
    title = (await call.body()).title
    section_id = call.path["section_id"]
    return await _edit(call, lambda g: guides.update_section(g, section_id, title))


@op(
    "DELETE /v1/interviews/{id}/sections/{section_id}",
    "deleteSection",
    "Delete a section and its items",
    Reply(200, "The guide without the section", guides.Guide),
    errors=_ERRORS,
)
async def delete_section(call: Call[None]) -> Response:
    section_id = call.path["section_id"]
    return await _edit(call, lambda g: guides.delete_section(g, section_id))


def _item_id(call: Call[Any], kind: guides.ItemKind) -> str:
    # /questions/{id} names Q items and /tasks/{id} T items; the other kind is not there.
    item_id = str(call.path["item_id"])
    if not item_id.startswith("Q" if kind == "question" else "T"):
        raise NotFound(f"no {kind} {item_id} in this guide")
    return item_id


def _items(kind: guides.ItemKind, plural: str) -> None:
    """Add, update and delete for one kind of guide item (questions, tasks)."""
    name = kind.capitalize()

    async def add(call: Call[GuideItemCreate]) -> Response:
        fields = (await call.body()).given()
        section_id = call.path["section_id"]
        return await _edit(call, lambda g: guides.add_item(g, section_id, kind, fields)[0], 201)

    async def update(call: Call[GuideItemUpdate]) -> Response:
        fields = (await call.body()).given()
        item_id = _item_id(call, kind)
        return await _edit(call, lambda g: guides.update_item(g, item_id, fields))

    async def delete(call: Call[None]) -> Response:
        item_id = _item_id(call, kind)
        return await _edit(call, lambda g: guides.delete_item(g, item_id))

    add.__name__, update.__name__, delete.__name__ = (
        f"add_{kind}",
        f"update_{kind}",
        f"delete_{kind}",
    )
    op(
        f"POST /v1/interviews/{{id}}/sections/{{section_id}}/{plural}",
        f"add{name}",
        f"Add a {kind} at the end of a section",
        Reply(201, f"The guide with the new {kind}", guides.Guide),
        errors=_ERRORS,
        body=GuideItemCreate,
        description="Fields are checked against each other: options (2 or more) "
        "only for multiple_choice, scale only for rating.",
    )(add)
    op(
        f"PATCH /v1/interviews/{{id}}/{plural}/{{item_id}}",
        f"update{name}",
        f"Update a {kind} (only the fields given)",
        Reply(200, "The guide", guides.Guide),
        errors=_ERRORS,
        body=GuideItemUpdate,
    )(update)
    op(
        f"DELETE /v1/interviews/{{id}}/{plural}/{{item_id}}",
        f"delete{name}",
        f"Delete a {kind}",
        Reply(200, f"The guide without the {kind}", guides.Guide),
        errors=_ERRORS,
    )(delete)


_items("question", "questions")
_items("task", "tasks")

endpoints = op.endpoints
