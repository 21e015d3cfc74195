"""Erasing a session from the analysis: its quotes, its cached readings, and every mention of
it in a synthesis result or a knowledge graph (docs/erasure.md). Runs inside the erasure's
SQL transaction, so the session is gone from the analysis when it is gone from SQL.

The stored JSON (syntheses.result, interview_graphs nodes and edges) is cleaned by one rule
whatever its shape: in any list, an object whose `session_id` is the session is removed (a
graph node's `refs`, a quote), and so is the session's id from any `session_ids` list (a
theme's, a divergent view side's). Counts (prevalence, weights) are left as they were: they
say what the analysis found when it ran, and no longer identify anyone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.stores import schema

_y = schema.syntheses
_g = schema.interview_graphs


def scrub(value: Any, session_id: str) -> Any:
    """The JSON value without the session (module docstring)."""
    if isinstance(value, dict):
        return {
            k: (
                [x for x in v if x != session_id]
                if k == "session_ids" and isinstance(v, list)
                else scrub(v, session_id)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            scrub(x, session_id)
            for x in value
            if not (isinstance(x, dict) and x.get("session_id") == session_id)
        ]
    return value


async def forget_session(conn: AsyncConnection, session_id: str, interview_id: str) -> int:
    """Removes the session from the analysis tables; returns the rows deleted or rewritten."""
    changed = 0
    q = schema.quotes
    changed += (await conn.execute(delete(q).where(q.c.session_id == session_id))).rowcount
    for table in (schema.session_analyses, schema.session_readings):
        done = await conn.execute(delete(table).where(table.c.session_id == session_id))
        changed += done.rowcount
    # Locked (PostgreSQL): a synthesis or graph written meanwhile waits, and is cleaned after.
    syntheses = await conn.execute(
        select(_y.c.id, _y.c.result)
        .where(_y.c.interview_id == interview_id, _y.c.result.is_not(None))
        .with_for_update()
    )
    for row in syntheses:
        cleaned = scrub(row.result, session_id)
        if cleaned != row.result:
            await conn.execute(update(_y).where(_y.c.id == row.id).values(result=cleaned))
            changed += 1
    graph = (
        await conn.execute(
            select(_g.c.nodes, _g.c.edges)
            .where(_g.c.interview_id == interview_id)
            .with_for_update()
        )
    ).first()
    if graph is not None:
        nodes, edges = scrub(graph.nodes, session_id), scrub(graph.edges, session_id)
        if (nodes, edges) != (graph.nodes, graph.edges):
            await conn.execute(
                update(_g).where(_g.c.interview_id == interview_id).values(nodes=nodes, edges=edges)
            )
            changed += 1
    return int(changed)
