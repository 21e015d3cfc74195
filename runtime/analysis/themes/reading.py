"""A session's reading (its sentences, their content words and sentiment), cached in SQL.

A reading is computed from a session's respondent messages alone, so it is kept in
`session_readings` under the session's fingerprint (which changes with any of its messages)
and READING_VERSION (which changes with this code, and names the language it was read in).
A re-run reads afresh only the sessions whose fingerprint or version differ. The row goes
when the session is erased (with it, by the erasure code).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from runtime.analysis.corpus import SessionText
from runtime.analysis.themes import sentences, sentiment
from runtime.analysis.themes.terms import terms
from runtime.platform.clock import utcnow
from runtime.stores import schema
from runtime.stores.database import Database, upsert

# Bumped whenever sentences, terms or sentiment change what they compute.
READING_VERSION = "r2"

_r = schema.session_readings


@dataclass(frozen=True)
class SentenceReading:
    message_id: str
    # [start, end) in the stored message text: the sentence is quoted verbatim from it.
    start: int
    end: int
    terms: tuple[str, ...]
    score: float


@dataclass(frozen=True)
class Reading:
    session_id: str
    fingerprint: str
    sentences: tuple[SentenceReading, ...]


def version(language: str) -> str:
    """The cache version: the code's, and the language the reading was made in."""
    return f"{READING_VERSION}-{language.split('-', 1)[0].casefold()}"[:20]


def read(session: SessionText, language: str) -> Reading:
    found: list[SentenceReading] = []
    for answer in session.answers:
        for start, end in sentences.spans(answer.text):
            piece = answer.text[start:end]
            found.append(
                SentenceReading(
                    message_id=answer.message_id,
                    start=start,
                    end=end,
                    terms=terms(piece, language),
                    score=sentiment.score(piece, language),
                )
            )
    return Reading(session.session_id, session.fingerprint, tuple(found))


def _to_json(reading: Reading) -> dict[str, Any]:
    return {
        "sentences": [
            [s.message_id, s.start, s.end, " ".join(s.terms), s.score] for s in reading.sentences
        ]
    }


def _from_json(session_id: str, fingerprint: str, data: Any) -> Reading:
    return Reading(
        session_id,
        fingerprint,
        tuple(
            SentenceReading(str(m), int(a), int(b), tuple(str(t).split()), float(v))
            for m, a, b, t, v in data["sentences"]
        ),
    )


async def readings(
    db: Database, interview_id: str, page: Sequence[SessionText], language: str
) -> list[tuple[Reading, bool]]:
    """Each session's reading, and whether it came from the cache; the ones read afresh are
    stored (an upsert: two runs at once both write the same reading, neither fails)."""
    wanted = version(language)
    ids = [s.session_id for s in page]
    async with db.connect() as conn:
        rows = await conn.execute(
            select(_r.c.session_id, _r.c.fingerprint, _r.c.version, _r.c.data).where(
                _r.c.session_id.in_(ids)
            )
        )
        stored = {r.session_id: r for r in rows}
    out: list[tuple[Reading, bool]] = []
    fresh: list[tuple[str, Reading]] = []
    for session in page:
        row = stored.get(session.session_id)
        if row is not None and row.fingerprint == session.fingerprint and row.version == wanted:
            out.append((_from_json(session.session_id, row.fingerprint, row.data), True))
            continue
        reading = read(session, language)
        out.append((reading, False))
        fresh.append((session.session_id, reading))
    if fresh:
        await _store(db, interview_id, wanted, [r for _, r in fresh])
    return out


async def _store(db: Database, interview_id: str, wanted: str, fresh: list[Reading]) -> None:
    now = utcnow()
    values = [
        {
            "session_id": r.session_id,
            "interview_id": interview_id,
            "fingerprint": r.fingerprint,
            "version": wanted,
            "data": _to_json(r),
            "created_at": now,
        }
        # In key order: two runs upserting the same sessions at once lock rows in the
        # same order, so PostgreSQL has no deadlock to break.
        for r in sorted(fresh, key=lambda r: r.session_id)
    ]
    async with db.begin() as conn:
        statement = upsert(conn, _r)
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=[_r.c.session_id],
                set_={
                    "fingerprint": statement.excluded.fingerprint,
                    "version": statement.excluded.version,
                    "data": statement.excluded.data,
                    "created_at": statement.excluded.created_at,
                },
            ),
            values,
        )
