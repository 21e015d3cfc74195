"""Views: what the API answers with, as typed structs that also say what the document says.

A view is a msgspec Struct; each field's JSON Schema comes from its type (a `Literal` is an
enum, `X | None` is nullable, a field defaulting to `UNSET` is optional and left out when
unset) and from `Annotated[..., Meta(description=…, ge=…)]`. The API's document publishes
every view a reply names under components/schemas by class name, nested views included
(api.openapi.assembly), and `json_output` writes them. The domain packages declare their
own views here-below, knowing nothing of HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Self

import msgspec
from msgspec import Meta

__all__ = ["Meta", "Timestamp", "View"]


class View(msgspec.Struct, kw_only=True):
    """A JSON object the API answers with; its docstring, if any, describes it."""

    @classmethod
    def from_row(cls, row: Mapping[Any, Any], **fields: Any) -> Self:
        """The view of a stored row: each field not given is the row's column of its name
        (a field the row lacks keeps its default, or the view cannot be made)."""
        columns = {n: row[n] for n in cls.__struct_fields__ if n not in fields and n in row}
        return cls(**columns, **fields)


# A UTC timestamp as the API writes it: RFC 3339 with a trailing Z (platform.clock.iso).
Timestamp = Annotated[
    datetime,
    Meta(
        description="UTC timestamp (RFC 3339, always ending in Z)",
        extra_json_schema={"format": "date-time", "pattern": "Z$"},
    ),
]
