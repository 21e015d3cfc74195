"""The compact coverage a live stream carries after each turn, read back from SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from sqlalchemy import select

from runtime.coverage.session import session_coverage
from runtime.coverage.views import SessionCoverage
from runtime.interviews.guide import Item
from runtime.stores import schema
from runtime.stores.database import Database

log = structlog.get_logger(__name__)
_s = schema.sessions
_m = schema.messages


def compact(coverage: SessionCoverage) -> dict[str, Any]:
    """The summary and each item's status and value (the rest is GET /v1/sessions/{id}/
    coverage), so that a long guide's event stays small: runtime.live's CoverageUpdated."""
    return {
        "answered": coverage.answered,
        "total": coverage.total,
        "share": coverage.share,
        "required_open": coverage.required_open,
        "items": [
            {"item_id": item.item_id, "status": item.status, "value": item.value}
            for item in coverage.items
        ],
    }


async def after_turn(db: Database, session_id: str, items: Sequence[Item]) -> dict[str, Any] | None:
    """The session's compact coverage as its committed turn left it; None when it cannot be
    read (erased meanwhile, SQL failing): the turn is done whatever coverage says."""
    try:
        async with db.connect() as conn:
            row = (
                await conn.execute(
                    select(_s.c.interview_id, _s.c.state, _s.c.status).where(_s.c.id == session_id)
                )
            ).one()
            rows = await conn.execute(
                select(_m.c.id, _m.c.role, _m.c.item_id, _m.c.metadata)
                .where(_m.c.session_id == session_id)
                .order_by(_m.c.seq)
            )
            coverage = session_coverage(
                session_id, row.interview_id, items, row.state, row.status, rows
            )
    except Exception:
        log.warning("coverage.unread", session_id=session_id, exc_info=True)
        return None
    return compact(coverage)
