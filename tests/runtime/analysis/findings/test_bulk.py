"""Bulk upsert: merged by type and title key, unverifiable quotes dropped, one finding under
concurrency on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from runtime.analysis.findings import bulk, service
from runtime.analysis.findings.evidence import Evidence
from runtime.analysis.findings.limits import FINDING_EVIDENCE_MAX, TAGS_MAX
from runtime.analysis.findings.service import NewFinding
from runtime.platform.settings import Settings
from runtime.stores import schema
from runtime.stores.database import Database
from tests.runtime.analysis.findings import seed

A = "The onboarding emails came far too often, I unsubscribed."
B = "Too many onboarding emails; it felt like spam."


async def test_a_new_item_is_created_and_an_existing_one_merged(db: Database) -> None:
    ws = await seed.workspace(db)
    iid = await seed.interview(db, ws)
    one = await seed.session(db, ws, iid, [A])
    two = await seed.session(db, ws, iid, [B], minutes=1)
    first = await bulk.upsert_many(
        db,
        ws,
        iid,
        [
            NewFinding(
                type="pattern",
                title="Too many emails",
                description="first",
                priority="low",
                tags=("email",),
                evidence=(
                    Evidence(
                        one.session_id, one.message_ids[0], "onboarding emails came far too often"
                    ),
                    Evidence(one.session_id, one.message_ids[0], "they sent me a gift"),
                ),
            )
        ],
    )
    assert first.quotes_dropped == 1  # fabricated: dropped and counted, not refused
    made = first.items[0]
    assert made.created and made.finding.prevalence == 1 and made.finding.source.kind == "bulk"
    again = await bulk.upsert_many(
        db,
        ws,
        iid,
        [
            NewFinding(
                type="pattern",
                title="too many EMAILS.",
                status="developing",
                tags=("email", "spam"),
                evidence=(
                    # Held already: not repeated, and its session is not new.
                    Evidence(
                        one.session_id, one.message_ids[0], "Onboarding emails came far too often"
                    ),
                    Evidence(two.session_id, two.message_ids[0], "too many onboarding emails"),
                    Evidence(two.session_id, two.message_ids[0], "felt like spam"),
                ),
            ),
            NewFinding(type="insight", title="Too many emails"),  # another type: new
        ],
    )
    merged, other = again.items
    assert not merged.created and merged.finding.id == made.finding.id
    assert other.created and other.finding.id != made.finding.id
    f = merged.finding
    assert f.title == "Too many emails"  # the first spelling stays
    assert (f.description, f.priority, f.status) == ("first", "low", "developing")
    assert f.tags == ["email", "spam"]
    assert f.prevalence == 2  # one session new to it
    assert [q.text for q in f.evidence] == [
        "onboarding emails came far too often",
        "Too many onboarding emails",
        "felt like spam",
    ]
    # A given prevalence is what the item adds.
    bumped = await bulk.upsert_many(
        db, ws, iid, [NewFinding(type="pattern", title="Too Many Emails", prevalence=3)]
    )
    assert bumped.items[0].finding.prevalence == 5


async def test_foreign_messages_are_dropped_in_bulk(db: Database) -> None:
    ws = await seed.workspace(db)
    iid = await seed.interview(db, ws)
    other = await seed.interview(db, ws)
    theirs = await seed.session(db, ws, other, [A])
    done = await bulk.upsert_many(
        db,
        ws,
        iid,
        [
            NewFinding(
                type="theme",
                title="Emails",
                evidence=(Evidence(theirs.session_id, theirs.message_ids[0], "onboarding emails"),),
            )
        ],
    )
    assert done.quotes_dropped == 1 and done.items[0].finding.evidence == []
    assert done.items[0].finding.prevalence == 0


async def test_the_same_finding_twice_in_one_request_is_one(db: Database) -> None:
    ws = await seed.workspace(db)
    iid = await seed.interview(db, ws)
    one = await seed.session(db, ws, iid, [A])
    two = await seed.session(db, ws, iid, [B], minutes=1)
    done = await bulk.upsert_many(
        db,
        ws,
        iid,
        [
            NewFinding(
                type="theme",
                title="Emails",
                evidence=(Evidence(one.session_id, one.message_ids[0], "far too often"),),
            ),
            NewFinding(
                type="theme",
                title="emails",
                evidence=(Evidence(two.session_id, two.message_ids[0], "like spam"),),
            ),
        ],
    )
    assert [i.created for i in done.items] == [True, False]
    assert done.items[0].finding == done.items[1].finding
    assert done.items[0].finding.prevalence == 2


async def test_tags_and_evidence_stop_at_their_limits(db: Database) -> None:
    ws = await seed.workspace(db)
    iid = await seed.interview(db, ws)
    words = " ".join(f"word{n:03d}" for n in range(FINDING_EVIDENCE_MAX + 50))
    one = await seed.session(db, ws, iid, [words])
    made = await bulk.upsert_many(
        db,
        ws,
        iid,
        [NewFinding(type="theme", title="T", tags=tuple(f"a{n}" for n in range(TAGS_MAX)))],
    )
    dropped = 0
    for batch in range(0, FINDING_EVIDENCE_MAX + 50, 50):
        evidence = tuple(
            Evidence(one.session_id, one.message_ids[0], f"word{n:03d}")
            for n in range(batch, batch + 50)
        )
        done = await bulk.upsert_many(
            db, ws, iid, [NewFinding(type="theme", title="T", tags=("extra",), evidence=evidence)]
        )
        dropped += done.quotes_dropped
    final = await service.get(db, ws, iid, made.items[0].finding.id)
    assert len(final.evidence) == FINDING_EVIDENCE_MAX
    assert dropped == 50  # all found, past the limit
    assert len(final.tags) == TAGS_MAX and "extra" not in final.tags


@pytest.fixture
async def second_db(settings: Settings) -> AsyncIterator[Database]:
    """Another engine on the same database: the other upsert runs as if on another node."""
    other = Database.from_settings(dataclasses.replace(settings))
    yield other
    await other.close()


async def test_two_upserts_of_one_new_finding_at_once_make_one(
    db: Database, second_db: Database
) -> None:
    ws = await seed.workspace(db)
    iid = await seed.interview(db, ws)
    one = await seed.session(db, ws, iid, [A])
    two = await seed.session(db, ws, iid, [B], minutes=1)
    for attempt in range(6):
        title = f"Email fatigue {attempt}"
        left = NewFinding(
            type="theme",
            title=title,
            evidence=(Evidence(one.session_id, one.message_ids[0], "far too often"),),
        )
        right = NewFinding(
            type="theme",
            title=title.upper(),
            evidence=(Evidence(two.session_id, two.message_ids[0], "felt like spam"),),
        )
        # Each on its own engine, so they race for real (SQLite: two writers of one file).
        done = await asyncio.gather(
            bulk.upsert_many(db, ws, iid, [left]), bulk.upsert_many(second_db, ws, iid, [right])
        )
        assert sorted(d.items[0].created for d in done) == [False, True]
        async with db.connect() as conn:
            count = await conn.scalar(
                select(func.count())
                .select_from(schema.findings)
                .where(
                    schema.findings.c.interview_id == iid,
                    schema.findings.c.title_key == title.lower(),
                )
            )
        assert count == 1
        final = await service.get(db, ws, iid, done[0].items[0].finding.id)
        assert {q.session_id for q in final.evidence} == {one.session_id, two.session_id}
        assert final.prevalence == 2


async def test_two_merges_at_once_both_count(db: Database, second_db: Database) -> None:
    ws = await seed.workspace(db)
    iid = await seed.interview(db, ws)
    said = [await seed.session(db, ws, iid, [A], minutes=n) for n in range(13)]
    made = await bulk.upsert_many(db, ws, iid, [NewFinding(type="theme", title="Emails")])
    for n in range(1, 13, 2):
        left, right = said[n], said[n + 1]
        await asyncio.gather(
            bulk.upsert_many(
                db,
                ws,
                iid,
                [
                    NewFinding(
                        type="theme",
                        title="Emails",
                        evidence=(Evidence(left.session_id, left.message_ids[0], "far too often"),),
                    )
                ],
            ),
            bulk.upsert_many(
                second_db,
                ws,
                iid,
                [
                    NewFinding(
                        type="theme",
                        title="Emails",
                        evidence=(Evidence(right.session_id, right.message_ids[0], "too often"),),
                    )
                ],
            ),
        )
    final = await service.get(db, ws, iid, made.items[0].finding.id)
    assert len(final.evidence) == 12 and final.prevalence == 12  # no merge lost
