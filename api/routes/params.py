"""Query-string parameters shared by list endpoints."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TypeVar

from starlette.requests import Request

from runtime.platform import clock
from runtime.platform.errors import ValidationError

# ASCII digits only: str.isdigit() is also true of "²" and "٣", which int() then refuses.
_COUNT = re.compile(r"[0-9]{1,6}")
Word = TypeVar("Word", bound=str)


def limit(request: Request) -> int:
    settings = request.app.state.services.settings
    raw = request.query_params.get("limit")
    if raw is None:
        return int(settings.page_limit_default)
    if not _COUNT.fullmatch(raw) or not 1 <= int(raw) <= settings.page_limit_max:
        raise ValidationError(f"limit must be 1 to {settings.page_limit_max}", field="limit")
    return int(raw)


def choice(request: Request, name: str, allowed: tuple[Word, ...]) -> Word | None:
    """One of `allowed` (typed as they are: a Literal's values), or None when absent."""
    value = request.query_params.get(name)
    if value is None:
        return None
    for word in allowed:
        if word == value:
            return word
    raise ValidationError(f"{name} must be one of: {', '.join(allowed)}", field=name)


def timestamp(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    return None if raw is None else clock.parse(raw, name)


def flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return False
    if raw not in ("true", "false"):
        raise ValidationError(f"{name} must be true or false", field=name)
    return raw == "true"
