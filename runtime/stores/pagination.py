"""Opaque cursors over (created_at, id), newest first."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Select, Table, and_, or_
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.platform import json_input, text
from runtime.platform.clock import as_utc
from runtime.platform.errors import ValidationError


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


def apply_cursor(
    query: Select[Any], created: Column[Any], row_id: Column[Any], cursor: str | None, limit: int
) -> Select[Any]:
    """Order newest first and start after the cursor; fetch one extra row to know has_more."""
    if cursor:
        stamp, last_id = decode_cursor(cursor)
        query = query.where(or_(created < stamp, and_(created == stamp, row_id < last_id)))
    return query.order_by(created.desc(), row_id.desc()).limit(limit + 1)


def page_from_rows(
    rows: list[dict[str, Any]], limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor(last["created_at"], last["id"])


async def fetch_page(
    conn: AsyncConnection, query: Select[Any], table: Table, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of `query` over a table with created_at and id columns."""
    query = apply_cursor(query, table.c.created_at, table.c.id, cursor, limit)
    rows = [dict(r._mapping) for r in await conn.execute(query)]
    return page_from_rows(rows, limit)
