"""Coverage read from SQL: a session's, and an interview's in a bounded number of queries."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.coverage.session import of_session, session_coverage
from runtime.coverage.tally import Tally
from runtime.coverage.views import InterviewCoverage, SessionCoverage
from runtime.interviews import guide as guides
from runtime.interviews import service as interviews
from runtime.platform.errors import NotFound
from runtime.sessions import store as sessions
from runtime.stores import schema
from runtime.stores.database import Database

# Sessions whose messages one query reads: bounds both the memory an interview's coverage
# takes and the length of the IN list.
SESSIONS_PER_QUERY = 500
_m = schema.messages
_s = schema.sessions
_MESSAGE_COLUMNS = (_m.c.session_id, _m.c.id, _m.c.role, _m.c.item_id, _m.c.metadata)


async def for_session(db: Database, workspace_id: str, session_id: str) -> SessionCoverage:
    """A session's coverage; NotFound when it is not in this workspace."""
    async with db.connect() as conn:
        row = await sessions.row(conn, session_id)
        if row.workspace_id != workspace_id:
            raise NotFound(f"no session {session_id}")
        return await of_row(conn, row)


async def of_row(conn: AsyncConnection, row: Row[Any]) -> SessionCoverage:
    """The coverage of a sessions row, against its own frozen guide version."""
    guide = await interviews.frozen_guide(conn, row.interview_id, row.guide_version)
    rows = await sessions.messages(conn, row.id)
    return of_session(row._mapping, guides.items_in_order(guide), rows)


async def for_interview(
    db: Database, workspace_id: str, interview_id: str, include_test: bool = False
) -> InterviewCoverage:
    """Every counted session's coverage, added up: 3 queries, and one more per
    SESSIONS_PER_QUERY sessions."""
    async with db.connect() as conn:
        interview = await interviews.owned_row(conn, workspace_id, interview_id)
        rows = list(
            await conn.execute(
                select(_s.c.id, _s.c.guide_version, _s.c.state, _s.c.status)
                .where(_s.c.interview_id == interview_id, schema.real_sessions(include_test))
                .order_by(_s.c.id)
            )
        )
        versions = await guide_items(conn, {(interview_id, r.guide_version) for r in rows})
        items = {version: found for (_, version), found in versions.items()}
        tally = Tally(
            interview_id, guides.items_in_order(guides.stored(interview.guide)), include_test
        )
        for version in sorted(items, reverse=True):
            tally.know(items[version])
        for start in range(0, len(rows), SESSIONS_PER_QUERY):
            chunk = rows[start : start + SESSIONS_PER_QUERY]
            found = await conn.execute(
                select(*_MESSAGE_COLUMNS)
                .where(_m.c.session_id.in_([r.id for r in chunk]))
                .order_by(_m.c.session_id, _m.c.seq)
            )
            by_session = {sid: list(group) for sid, group in groupby(found, lambda r: r.session_id)}
            for r in chunk:
                tally.add(
                    session_coverage(
                        r.id,
                        interview_id,
                        items[r.guide_version],
                        r.state,
                        r.status,
                        by_session.get(r.id, []),
                    )
                )
    return tally.view()


async def guide_items(
    conn: AsyncConnection, versions: set[tuple[str, int]]
) -> dict[tuple[str, int], list[guides.Item]]:
    """The items of each frozen guide version asked for (interview id, version), in one
    query; NotFound when one is missing."""
    if not versions:
        return {}
    gv = schema.guide_versions
    found = await conn.execute(
        select(gv.c.interview_id, gv.c.version, gv.c.guide).where(
            gv.c.interview_id.in_(sorted({i for i, _ in versions})),
            gv.c.version.in_(sorted({v for _, v in versions})),
        )
    )
    out = {
        (r.interview_id, r.version): guides.items_in_order(guides.stored(r.guide))
        for r in found
        if (r.interview_id, r.version) in versions
    }
    missing = versions - set(out)
    if missing:
        interview_id, version = min(missing)
        raise NotFound(f"guide version {version} of {interview_id} is missing")
    return out
