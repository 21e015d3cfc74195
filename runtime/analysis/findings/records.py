"""A finding's row: its key, inserting it once per (type, title key), reading it as a view."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.analysis.findings import evidence
from runtime.analysis.findings.limits import TITLE_MAX
from runtime.analysis.findings.titles import title_key
from runtime.analysis.findings.views import Finding, FindingSource
from runtime.platform.errors import NotFound, ValidationError
from runtime.stores import schema
from runtime.stores.database import upsert

f = schema.findings


def key_of(title: str, field: str = "title") -> str:
    """The title's key (titles.title_key); a 400 naming `field` when nothing is left of it."""
    key = title_key(title)
    if not key:
        raise ValidationError(f"{field} must have a letter or digit", field=field)
    if len(key) > TITLE_MAX:
        raise ValidationError(f"{field} is too long once normalised", field=field)
    return key


async def insert_new(conn: AsyncConnection, values: Mapping[str, Any]) -> bool:
    """Inserts the finding unless its (interview, type, title key) exists; True if it did.
    On PostgreSQL a concurrent insert of the same key is waited for, then this does nothing."""
    done = await conn.execute(
        upsert(conn, f)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[f.c.interview_id, f.c.type, f.c.title_key])
    )
    return bool(done.rowcount)


async def row_of(
    conn: AsyncConnection, interview_id: str, finding_id: str, *, for_update: bool = False
) -> Row[Any]:
    query = select(f).where(f.c.id == finding_id, f.c.interview_id == interview_id)
    row = (await conn.execute(query.with_for_update() if for_update else query)).first()
    if row is None:
        raise NotFound(f"no finding {finding_id}")
    return row


async def views(conn: AsyncConnection, interview_id: str, rows: list[Any]) -> list[Finding]:
    """The findings of these rows, each with its evidence (one query for all)."""
    quotes = await evidence.of_findings(conn, interview_id, [r["id"] for r in rows])
    return [to_view(r, quotes[r["id"]]) for r in rows]


async def view(conn: AsyncConnection, interview_id: str, finding_id: str) -> Finding:
    row = await row_of(conn, interview_id, finding_id)
    return (await views(conn, interview_id, [row._mapping]))[0]


def to_view(row: Mapping[str, Any], quotes: list[Any]) -> Finding:
    source = row["source"] or {}
    return Finding.from_row(
        row,
        source=FindingSource(
            kind=source.get("kind", "manual"),
            synthesis_id=source.get("synthesis_id"),
            theme_id=source.get("theme_id"),
        ),
        tags=list(row["tags"] or []),
        evidence=quotes,
    )
