"""Text every store can hold and read back as it was: no NUL, no lone UTF-16 surrogate."""

from __future__ import annotations

import re

from runtime.platform.errors import ValidationError

# PostgreSQL refuses NUL in text and JSONB (and \u0000 in JSONB); a surrogate code point is
# not UTF-8 at all: SQLite's driver refuses it, and JSON written with it cannot be encoded
# back into a response. A str holding a proper pair never holds these: Python joins them.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def unstorable(value: str) -> int | None:
    """Where the first character no store can hold is, or None."""
    found = _UNSTORABLE.search(value)
    return None if found is None else found.start()


def require_storable(value: str, field: str | None, label: str | None = None) -> str:
    """The value, or ValidationError naming `field` (and the character, never echoing it)."""
    at = unstorable(value)
    if at is not None:
        raise ValidationError(
            f"{label or field} holds a character that cannot be stored "
            f"(U+{ord(value[at]):04X} at position {at})",
            field=field,
        )
    return value


def storable(value: str) -> str:
    """The text with each such character replaced by U+FFFD: for text that did not come
    through a validated boundary (a model's output, a row written before they were refused)."""
    return _UNSTORABLE.sub(REPLACEMENT, value)


def utf8(value: str) -> bytes:
    """UTF-8 bytes of any str: a lone surrogate (which cannot be encoded) becomes U+FFFD."""
    try:
        return value.encode()
    except UnicodeEncodeError:
        return storable(value).encode()
