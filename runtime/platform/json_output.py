"""JSON as Rapport writes it, in responses and exports alike: datetimes as `clock.iso`,
typed structs (request bodies, reply views) as objects."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import msgspec

from runtime.platform.clock import iso


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, msgspec.Struct):
        # Field by field, so a datetime inside is written as clock.iso writes it too; a field
        # left UNSET is not written at all (an optional field of a view).
        fields = ((name, getattr(value, name)) for name in value.__struct_fields__)
        return {name: field for name, field in fields if field is not msgspec.UNSET}
    raise TypeError(f"cannot encode {type(value).__name__}")


def dumps(value: Any) -> str:
    """Non-ASCII text as itself, not as \\u escapes (the bytes are UTF-8 either way)."""
    return json.dumps(value, default=_default, ensure_ascii=False)
