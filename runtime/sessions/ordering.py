"""A page of sessions by quality index (?sort=quality_desc|quality_asc), cursors holding the
sort and its key; sessions without an index (not analysed yet) come last either way."""

from __future__ import annotations

import base64
import json
import math
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.platform import json_input, text
from runtime.platform.clock import as_utc
from runtime.platform.errors import ValidationError
from runtime.stores import schema
from runtime.stores.pagination import Page

SessionSort = Literal["created_desc", "quality_desc", "quality_asc"]
SORTS: tuple[SessionSort, ...] = ("created_desc", "quality_desc", "quality_asc")
QualitySort = Literal["quality_desc", "quality_asc"]
_s, _sa = schema.sessions, schema.session_analyses
# Where a page ended: the quality index (None: not analysed), created_at, session id.
Position = tuple[float | None, datetime, str]


def joined(query: Select[Any]) -> Select[Any]:
    """`query` over sessions with each one's quality index (null: not analysed)."""
    return query.add_columns(_sa.c.quality_index).outerjoin(_sa, _sa.c.session_id == _s.c.id)


def encode(sort: QualitySort, at: Position) -> str:
    index, created, session_id = at
    raw = json.dumps([sort, index, created.isoformat(), session_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(sort: QualitySort, cursor: str) -> Position:
    """The position a cursor of this sort holds; another sort's cursor, or anything not
    ours, is a 400 on `cursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        found = json_input.loads(raw, "cursor")
        if not isinstance(found, list) or len(found) != 4:
            raise TypeError("a quality cursor has four fields")
        given, index, stamp, session_id = found
        if index is not None and (
            isinstance(index, bool)
            or not isinstance(index, int | float)
            or not math.isfinite(index)
        ):
            raise TypeError("the index is a number or null")
        if not isinstance(stamp, str) or not isinstance(session_id, str):
            raise TypeError("cursor fields are strings")
        at = datetime.fromisoformat(stamp)
        if at.tzinfo is None:
            raise ValueError("our cursors carry an offset")
        position = (
            None if index is None else float(index),
            as_utc(at, "cursor"),
            text.require_storable(session_id, "cursor"),
        )
    except (ValueError, TypeError, ValidationError) as exc:
        raise ValidationError("cursor is not one this API issued", field="cursor") from exc
    if given != sort:
        raise ValidationError(f"cursor is from another sort than {sort}", field="cursor")
    return position


def _after(sort: QualitySort, at: Position) -> ColumnElement[bool]:
    """Rows strictly after `at` in the order (index present first, then by index, then
    newest first)."""
    index, created, session_id = at
    q = _sa.c.quality_index
    newer_tie = or_(
        _s.c.created_at < created, and_(_s.c.created_at == created, _s.c.id < session_id)
    )
    if index is None:
        return and_(q.is_(None), newer_tie)
    beyond = q < index if sort == "quality_desc" else q > index
    return or_(q.is_(None), and_(q.is_not(None), or_(beyond, and_(q == index, newer_tie))))


async def fetch(
    conn: AsyncConnection, query: Select[Any], sort: QualitySort, cursor: str | None, limit: int
) -> Page[dict[str, Any]]:
    """One page of `joined(query)` in quality order."""
    q = _sa.c.quality_index
    if cursor:
        query = query.where(_after(sort, decode(sort, cursor)))
    by_index = q.desc() if sort == "quality_desc" else q.asc()
    query = query.order_by(q.is_(None), by_index, _s.c.created_at.desc(), _s.c.id.desc())
    rows = [dict(r._mapping) for r in await conn.execute(query.limit(limit + 1))]
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    last = rows[-1]
    return Page(rows, encode(sort, (last["quality_index"], last["created_at"], last["id"])))
