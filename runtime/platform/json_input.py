"""JSON that a client sent, decoded within bounds: nesting depth, finite numbers, storable text."""

from __future__ import annotations

import json
import math
from typing import Any

from runtime.platform import text
from runtime.platform.errors import ValidationError

MAX_DEPTH = 32  # arrays and objects inside one another; documented in docs/limits.md


class _NotJson(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotJson(name)


def loads(raw: bytes | str, what: str = "the body") -> Any:
    """The decoded value, or ValidationError naming the field at fault (None for the whole).
    Refused: invalid JSON, NaN/Infinity, numbers too large to be finite or to convert
    (Python's 4,300-digit limit), nesting past MAX_DEPTH, and NUL or lone surrogates in
    any string or field name (no store can hold them and read them back)."""
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise ValidationError(f"{what} is nested too deeply (at most {MAX_DEPTH} levels)") from exc
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{what} is not UTF-8") from exc
    except _NotJson as exc:
        raise ValidationError(f"{what} holds {exc}, which is not a JSON number") from exc
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{what} is not valid JSON: {exc}") from exc
    except ValueError as exc:  # an integer past int()'s digit limit
        raise ValidationError(f"{what} holds a number with too many digits") from exc
    check(value, what)
    return value


def check(value: Any, what: str = "the body") -> None:
    """Walk a decoded value without recursion (it may be deep): depth, numbers and text."""
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            text.require_storable(item, path or None, path or what)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValidationError(f"{path or what} must be a finite number", field=path or None)
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise ValidationError(f"{what} is nested too deeply (at most {MAX_DEPTH} levels)")
            if isinstance(item, list):
                stack.extend((v, path, depth + 1) for v in item)
                continue
            for key, v in item.items():
                name = f"a field name in {path}" if path else "a field name"
                text.require_storable(key, path or None, name)
                stack.append((v, f"{path}.{key}" if path else key, depth + 1))
