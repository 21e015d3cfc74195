"""A finding's evidence: quotes verified against stored respondent messages, kept as quote rows.

A quote given as evidence names the session and the respondent message it is from; it is
kept only if that message is a respondent message of a session of the finding's interview
and the quote is found in it (runtime.analysis.quotes.find). What is kept is the stored text
at the offsets found. Two quotes of the same span (message, start, end) are one.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.analysis import quotes
from runtime.analysis.findings import participants
from runtime.analysis.findings.limits import FINDING_EVIDENCE_MAX
from runtime.analysis.synthesis.views import Quote
from runtime.platform.errors import ValidationError
from runtime.platform.ids import new_id
from runtime.stores import schema

_q = schema.quotes
_m = schema.messages
_s = schema.sessions


@dataclass(frozen=True)
class Evidence:
    """A quote as given: the words, and the session and message they are said to be from."""

    session_id: str
    message_id: str
    quote: str


@dataclass(frozen=True)
class Span:
    """A verified quote: where it is in a stored respondent message, and the text there."""

    session_id: str
    message_id: str
    start: int
    end: int
    text: str
    score: float

    @property
    def place(self) -> tuple[str, int, int]:
        return self.message_id, self.start, self.end


@dataclass(frozen=True)
class Verified:
    spans: tuple[Span, ...]
    dropped: int  # quotes not found (only when not strict)


@dataclass(frozen=True)
class Attached:
    added: tuple[Span, ...]
    # Sessions among the added spans that none of the finding's earlier evidence was from.
    new_sessions: int
    dropped: int  # spans past FINDING_EVIDENCE_MAX


async def verify(
    conn: AsyncConnection,
    interview_id: str,
    evidence: Sequence[Evidence],
    *,
    strict: bool,
    field: str = "evidence",
) -> Verified:
    """The spans of the quotes found. Strict: a quote that cannot be verified is a 400 naming
    it (`evidence[2].quote`); else it is dropped and counted."""
    rows = {}
    if evidence:
        found = await conn.execute(
            select(_m.c.id, _m.c.session_id, _m.c.role, _m.c.content)
            .join(_s, _s.c.id == _m.c.session_id)
            .where(_m.c.id.in_({e.message_id for e in evidence}), _s.c.interview_id == interview_id)
            # Shared-locked (PostgreSQL): an erasure of one of these sessions either commits
            # first, and its messages are not found here, or waits for this transaction and
            # deletes the quotes it adds; never a quote left pointing at an erased message.
            .with_for_update(read=True, of=_s)
        )
        rows = {r.id: r for r in found}
    spans: dict[tuple[str, int, int], Span] = {}
    dropped = 0
    for i, given in enumerate(evidence):
        name = f"{field}[{i}]"
        row = rows.get(given.message_id)
        problem: tuple[str, str] | None = None
        hit = None
        if row is None or row.role != "respondent":
            problem = "message_id", "is not a respondent message of this interview"
        elif row.session_id != given.session_id:
            problem = "session_id", f"is not the session of message {given.message_id}"
        else:
            hit = quotes.find(given.quote, given.message_id, row.content)
            if hit is None:
                problem = "quote", "was not found in the respondent's message"
        if problem is not None or hit is None:
            if strict:
                part, says = problem or ("quote", "was not found")
                raise ValidationError(f"{name}.{part} {says}", field=f"{name}.{part}")
            dropped += 1
            continue
        span = Span(given.session_id, given.message_id, hit.start, hit.end, hit.text, hit.score)
        spans.setdefault(span.place, span)
    return Verified(tuple(spans.values()), dropped)


async def attach(
    conn: AsyncConnection,
    owner: tuple[str, str],
    finding_id: str,
    spans: Sequence[Span],
    now: datetime,
) -> Attached:
    """Adds the spans the finding does not hold yet, up to FINDING_EVIDENCE_MAX. Run under
    the finding's lock (the caller's transaction), so two merges cannot both add one span."""
    workspace_id, interview_id = owner
    held = (
        await conn.execute(
            select(_q.c.message_id, _q.c.start, _q.c.end, _q.c.session_id).where(
                _q.c.finding_id == finding_id
            )
        )
    ).all()
    places = {(r.message_id, r.start, r.end) for r in held}
    sessions = {r.session_id for r in held}
    room = FINDING_EVIDENCE_MAX - len(held)
    fresh = [s for s in spans if s.place not in places]
    added, dropped = fresh[: max(room, 0)], fresh[max(room, 0) :]
    if added:
        await conn.execute(
            insert(_q),
            [
                _row(workspace_id, interview_id, finding_id, span, now + timedelta(microseconds=i))
                for i, span in enumerate(added)
            ],
        )
    new_sessions = {s.session_id for s in added} - sessions
    return Attached(tuple(added), len(new_sessions), len(dropped))


async def replace(
    conn: AsyncConnection,
    owner: tuple[str, str],
    finding_id: str,
    spans: Sequence[Span],
    now: datetime,
) -> Attached:
    """The finding's evidence made exactly these spans (a PATCH's evidence)."""
    await conn.execute(delete(_q).where(_q.c.finding_id == finding_id))
    return await attach(conn, owner, finding_id, spans, now)


def _row(
    workspace_id: str, interview_id: str, finding_id: str, span: Span, at: datetime
) -> dict[str, Any]:
    return {
        "id": new_id("qt"),
        "workspace_id": workspace_id,
        "interview_id": interview_id,
        "session_id": span.session_id,
        "message_id": span.message_id,
        "start": span.start,
        "end": span.end,
        "text": span.text,
        "score": span.score,
        "finding_id": finding_id,
        "synthesis_id": None,
        "theme_id": None,
        "created_at": at,
    }


async def of_findings(
    conn: AsyncConnection, interview_id: str, finding_ids: Collection[str]
) -> dict[str, list[Quote]]:
    """Each finding's evidence, oldest first (the order it was given in)."""
    out: dict[str, list[Quote]] = {f: [] for f in finding_ids}
    if not finding_ids:
        return out
    rows = (
        await conn.execute(
            select(_q)
            .where(_q.c.finding_id.in_(list(finding_ids)))
            .order_by(_q.c.created_at, _q.c.id)
        )
    ).all()
    names = await participants.labels(conn, interview_id, {r.session_id for r in rows})
    for r in rows:
        out[r.finding_id].append(quote_view(r._mapping, names))
    return out


def quote_view(row: Any, names: dict[str, str]) -> Quote:
    return Quote(
        id=row["id"],
        session_id=row["session_id"],
        message_id=row["message_id"],
        start=row["start"],
        end=row["end"],
        text=row["text"],
        participant=names.get(row["session_id"], ""),
        score=row["score"],
    )
