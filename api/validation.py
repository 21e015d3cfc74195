"""Request-body checks: each both validates a field (message and `field` of its 400) and
documents it in OpenAPI. `api.endpoints.Fields` structs annotate their fields with them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from runtime.languages import tags
from runtime.platform import json_input, text
from runtime.platform.errors import ValidationError


@dataclass(frozen=True)
class Str:
    max_length: int
    min_length: int = 0
    enum: tuple[str, ...] | None = None
    nullable: bool = False
    pattern: str | None = None  # a regular expression the value must match (re.search)
    pattern_says: str = ""  # what the pattern requires, for the error message

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.nullable:
            return None
        if not isinstance(value, str):
            raise ValidationError(f"{name} must be a string", field=name)
        text.require_storable(value, name)
        if self.pattern is not None and not re.search(self.pattern, value):
            raise ValidationError(f"{name} must be {self.pattern_says}", field=name)
        if self.enum is not None and value not in self.enum:
            raise ValidationError(f"{name} must be one of: {', '.join(self.enum)}", field=name)
        if not self.min_length <= len(value) <= self.max_length:
            raise ValidationError(
                f"{name} must be {self.min_length} to {self.max_length} characters", field=name
            )
        return value

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": ["string", "null"] if self.nullable else "string"}
        out["maxLength"] = self.max_length
        if self.min_length:
            out["minLength"] = self.min_length
        if self.enum:
            out["enum"] = list(self.enum)
        if self.pattern:
            out["pattern"] = self.pattern
        return out


@dataclass(frozen=True)
class Language:
    """A BCP 47 language tag CLDR knows, written back canonically (`PT-br` is `pt-BR`)."""

    # The tag's shape, checked (and documented) before CLDR is asked.
    shape: Str = Str(
        35, 2, pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$", pattern_says="a BCP 47 tag"
    )

    def check(self, name: str, value: Any) -> Any:
        return tags.canonical(self.shape.check(name, value), name)

    def schema(self) -> dict[str, Any]:
        return {
            **self.shape.schema(),
            "description": "BCP 47 language tag of a language CLDR knows (en, pt-BR, zh-Hant, "
            "es-419); stored canonically. The interviewer speaks it, and the runtime's own "
            "phrases come in it where Rapport has a catalog (docs/languages.md)",
        }


@dataclass(frozen=True)
class Num:
    minimum: float
    maximum: float
    nullable: bool = False
    integral: bool = False

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.nullable:
            return None
        kinds = int if self.integral else int | float
        if isinstance(value, bool) or not isinstance(value, kinds):
            kind = "an integer" if self.integral else "a number"
            raise ValidationError(f"{name} must be {kind}", field=name)
        if not self.minimum <= value <= self.maximum:
            raise ValidationError(f"{name} must be {self.minimum} to {self.maximum}", field=name)
        return value if self.integral else float(value)

    def schema(self) -> dict[str, Any]:
        kind = "integer" if self.integral else "number"
        return {
            "type": [kind, "null"] if self.nullable else kind,
            "minimum": self.minimum,
            "maximum": self.maximum,
        }


def Int(minimum: int, maximum: int, nullable: bool = False) -> Num:
    return Num(minimum, maximum, nullable, integral=True)


@dataclass(frozen=True)
class Bool:
    def check(self, name: str, value: Any) -> Any:
        if not isinstance(value, bool):
            raise ValidationError(f"{name} must be true or false", field=name)
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass(frozen=True)
class StrList:
    max_items: int
    item: Str
    min_items: int = 0
    nullable: bool = True
    unique: bool = False

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.nullable:
            return None
        if not isinstance(value, list) or not self.min_items <= len(value) <= self.max_items:
            raise ValidationError(
                f"{name} must be a list of {self.min_items} to {self.max_items}", field=name
            )
        items = [self.item.check(name, v) for v in value]
        if self.unique and len(set(items)) != len(items):
            raise ValidationError(f"{name} must not name the same value twice", field=name)
        return items

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": ["array", "null"] if self.nullable else "array",
            "maxItems": self.max_items,
            "items": self.item.schema(),
        }
        if self.min_items:
            out["minItems"] = self.min_items
        if self.unique:
            out["uniqueItems"] = True
        return out


@dataclass(frozen=True)
class Described:
    """Another check, with a description for the document."""

    inner: Any
    description: str

    def check(self, name: str, value: Any) -> Any:
        return self.inner.check(name, value)

    def schema(self) -> dict[str, Any]:
        return {**self.inner.schema(), "description": self.description}


@dataclass(frozen=True)
class Obj:
    fields: Mapping[str, Any]
    required: tuple[str, ...] = ()
    nullable: bool = False

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.nullable:
            return None
        if not isinstance(value, dict):
            raise ValidationError(f"{name or 'body'} must be a JSON object", field=name or None)
        unknown = sorted(set(value) - set(self.fields))
        if unknown:
            raise ValidationError(f"unknown field {unknown[0]}", field=unknown[0])
        for key in self.required:
            if key not in value:
                raise ValidationError(f"{key} is required", field=key)
        prefix = f"{name}." if name else ""
        return {k: self.fields[k].check(prefix + k, v) for k, v in value.items()}

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": ["object", "null"] if self.nullable else "object",
            "additionalProperties": False,
            "properties": {k: v.schema() for k, v in self.fields.items()},
        }
        if self.required:
            out["required"] = list(self.required)
        return out


@dataclass(frozen=True)
class Body:
    """A named request body as `api.endpoints.spec` reads it from a `Fields` struct: validated
    by `parse`, published under components/schemas."""

    name: str
    shape: Obj
    examples: dict[str, Any] = field(default_factory=dict)


async def parse(request: Request, body: Body, *, allow_empty: bool = False) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        if allow_empty:
            return dict(body.shape.check("", {}))
        raise ValidationError("a JSON body is required")
    # Bounded before any schema sees it: depth, numbers, and only text a store can hold.
    value = json_input.loads(raw)
    return dict(body.shape.check("", value))


@dataclass(frozen=True)
class ObjList:
    """A list of objects, each checked by `item`; an error names the item and its field
    (`evidence[2].quote`), an unknown or missing field included."""

    max_items: int
    item: Obj
    min_items: int = 0

    def check(self, name: str, value: Any) -> Any:
        if not isinstance(value, list) or not self.min_items <= len(value) <= self.max_items:
            raise ValidationError(
                f"{name} must be a list of {self.min_items} to {self.max_items}", field=name
            )
        out = []
        for i, entry in enumerate(value):
            at = f"{name}[{i}]"
            if isinstance(entry, dict):
                unknown = sorted(set(entry) - set(self.item.fields))
                if unknown:
                    raise ValidationError(
                        f"unknown field {at}.{unknown[0]}", field=f"{at}.{unknown[0]}"
                    )
                missing = [key for key in self.item.required if key not in entry]
                if missing:
                    raise ValidationError(
                        f"{at}.{missing[0]} is required", field=f"{at}.{missing[0]}"
                    )
            out.append(self.item.check(at, entry))
        return out

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "array",
            "maxItems": self.max_items,
            "items": self.item.schema(),
        }
        if self.min_items:
            out["minItems"] = self.min_items
        return out
