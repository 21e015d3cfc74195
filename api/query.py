"""Query-string parameters declared once: how each is read (with its 400) and documented.

An endpoint lists the ones it takes in its declaration (api.endpoints) and reads each with
`call.query(param)`; the OpenAPI document publishes them under components/parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from starlette.requests import HTTPConnection

from runtime.platform import clock
from runtime.platform.errors import ValidationError

Schema = dict[str, Any]
T = TypeVar("T")
# ASCII digits only: str.isdigit() is also true of "²" and "٣", which int() then refuses.
_COUNT = re.compile(r"[0-9]{1,6}")
# A plain decimal (no exponent, no "nan" or "inf", which float() would take).
_DECIMAL = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6})?")

Word = TypeVar("Word", bound=str)


@dataclass(frozen=True)
class PageLimits:
    """What the page size parameter allows in this deployment (RAPPORT_PAGE_LIMIT_*)."""

    default: int
    maximum: int


@dataclass(frozen=True, eq=False)
class Query(Generic[T]):
    component: str  # its name under components/parameters
    name: str  # its name in the query string
    read: Callable[[str | None, PageLimits], T]  # the raw value (None: absent) to the value
    schema: Callable[[PageLimits], Schema]
    description: Callable[[PageLimits], str]

    def __call__(self, conn: HTTPConnection) -> T:
        settings = conn.app.state.services.settings
        limits = PageLimits(settings.page_limit_default, settings.page_limit_max)
        return self.read(conn.query_params.get(self.name), limits)

    def parameter(self, limits: PageLimits) -> dict[str, Any]:
        return {
            "name": self.name,
            "in": "query",
            "required": False,
            "schema": self.schema(limits),
            "description": self.description(limits),
        }


def _fixed(component: str, name: str, read: Any, schema: Schema, description: str) -> Query[Any]:
    return Query(component, name, read, lambda _: schema, lambda _: description)


def text(component: str, name: str, description: str, **schema: Any) -> Query[str | None]:
    return _fixed(component, name, lambda raw, _: raw, {"type": "string", **schema}, description)


def choice(
    component: str,
    name: str,
    allowed: tuple[Word, ...],
    description: str,
    default: Word | None = None,
) -> Query[Word | None]:
    """One of `allowed`, typed as they are (a Literal's values), or `default` when absent."""

    def read(raw: str | None, _: PageLimits) -> Word | None:
        if raw is None:
            return default
        for word in allowed:
            if word == raw:
                return word
        raise ValidationError(f"{name} must be one of: {', '.join(allowed)}", field=name)

    schema: Schema = {"type": "string", "enum": list(allowed)}
    if default is not None:
        schema["default"] = default
    return _fixed(component, name, read, schema, description)


def flag(component: str, name: str, description: str) -> Query[bool]:
    def read(raw: str | None, _: PageLimits) -> bool:
        if raw is None:
            return False
        if raw not in ("true", "false"):
            raise ValidationError(f"{name} must be true or false", field=name)
        return raw == "true"

    schema = {"type": "string", "enum": ["true", "false"], "default": "false"}
    return _fixed(component, name, read, schema, description)


def timestamp(component: str, name: str, description: str) -> Query[datetime | None]:
    def read(raw: str | None, _: PageLimits) -> datetime | None:
        return None if raw is None else clock.parse(raw, name)

    return _fixed(component, name, read, {"type": "string", "format": "date-time"}, description)


def limit(raw: str | None, limits: PageLimits) -> int:
    if raw is None:
        return limits.default
    if not _COUNT.fullmatch(raw) or not 1 <= int(raw) <= limits.maximum:
        raise ValidationError(f"limit must be 1 to {limits.maximum}", field="limit")
    return int(raw)


def integer(
    component: str, name: str, description: str, bounds: tuple[int, int], default: int
) -> Query[int]:
    """A whole number within `bounds` (inclusive), or `default` when absent."""
    low, high = bounds

    def read(raw: str | None, _: PageLimits) -> int:
        if raw is None:
            return default
        if not _COUNT.fullmatch(raw) or not low <= int(raw) <= high:
            raise ValidationError(f"{name} must be an integer from {low} to {high}", field=name)
        return int(raw)

    schema = {"type": "integer", "minimum": low, "maximum": high, "default": default}
    return _fixed(component, name, read, schema, description)


def number(
    component: str, name: str, description: str, bounds: tuple[float, float], default: float
) -> Query[float]:
    """A decimal number within `bounds` (inclusive), or `default` when absent."""
    low, high = bounds

    def read(raw: str | None, _: PageLimits) -> float:
        if raw is None:
            return default
        if not _DECIMAL.fullmatch(raw) or not low <= float(raw) <= high:
            raise ValidationError(f"{name} must be a number from {low} to {high}", field=name)
        return float(raw)

    schema = {"type": "number", "minimum": low, "maximum": high, "default": default}
    return _fixed(component, name, read, schema, description)
