"""JSON as Rapport writes it, in responses and exports alike: datetimes as `clock.iso`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from runtime.platform.clock import iso


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def dumps(value: Any) -> str:
    """Non-ASCII text as itself, not as \\u escapes (the bytes are UTF-8 either way)."""
    return json.dumps(value, default=_default, ensure_ascii=False)
