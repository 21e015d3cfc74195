"""The study guide: sections S1… holding items Q1…/T1…, edited by pure functions on its structs."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal, get_args

import msgspec

from runtime.platform.errors import NotFound, ValidationError
from runtime.platform.views import Meta, View

QuestionType = Literal["open_ended", "multiple_choice", "rating"]
QUESTION_TYPES: tuple[QuestionType, ...] = get_args(QuestionType)
ItemKind = Literal["question", "task"]
MAX_SECTIONS = 50
MAX_ITEMS = 200
MAX_OPTIONS = 20
MAX_PROBE_BUDGET = 5
DEFAULT_PROBE_BUDGET = 1

_Bound = Annotated[int, Meta(ge=0, le=100)]


class Scale(View):
    """The rating scale (rating questions only; defaults 1 to 5)"""

    min: _Bound
    max: _Bound
    min_label: str | None
    max_label: str | None


# A rating question's scale unless it says otherwise.
DEFAULT_SCALE = Scale(min=1, max=5, min_label=None, max_label=None)


class Item(View):
    id: Annotated[str, Meta(description="Q1… for questions, T1… for tasks", pattern="^[QT][0-9]+$")]
    kind: ItemKind
    text: str
    question_type: QuestionType
    options: Annotated[
        list[str] | None, Meta(description="The choices (multiple_choice questions only)")
    ]
    # Not Annotated: the document's walk over views (api.openapi.assembly) does not look
    # inside Meta for nested views; Scale's docstring describes it.
    scale: Scale | None
    follow_up: Annotated[str | None, Meta(description="The probe used when an answer is thin")]
    instructions: str | None
    probe_budget: Annotated[int, Meta(ge=0, le=MAX_PROBE_BUDGET)]
    required: bool


class Section(View):
    id: Annotated[str, Meta(description="S1, S2, …", pattern="^S[0-9]+$")]
    title: str
    items: list[Item]


class Guide(View):
    """The study guide; every guide edit answers with the whole guide"""

    interview_id: str
    version: Annotated[
        int,
        Meta(
            description="The published version; edits to a published interview publish a new one",
            ge=0,
        ),
    ]
    sections: list[Section]


class StoredGuide(msgspec.Struct, kw_only=True):
    """The guide as SQL keeps it (interviews.guide, guide_versions.guide): its sections, and
    the counters its ids are numbered from (bookkeeping, never shown)."""

    sections: list[Section]
    counters: dict[str, int]


def empty_guide() -> StoredGuide:
    return StoredGuide(sections=[], counters={"S": 0, "Q": 0, "T": 0})


def stored(raw: Any) -> StoredGuide:
    """A guide as read from SQL's JSON."""
    return msgspec.convert(raw, StoredGuide)


def to_json(guide: StoredGuide) -> dict[str, Any]:
    """A guide as SQL's JSON column takes it."""
    out: dict[str, Any] = msgspec.to_builtins(guide)
    return out


def items_in_order(guide: StoredGuide | Guide) -> list[Item]:
    return [item for section in guide.sections for item in section.items]


def add_section(guide: StoredGuide, title: str) -> tuple[StoredGuide, str]:
    guide = copy.deepcopy(guide)
    if len(guide.sections) >= MAX_SECTIONS:
        raise ValidationError(f"a guide holds at most {MAX_SECTIONS} sections", field="title")
    section_id = _next_id(guide, "S")
    guide.sections.append(Section(id=section_id, title=title, items=[]))
    return guide, section_id


def update_section(guide: StoredGuide, section_id: str, title: str) -> StoredGuide:
    guide = copy.deepcopy(guide)
    _section(guide, section_id).title = title
    return guide


def delete_section(guide: StoredGuide, section_id: str) -> StoredGuide:
    guide = copy.deepcopy(guide)
    guide.sections.remove(_section(guide, section_id))
    return guide


def add_item(
    guide: StoredGuide, section_id: str, kind: ItemKind, fields: Mapping[str, Any]
) -> tuple[StoredGuide, str]:
    guide = copy.deepcopy(guide)
    section = _section(guide, section_id)
    if len(items_in_order(guide)) >= MAX_ITEMS:
        raise ValidationError(f"a guide holds at most {MAX_ITEMS} items", field="text")
    item_id = _next_id(guide, "Q" if kind == "question" else "T")
    section.items.append(normalize_item({"id": item_id, "kind": kind, **fields}))
    return guide, item_id


def update_item(guide: StoredGuide, item_id: str, fields: Mapping[str, Any]) -> StoredGuide:
    guide = copy.deepcopy(guide)
    section, index = _locate_item(guide, item_id)
    merged = {**msgspec.to_builtins(section.items[index]), **fields}
    section.items[index] = normalize_item(merged)
    return guide


def delete_item(guide: StoredGuide, item_id: str) -> StoredGuide:
    guide = copy.deepcopy(guide)
    section, index = _locate_item(guide, item_id)
    del section.items[index]
    return guide


def move_item(
    guide: StoredGuide, item_id: str, section_id: str | None, after: str | None
) -> StoredGuide:
    """Move an item after `after` (an item id), or first in `section_id` when `after` is null."""
    guide = copy.deepcopy(guide)
    source, index = _locate_item(guide, item_id)
    if after == item_id:
        raise ValidationError("an item cannot be placed after itself", field="after")
    if after is not None:
        target, after_index = _locate_item(guide, after, field="after")
        if section_id is not None and target.id != section_id:
            raise ValidationError(f"{after} is not in section {section_id}", field="after")
    else:
        target = _section(guide, section_id, field="section_id") if section_id else source
        after_index = -1
    item = source.items.pop(index)
    if target is source and after_index > index:
        after_index -= 1
    target.items.insert(after_index + 1, item)
    return guide


def move_section(guide: StoredGuide, section_id: str, after: str | None) -> StoredGuide:
    guide = copy.deepcopy(guide)
    section = _section(guide, section_id, field="section_id")
    if after == section_id:
        raise ValidationError("a section cannot be placed after itself", field="after")
    guide.sections.remove(section)
    position = 0
    if after is not None:
        position = guide.sections.index(_section(guide, after, field="after")) + 1
    guide.sections.insert(position, section)
    return guide


def normalize_item(item: Mapping[str, Any]) -> Item:
    """Check an item's fields (as JSON: a request's, merged over a stored item's) against each
    other and fill in defaults."""
    question_type = item.get("question_type") or "open_ended"
    if question_type not in QUESTION_TYPES:
        raise ValidationError(
            f"question_type must be one of {', '.join(QUESTION_TYPES)}", field="question_type"
        )
    text = (item.get("text") or "").strip()
    if not text:
        raise ValidationError("text must not be empty", field="text")
    options = item.get("options")
    if question_type == "multiple_choice":
        options = [str(o).strip() for o in options or []]
        if len(options) < 2 or len(options) > MAX_OPTIONS:
            raise ValidationError(
                f"a multiple_choice question needs 2 to {MAX_OPTIONS} options", field="options"
            )
        if any(not o for o in options):
            raise ValidationError("options must not be empty strings", field="options")
        if len({o.casefold() for o in options}) != len(options):
            raise ValidationError("options must be distinct", field="options")
    elif options:
        raise ValidationError("options apply only to multiple_choice questions", field="options")
    else:
        options = None
    scale = None
    if question_type == "rating":
        scale = Scale(**{**msgspec.structs.asdict(DEFAULT_SCALE), **(item.get("scale") or {})})
        low, high = scale.min, scale.max
        if not isinstance(low, int) or not isinstance(high, int) or not 0 <= low < high <= 100:
            raise ValidationError("scale needs integers with 0 <= min < max <= 100", field="scale")
    elif item.get("scale"):
        raise ValidationError("scale applies only to rating questions", field="scale")
    budget = item.get("probe_budget")
    budget = DEFAULT_PROBE_BUDGET if budget is None else budget
    if not 0 <= budget <= MAX_PROBE_BUDGET:
        raise ValidationError(f"probe_budget must be 0 to {MAX_PROBE_BUDGET}", field="probe_budget")
    return Item(
        id=item["id"],
        kind=item.get("kind", "question"),
        text=text,
        question_type=question_type,
        options=options,
        scale=scale,
        follow_up=(item.get("follow_up") or "").strip() or None,
        instructions=(item.get("instructions") or "").strip() or None,
        probe_budget=budget,
        required=bool(item.get("required", True)),
    )


def _next_id(guide: StoredGuide, letter: str) -> str:
    # Counters only grow, so a deleted item's id is never reused for a different question.
    guide.counters[letter] += 1
    return f"{letter}{guide.counters[letter]}"


def _section(guide: StoredGuide, section_id: str, field: str | None = None) -> Section:
    for section in guide.sections:
        if section.id == section_id:
            return section
    if field:
        raise ValidationError(f"no section {section_id} in this guide", field=field)
    raise NotFound(f"no section {section_id} in this guide")


def _locate_item(guide: StoredGuide, item_id: str, field: str | None = None) -> tuple[Section, int]:
    for section, index, item in _walk(guide):
        if item.id == item_id:
            return section, index
    if field:
        raise ValidationError(f"no item {item_id} in this guide", field=field)
    raise NotFound(f"no item {item_id} in this guide")


def _walk(guide: StoredGuide) -> Iterator[tuple[Section, int, Item]]:
    for section in guide.sections:
        for index, item in enumerate(section.items):
            yield section, index, item
