"""JSON responses that know how to encode datetimes, and the error shape."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from runtime.platform import json_output
from runtime.platform.text import utf8
from runtime.stores.pagination import Page


class Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        # utf8: a lone surrogate stored before they were refused must not make a row unreadable.
        return utf8(json_output.dumps(content))


def error(status: int, code: str, message: str, field: str | None = None) -> Json:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return Json({"error": body}, status_code=status)


def page(found: Page[Any]) -> Json:
    return Json(
        {"items": found.items, "next_cursor": found.next_cursor, "has_more": found.has_more}
    )
