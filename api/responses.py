"""JSON responses that know how to encode datetimes, and the error shape."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from starlette.responses import JSONResponse

from runtime.platform.clock import iso
from runtime.platform.text import utf8


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


class Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        # utf8: a lone surrogate stored before they were refused must not make a row unreadable.
        return utf8(json.dumps(content, default=_default, ensure_ascii=False))


def error(status: int, code: str, message: str, field: str | None = None) -> Json:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return Json({"error": body}, status_code=status)


def page(items: list[dict[str, Any]], next_cursor: str | None) -> Json:
    return Json({"items": items, "next_cursor": next_cursor, "has_more": next_cursor is not None})
