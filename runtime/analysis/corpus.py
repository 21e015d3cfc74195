"""What the analysis reads: an interview's sessions' respondent messages, page by page, in order."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby

from sqlalchemy import ColumnElement, Select, Subquery, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.stores import schema
from runtime.stores.database import Database
from runtime.vocabulary import SESSION_STATUSES, SessionStatus

# Sessions one page reads (with their messages): bounds the memory an analysis takes while it
# walks thousands of sessions, whatever it keeps of each.
PAGE_SIZE = 200
_s = schema.sessions
_m = schema.messages
_n = schema.session_notes


@dataclass(frozen=True)
class Filters:
    """Which of an interview's sessions an analysis covers (POST …/synthesis's filters)."""

    statuses: tuple[SessionStatus, ...] = ("completed",)
    since: datetime | None = None
    include_test: bool = False

    def where(self, interview_id: str) -> ColumnElement[bool]:
        clauses = [
            _s.c.interview_id == interview_id,
            _s.c.status.in_(self.statuses or SESSION_STATUSES),
            schema.real_sessions(self.include_test),
        ]
        if self.since is not None:
            clauses.append(_s.c.created_at >= self.since)
        return and_(*clauses)


@dataclass(frozen=True)
class Answer:
    """One stored respondent message: what a quote must be found in."""

    message_id: str
    item_id: str | None
    seq: int
    text: str


@dataclass(frozen=True)
class SessionText:
    """A session as the analysis sees it: who spoke (a display name, or "Participant N" when
    the interview is anonymous or the respondent gave no name) and what they said."""

    session_id: str
    # The session's place among all its interview's sessions by start (1-based): stable
    # whatever the filters, so "Participant 7" is the same person in every report.
    number: int
    participant: str
    status: SessionStatus
    created_at: datetime
    completed_at: datetime | None
    answers: tuple[Answer, ...] = field(default=())
    # The messages a researcher bookmarked (runtime.sessions.notes): their words are quoted
    # first where they carry a theme. Annotations, never respondent words: not in the
    # fingerprint, so a bookmark does not make the session be read again.
    bookmarked: frozenset[str] = field(default=frozenset())

    @property
    def fingerprint(self) -> str:
        """Changes when any respondent message does: the key of a cached per-session reading."""
        digest = hashlib.sha256()
        for a in self.answers:
            digest.update(f"{a.message_id}\x1f{a.item_id or ''}\x1f{a.text}\x1e".encode())
        return digest.hexdigest()

    def answer(self, message_id: str) -> Answer | None:
        return next((a for a in self.answers if a.message_id == message_id), None)


def participant_label(number: int, name: str | None, anonymous: bool) -> str:
    """How a respondent is named in a report: their name, unless the interview is anonymous."""
    if name and name.strip() and not anonymous:
        return name.strip()
    return f"Participant {number}"


async def count(db: Database, interview_id: str, filters: Filters) -> int:
    async with db.connect() as conn:
        found = await conn.scalar(
            select(func.count()).select_from(_s).where(filters.where(interview_id))
        )
    return int(found or 0)


async def sessions(
    db: Database,
    interview_id: str,
    filters: Filters,
    *,
    anonymous: bool = False,
    page_size: int = PAGE_SIZE,
) -> AsyncIterator[SessionText]:
    """The interview's sessions under `filters` in the order they were started (the order
    saturation is assessed in), each with its respondent messages in order; one connection
    per page, so a long analysis holds none between pages."""
    after: tuple[datetime, str] | None = None
    while True:
        async with db.connect() as conn:
            page = list(await conn.execute(_page(interview_id, filters, after, page_size)))
            if not page:
                return
            texts = await _answers(conn, [r.id for r in page])
            marked = await _bookmarked(conn, [r.id for r in page])
        for r in page:
            yield SessionText(
                session_id=r.id,
                number=int(r.number),
                participant=participant_label(int(r.number), r.respondent_name, anonymous),
                status=r.status,
                created_at=r.created_at,
                completed_at=r.completed_at,
                answers=tuple(texts.get(r.id, ())),
                bookmarked=frozenset(marked.get(r.id, ())),
            )
        if len(page) < page_size:
            return
        after = (page[-1].created_at, page[-1].id)


def numbered(interview_id: str) -> Subquery:
    """All the interview's sessions (id, respondent_name, number) numbered by start before
    any filter applies: the N of "Participant N" in every report, whatever it covers."""
    return (
        select(
            _s.c.id,
            _s.c.respondent_name,
            func.row_number().over(order_by=(_s.c.created_at, _s.c.id)).label("number"),
        )
        .where(_s.c.interview_id == interview_id)
        .subquery()
    )


def _page(
    interview_id: str, filters: Filters, after: tuple[datetime, str] | None, size: int
) -> Select[tuple[object, ...]]:
    counted = numbered(interview_id)
    query = (
        select(
            _s.c.id,
            counted.c.number,
            _s.c.respondent_name,
            _s.c.status,
            _s.c.created_at,
            _s.c.completed_at,
        )
        .join(counted, counted.c.id == _s.c.id)
        .where(filters.where(interview_id))
        .order_by(_s.c.created_at, _s.c.id)
        .limit(size)
    )
    if after is not None:
        at, sid = after
        query = query.where(or_(_s.c.created_at > at, and_(_s.c.created_at == at, _s.c.id > sid)))
    return query


async def _answers(conn: AsyncConnection, session_ids: list[str]) -> dict[str, list[Answer]]:
    found = await conn.execute(
        select(_m.c.session_id, _m.c.id, _m.c.item_id, _m.c.seq, _m.c.content)
        .where(_m.c.session_id.in_(session_ids), _m.c.role == "respondent")
        .order_by(_m.c.session_id, _m.c.seq)
    )
    return {
        sid: [Answer(r.id, r.item_id, r.seq, r.content) for r in group]
        for sid, group in groupby(found, lambda r: r.session_id)
    }


async def _bookmarked(conn: AsyncConnection, session_ids: list[str]) -> dict[str, set[str]]:
    found = await conn.execute(
        select(_n.c.session_id, _n.c.message_id).where(
            _n.c.session_id.in_(session_ids), _n.c.kind == "bookmark"
        )
    )
    out: dict[str, set[str]] = {}
    for r in found:
        out.setdefault(r.session_id, set()).add(r.message_id)
    return out


@dataclass(frozen=True)
class SqlCorpus:
    """An interview's sessions under filters, read from SQL afresh on every pass (the
    `runtime.analysis.drafts.Corpus` an engine reads)."""

    db: Database
    interview_id: str
    filters: Filters
    anonymous: bool = False
    page_size: int = PAGE_SIZE

    async def count(self) -> int:
        return await count(self.db, self.interview_id, self.filters)

    def sessions(self) -> AsyncIterator[SessionText]:
        return sessions(
            self.db,
            self.interview_id,
            self.filters,
            anonymous=self.anonymous,
            page_size=self.page_size,
        )
