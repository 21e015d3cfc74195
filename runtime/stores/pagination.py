"""Opaque cursors over (created_at, id), newest first."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Column, Select, Table, and_, or_
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.platform import json_input, text
from runtime.platform.clock import as_utc
from runtime.platform.errors import ValidationError

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, newest first: every list the API serves is one of these."""

    items: list[T]
    next_cursor: str | None  # pass back as `cursor` for the next page; None on the last

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None

    def map(self, view: Callable[[T], U]) -> Page[U]:
        return self.of([view(item) for item in self.items])

    def of(self, items: list[U]) -> Page[U]:
        """The same page position with these items (views of this page's)."""
        return Page(items, self.next_cursor)


def encode_cursor(created_at: datetime, row_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor of ours holds; anything else (forged, naive, out of range, a
    NUL in the id) is a 400, never a comparison or a query that fails."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, row_id = json_input.loads(raw, "cursor")
        if not isinstance(stamp, str) or not isinstance(row_id, str):
            raise TypeError("cursor fields are strings")
        at = datetime.fromisoformat(stamp)
        if at.tzinfo is None:
            raise ValueError("our cursors carry an offset")
        return as_utc(at, "cursor"), text.require_storable(row_id, "cursor")
    except (ValueError, TypeError, ValidationError) as exc:
        raise ValidationError("cursor is not one this API issued", field="cursor") from exc


def _apply_cursor(
    query: Select[Any], created: Column[Any], row_id: Column[Any], cursor: str | None, limit: int
) -> Select[Any]:
    """Order newest first and start after the cursor; fetch one extra row to know has_more."""
    if cursor:
        stamp, last_id = decode_cursor(cursor)
        query = query.where(or_(created < stamp, and_(created == stamp, row_id < last_id)))
    return query.order_by(created.desc(), row_id.desc()).limit(limit + 1)


async def fetch_page(
    conn: AsyncConnection, query: Select[Any], table: Table, cursor: str | None, limit: int
) -> Page[dict[str, Any]]:
    """One page of `query`'s rows over a table with created_at and id columns."""
    query = _apply_cursor(query, table.c.created_at, table.c.id, cursor, limit)
    rows = [dict(r._mapping) for r in await conn.execute(query)]
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1]["created_at"], rows[-1]["id"]))
