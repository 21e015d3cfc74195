"""JSON Schema building blocks for the document: refs, scalars, objects, arrays and pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Schema = dict[str, Any]


REF_TEMPLATE = "#/components/schemas/{name}"


def ref(name: str) -> Schema:
    return {"$ref": REF_TEMPLATE.format(name=name)}


def _typed(kind: str, description: str, nullable: bool, keywords: Mapping[str, Any]) -> Schema:
    """The shape string, integer, boolean, array and obj share: type, keywords, description."""
    out: Schema = {"type": [kind, "null"] if nullable else kind, **keywords}
    if description:
        out["description"] = description
    return out


def string(description: str = "", nullable: bool = False, **extra: Any) -> Schema:
    return _typed("string", description, nullable, extra)


def integer(description: str = "", nullable: bool = False, **extra: Any) -> Schema:
    return _typed("integer", description, nullable, extra)


def number(description: str = "", nullable: bool = False, **extra: Any) -> Schema:
    return _typed("number", description, nullable, extra)


def boolean(description: str = "") -> Schema:
    return _typed("boolean", description, False, {})


def enum(values: tuple[str, ...], description: str = "", nullable: bool = False) -> Schema:
    out = string(description, nullable)
    out["enum"] = [*values, None] if nullable else list(values)
    return out


def timestamp(description: str = "", nullable: bool = False) -> Schema:
    """A UTC timestamp as the API writes it: RFC 3339 with a trailing Z (platform.clock.iso)."""
    text = description or "UTC timestamp (RFC 3339, always ending in Z)"
    return string(text, nullable, format="date-time", pattern="Z$")


def array(items: Schema, description: str = "", nullable: bool = False) -> Schema:
    return _typed("array", description, nullable, {"items": items})


def obj(
    properties: Mapping[str, Schema],
    description: str = "",
    *,
    optional: tuple[str, ...] = (),
    nullable: bool = False,
) -> Schema:
    """An object the API writes: every property present unless listed in `optional`."""
    required = [name for name in properties if name not in optional]
    keywords = {"additionalProperties": False, "properties": dict(properties), "required": required}
    return _typed("object", description, nullable, keywords)


def page_of(item: str) -> Schema:
    return obj(
        {
            "items": array(ref(item)),
            "next_cursor": string(
                "Pass as `cursor` to get the next page; null on the last page", nullable=True
            ),
            "has_more": boolean("True exactly when next_cursor is not null"),
        },
        f"One page of {item} objects, newest first",
    )
