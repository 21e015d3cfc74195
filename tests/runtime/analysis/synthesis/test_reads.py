"""A stored synthesis read back as the API shows it, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import msgspec
import pytest
from sqlalchemy import event, update

from runtime.analysis.synthesis import reads
from runtime.platform.errors import NotFound
from runtime.stores import schema
from runtime.stores.database import Database
from tests.runtime.analysis.synthesis import seeding


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements the database is sent meanwhile."""
    sent: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        sent.append(statement)

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_the_view_assembles_themes_quotes_and_named_participants(db: Database) -> None:
    seeded = await seeding.interview(db)
    synthesis_id = await seeding.synthesis(db, seeded)
    with statements(db) as sent:
        s = await reads.view(db, seeded.workspace_id, synthesis_id)
    # The row and the quotes with their participants: two queries, whatever their number.
    assert len([q for q in sent if q.lstrip().upper().startswith("SELECT")]) == 2, sent
    assert (s.status, s.engine, s.session_count, s.model) == ("completed", "offline", 5, None)
    assert s.summary == seeding.RESULT["summary"]
    assert s.filters.statuses == ["completed"] and s.filters.since is not None
    assert s.filters.since.isoformat() == "2026-11-01T00:00:00+00:00"
    assert s.counts is not None and (s.counts.quotes_shown, s.counts.quotes_dropped) == (7, 2)
    pricing, support = s.themes
    assert (pricing.id, pricing.prevalence, pricing.prevalence_share) == ("th_1", 4, 0.8)
    assert (support.prevalence_share, support.sentiment) == (0.2, "positive")
    # In the engine's order (the rows' ids number it); participants by name, numbered among
    # ALL sessions when unnamed.
    assert [q.id for q in pricing.quotes] == sorted(q.id for q in pricing.quotes)
    assert [q.score for q in pricing.quotes] == [100.0, 92.5, 100.0, 88.0]
    assert {q.participant for q in pricing.quotes} == {"Ada", "李小龙", "سارة", "Mallory"}
    assert [q.participant for q in support.quotes] == ["Participant 6"]
    for q in pricing.quotes + support.quotes:
        said = dict(zip(seeded.messages, (t for _, t in seeding.RESPONDENTS), strict=True))
        assert said[q.message_id][q.start : q.end] == q.text
    (view,) = s.divergent_views
    assert view.theme_id == "th_1" and [side.stance for side in view.sides] == [
        "A joke", "Confusing but fair"
    ]  # fmt: skip
    assert [q.participant for q in view.sides[0].quotes] == ["Mallory"]
    assert [q.text for q in view.sides[1].quotes] == ["so I gave up and called sales"]
    # It encodes as the API would show it.
    shown = msgspec.json.decode(msgspec.json.encode(s))
    assert shown["generated_at"] == "2026-11-21T10:30:00Z"
    assert shown["themes"][0]["quotes"][0]["participant"] in ("Ada", "李小龙")


async def test_anonymous_interviews_and_anonymised_reads_number_participants(
    db: Database,
) -> None:
    seeded = await seeding.interview(db, anonymous=True)
    synthesis_id = await seeding.synthesis(db, seeded)
    s = await reads.view(db, seeded.workspace_id, synthesis_id)
    numbers = {q.session_id: q.participant for t in s.themes for q in t.quotes}
    assert numbers == {sid: f"Participant {n}" for n, sid in enumerate(seeded.sessions, 1) if n > 1}
    named = await seeding.interview(db)
    named_id = await seeding.synthesis(db, named)
    hidden = await reads.view(db, named.workspace_id, named_id, anonymize=True)
    assert {q.participant for t in hidden.themes for q in t.quotes} == {
        f"Participant {n}" for n in range(2, 7)
    }


async def test_latest_is_the_newest_completed_unless_asked_for_any(db: Database) -> None:
    seeded = await seeding.interview(db)
    assert await reads.latest(db, seeded.workspace_id, seeded.interview_id) is None
    done = await seeding.synthesis(db, seeded)
    running = await seeding.synthesis(
        db, seeded, status="running", created=seeding.GENERATED + timedelta(hours=1)
    )
    newest = await reads.latest(db, seeded.workspace_id, seeded.interview_id)
    assert newest is not None and newest.id == done
    unfinished = await reads.latest(
        db, seeded.workspace_id, seeded.interview_id, completed_only=False
    )
    assert unfinished is not None and unfinished.id == running
    assert unfinished.status == "running" and unfinished.progress == 0.4
    assert (unfinished.themes, unfinished.divergent_views) == ([], [])
    assert (unfinished.summary, unfinished.counts, unfinished.generated_at) == (None, None, None)


async def test_another_workspace_sees_nothing(db: Database) -> None:
    seeded = await seeding.interview(db)
    synthesis_id = await seeding.synthesis(db, seeded)
    other = await seeding.interview(db)
    with pytest.raises(NotFound):
        await reads.view(db, other.workspace_id, synthesis_id)
    with pytest.raises(NotFound):
        await reads.latest(db, other.workspace_id, seeded.interview_id)
    with pytest.raises(NotFound):
        await reads.view(db, seeded.workspace_id, "syn_missing")


async def test_no_session_count_gives_a_zero_share(db: Database) -> None:
    seeded = await seeding.interview(db)
    synthesis_id = await seeding.synthesis(db, seeded)
    async with db.begin() as conn:
        y = schema.syntheses
        await conn.execute(update(y).where(y.c.id == synthesis_id).values(session_count=0))
    s = await reads.view(db, seeded.workspace_id, synthesis_id)
    assert [t.prevalence_share for t in s.themes] == [0.0, 0.0]
