"""A view's published schema: what it always writes is required, and nothing else is written."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, UnsetType

from api.openapi.assembly import view_schemas
from runtime.platform.views import Meta, View


class Inner(View):
    always: int
    sometimes: str | UnsetType = UNSET


class Outer(View):
    one: Annotated[Inner | None, Meta(description="nested under Annotated and a union")]
    many: Annotated[list[Inner], Meta(description="nested under Annotated and a list")]


def test_nested_views_are_closed_and_unset_fields_optional() -> None:
    schemas = view_schemas([Outer])
    assert schemas["Outer"]["required"] == ["one", "many"]
    assert schemas["Inner"]["required"] == ["always"]
    assert schemas["Inner"]["additionalProperties"] is False
    assert "sometimes" in schemas["Inner"]["properties"]
