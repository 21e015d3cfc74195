"""The study guide: sections S1… holding items Q1…/T1…, edited by pure functions on its JSON."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from runtime.platform.errors import NotFound, ValidationError

QUESTION_TYPES = ("open_ended", "multiple_choice", "rating")
MAX_SECTIONS = 50
MAX_ITEMS = 200
MAX_OPTIONS = 20
MAX_PROBE_BUDGET = 5
DEFAULT_PROBE_BUDGET = 1
DEFAULT_SCALE = {"min": 1, "max": 5, "min_label": None, "max_label": None}

Guide = dict[str, Any]
Item = dict[str, Any]


def empty_guide() -> Guide:
    return {"sections": [], "counters": {"S": 0, "Q": 0, "T": 0}}


def public_view(guide: Mapping[str, Any]) -> dict[str, Any]:
    """The guide as the API shows it (counters are bookkeeping, not content)."""
    return {"sections": copy.deepcopy(guide["sections"])}


def items_in_order(guide: Mapping[str, Any]) -> list[Item]:
    return [item for section in guide["sections"] for item in section["items"]]


def add_section(guide: Guide, title: str) -> tuple[Guide, str]:
    guide = copy.deepcopy(guide)
    if len(guide["sections"]) >= MAX_SECTIONS:
        raise ValidationError(f"a guide holds at most {MAX_SECTIONS} sections", field="title")
    section_id = _next_id(guide, "S")
    guide["sections"].append({"id": section_id, "title": title, "items": []})
    return guide, section_id


def update_section(guide: Guide, section_id: str, title: str) -> Guide:
    guide = copy.deepcopy(guide)
    _section(guide, section_id)["title"] = title
    return guide


def delete_section(guide: Guide, section_id: str) -> Guide:
    guide = copy.deepcopy(guide)
    section = _section(guide, section_id)
    guide["sections"].remove(section)
    return guide


def add_item(
    guide: Guide, section_id: str, kind: str, fields: Mapping[str, Any]
) -> tuple[Guide, str]:
    guide = copy.deepcopy(guide)
    section = _section(guide, section_id)
    if len(items_in_order(guide)) >= MAX_ITEMS:
        raise ValidationError(f"a guide holds at most {MAX_ITEMS} items", field="text")
    item_id = _next_id(guide, "Q" if kind == "question" else "T")
    item = normalize_item({"id": item_id, "kind": kind, **fields})
    section["items"].append(item)
    return guide, item_id


def update_item(guide: Guide, item_id: str, fields: Mapping[str, Any]) -> Guide:
    guide = copy.deepcopy(guide)
    section, index = _locate_item(guide, item_id)
    merged = {**section["items"][index], **fields}
    section["items"][index] = normalize_item(merged)
    return guide


def delete_item(guide: Guide, item_id: str) -> Guide:
    guide = copy.deepcopy(guide)
    section, index = _locate_item(guide, item_id)
    del section["items"][index]
    return guide


def move_item(guide: Guide, item_id: str, section_id: str | None, after: str | None) -> Guide:
    """Move an item after `after` (an item id), or first in `section_id` when `after` is null."""
    guide = copy.deepcopy(guide)
    source, index = _locate_item(guide, item_id)
    if after == item_id:
        raise ValidationError("an item cannot be placed after itself", field="after")
    if after is not None:
        target, after_index = _locate_item(guide, after, field="after")
        if section_id is not None and target["id"] != section_id:
            raise ValidationError(f"{after} is not in section {section_id}", field="after")
    else:
        target = _section(guide, section_id, field="section_id") if section_id else source
        after_index = -1
    item = source["items"].pop(index)
    if target is source and after_index > index:
        after_index -= 1
    target["items"].insert(after_index + 1, item)
    return guide


def move_section(guide: Guide, section_id: str, after: str | None) -> Guide:
    guide = copy.deepcopy(guide)
    section = _section(guide, section_id, field="section_id")
    if after == section_id:
        raise ValidationError("a section cannot be placed after itself", field="after")
    guide["sections"].remove(section)
    position = 0
    if after is not None:
        position = guide["sections"].index(_section(guide, after, field="after")) + 1
    guide["sections"].insert(position, section)
    return guide


def normalize_item(item: Mapping[str, Any]) -> Item:
    """Check an item's fields against each other and fill in defaults."""
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
        scale = {**DEFAULT_SCALE, **(item.get("scale") or {})}
        low, high = scale["min"], scale["max"]
        if not isinstance(low, int) or not isinstance(high, int) or not 0 <= low < high <= 100:
            raise ValidationError("scale needs integers with 0 <= min < max <= 100", field="scale")
    elif item.get("scale"):
        raise ValidationError("scale applies only to rating questions", field="scale")
    budget = item.get("probe_budget")
    budget = DEFAULT_PROBE_BUDGET if budget is None else budget
    if not 0 <= budget <= MAX_PROBE_BUDGET:
        raise ValidationError(f"probe_budget must be 0 to {MAX_PROBE_BUDGET}", field="probe_budget")
    return {
        "id": item["id"],
        "kind": item.get("kind", "question"),
        "text": text,
        "question_type": question_type,
        "options": options,
        "scale": scale,
        "follow_up": (item.get("follow_up") or "").strip() or None,
        "instructions": (item.get("instructions") or "").strip() or None,
        "probe_budget": budget,
        "required": bool(item.get("required", True)),
    }


def _next_id(guide: Guide, letter: str) -> str:
    # Counters only grow, so a deleted item's id is never reused for a different question.
    guide["counters"][letter] += 1
    return f"{letter}{guide['counters'][letter]}"


def _section(guide: Guide, section_id: str, field: str | None = None) -> dict[str, Any]:
    for section in guide["sections"]:
        if section["id"] == section_id:
            return section  # type: ignore[no-any-return]
    if field:
        raise ValidationError(f"no section {section_id} in this guide", field=field)
    raise NotFound(f"no section {section_id} in this guide")


def _locate_item(
    guide: Guide, item_id: str, field: str | None = None
) -> tuple[dict[str, Any], int]:
    for section, index, item in _walk(guide):
        if item["id"] == item_id:
            return section, index
    if field:
        raise ValidationError(f"no item {item_id} in this guide", field=field)
    raise NotFound(f"no item {item_id} in this guide")


def _walk(guide: Guide) -> Iterator[tuple[dict[str, Any], int, Item]]:
    for section in guide["sections"]:
        for index, item in enumerate(section["items"]):
            yield section, index, item
