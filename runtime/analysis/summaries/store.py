"""A session's summary and quality cached in session_analyses, keyed by its fingerprint.

A row is current while its fingerprint (the respondent messages', corpus.SessionText), its
VERSION and its basis (the session's status and message count: an ending or an interviewer
turn changes coverage without a respondent message) are the session's. Written with one
upsert, so two computations at once leave one row and no error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.analysis.judging import JudgedQuality
from runtime.analysis.summaries.views import KeyPoint, Quality
from runtime.platform.clock import utcnow
from runtime.stores import schema
from runtime.stores.database import Database, upsert

# The summary and quality code's version: a change to it recomputes every session's.
VERSION = "summary-1"
_sa = schema.session_analyses


@dataclass(frozen=True)
class Computed:
    """What one computation found, ready to store."""

    session_id: str
    interview_id: str
    fingerprint: str
    basis: str
    overview: str
    key_points: list[KeyPoint]
    quality: Quality


@dataclass(frozen=True)
class Stored:
    """A session_analyses row, read back."""

    computed: Computed
    version: str
    judged: JudgedQuality | None
    created_at: datetime

    def current(self, fingerprint: str, basis: str) -> bool:
        c = self.computed
        return (c.fingerprint, c.basis, self.version) == (fingerprint, basis, VERSION)


def basis(status: str, messages: int) -> str:
    return f"{status}:{messages}"


async def load(conn: AsyncConnection, session_id: str) -> Stored | None:
    found = (await conn.execute(select(_sa).where(_sa.c.session_id == session_id))).first()
    if found is None:
        return None
    data: dict[str, Any] = found.data or {}
    summary = data.get("summary")
    if not isinstance(summary, dict):
        return None  # a row another analysis wrote without a summary: computed again
    try:
        computed = Computed(
            session_id=found.session_id,
            interview_id=found.interview_id,
            fingerprint=found.fingerprint,
            basis=str(summary.get("basis", "")),
            overview=str(summary["overview"]),
            key_points=msgspec.convert(summary["key_points"], list[KeyPoint]),
            quality=msgspec.convert(summary["quality"], Quality),
        )
        judged = None if found.judged is None else msgspec.convert(found.judged, JudgedQuality)
    except (KeyError, msgspec.ValidationError):
        return None  # written by an older shape: computed again
    return Stored(computed, found.version, judged, found.created_at)


async def save(db: Database, computed: Computed) -> Stored:
    """Insert or replace the session's row; a replaced row's judge block is dropped (it
    judged another transcript)."""
    now = utcnow()
    summary = {
        "basis": computed.basis,
        "overview": computed.overview,
        "key_points": msgspec.to_builtins(computed.key_points),
        "quality": msgspec.to_builtins(computed.quality),
    }
    values = {
        "fingerprint": computed.fingerprint,
        "version": VERSION,
        "data": {"summary": summary},
        "quality_index": computed.quality.quality_index,
        "judged": None,
        "created_at": now,
    }
    async with db.begin() as conn:
        await conn.execute(
            upsert(conn, _sa)
            .values(session_id=computed.session_id, interview_id=computed.interview_id, **values)
            .on_conflict_do_update(index_elements=[_sa.c.session_id], set_=values)
        )
    return Stored(computed, VERSION, None, now)


async def save_judged(db: Database, session_id: str, fingerprint: str, card: JudgedQuality) -> bool:
    """Keep the judge's card on the row it judged; False when the row changed meanwhile."""
    async with db.begin() as conn:
        done = await conn.execute(
            update(_sa)
            .where(_sa.c.session_id == session_id, _sa.c.fingerprint == fingerprint)
            .values(judged=msgspec.to_builtins(card))
        )
    return bool(done.rowcount)
