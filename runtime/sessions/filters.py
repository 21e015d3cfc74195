"""Which sessions count: the one filter stats, listings and exports share."""

from __future__ import annotations

from sqlalchemy import ColumnElement, true

from runtime.stores import schema


def real_sessions(include_test: bool = False) -> ColumnElement[bool]:
    """Test (preview) sessions are left out unless asked for."""
    return true() if include_test else schema.sessions.c.is_test.is_(False)
