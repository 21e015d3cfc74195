"""Findings one at a time: created with verified evidence, read, listed, changed, deleted."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from runtime.analysis.findings import service
from runtime.analysis.findings.evidence import Evidence
from runtime.analysis.findings.service import NewFinding
from runtime.analysis.findings.titles import title_key
from runtime.platform.errors import Conflict, NotFound, ValidationError
from runtime.stores import schema
from runtime.stores.database import Database
from tests.runtime.analysis.findings import seed

SAID = "Honestly the pricing page was confusing, so I called Sales instead."


def test_the_title_key_ignores_case_spacing_typography_and_end_punctuation() -> None:
    assert title_key("  Pricing \u2014 too  CONFUSING.  ") == "pricing - too confusing"
    assert title_key("\u201cPricing - too confusing\u201d!") == "pricing - too confusing"
    assert title_key("Pricing confusing") != title_key("Pricing confusion")


async def test_create_keeps_the_stored_words_and_counts_participants(db: Database) -> None:
    ws = await seed.workspace(db)
    iid = await seed.interview(db, ws, anonymous=True)
    one = await seed.session(db, ws, iid, [SAID, "Support was slow."], name="Ann")
    two = await seed.session(db, ws, iid, ["The PRICING page was confusing to me."], minutes=1)
    found = await service.create(
        db,
        ws,
        iid,
        NewFinding(
            type="theme",
            title="Pricing is confusing",
            tags=("pricing",),
            evidence=(
                Evidence(one.session_id, one.message_ids[0], "the pricing page was confusing"),
                Evidence(one.session_id, one.message_ids[0], "The Pricing Page was confusing."),
                Evidence(two.session_id, two.message_ids[0], "pricing page was confusing"),
            ),
        ),
    )
    assert (found.status, found.priority, found.confidence) == ("emerging", "medium", None)
    assert found.prevalence == 2  # two sessions, whatever the number of quotes
    assert found.source.kind == "manual"
    # The same span twice is one quote; each is the stored text at its offsets.
    assert [q.text for q in found.evidence] == [
        "the pricing page was confusing",
        "PRICING page was confusing",
    ]
    first = found.evidence[0]
    assert SAID[first.start : first.end] == first.text
    # Anonymous: "Participant N", N the session's place among the interview's sessions.
    assert [q.participant for q in found.evidence] == ["Participant 1", "Participant 2"]
    assert await service.get(db, ws, iid, found.id) == found


async def test_a_fabricated_or_foreign_quote_is_refused_naming_it(db: Database) -> None:
    ws = await seed.workspace(db)
    iid = await seed.interview(db, ws)
    other = await seed.interview(db, ws)
    mine = await seed.session(db, ws, iid, [SAID])
    theirs = await seed.session(db, ws, other, [SAID])
    ok = Evidence(mine.session_id, mine.message_ids[0], "I called Sales")
    cases = {
        "evidence[1].quote": Evidence(mine.session_id, mine.message_ids[0], "I loved the app"),
        "evidence[1].message_id": Evidence(theirs.session_id, theirs.message_ids[0], "I called"),
        "evidence[1].session_id": Evidence(theirs.session_id, mine.message_ids[0], "I called"),
    }
    for field, bad in cases.items():
        with pytest.raises(ValidationError) as refused:
            await service.create(
                db, ws, iid, NewFinding(type="insight", title=field, evidence=(ok, bad))
            )
        assert refused.value.field == field
    page = await service.list_page(db, ws, iid, limit=10)
    assert page.items == []  # nothing of a refused create was kept


async def test_an_interviewer_message_is_not_evidence(db: Database) -> None:
    ws = await seed.workspace(db)
    iid = await seed.interview(db, ws)
    mine = await seed.session(db, ws, iid, [SAID])
    async with db.connect() as conn:
        asked = await conn.scalar(
            select(schema.messages.c.id).where(
                schema.messages.c.session_id == mine.session_id,
                schema.messages.c.role == "interviewer",
            )
        )
    assert asked is not None
    with pytest.raises(ValidationError) as refused:
        await service.create(
            db,
            ws,
            iid,
            NewFinding(
                type="insight",
                title="x1",
                evidence=(Evidence(mine.session_id, asked, "Question 1"),),
            ),
        )
    assert refused.value.field == "evidence[0].message_id"


async def test_a_second_create_of_the_same_title_and_type_is_a_conflict(db: Database) -> None:
    ws = await seed.workspace(db)
    iid = await seed.interview(db, ws)
    await service.create(db, ws, iid, NewFinding(type="theme", title="Slow support"))
    with pytest.raises(Conflict):
        await service.create(db, ws, iid, NewFinding(type="theme", title="slow  SUPPORT."))
    # Another type is another finding.
    await service.create(db, ws, iid, NewFinding(type="hypothesis", title="Slow support"))
    with pytest.raises(ValidationError) as refused:
        await service.create(db, ws, iid, NewFinding(type="theme", title=" ... "))
    assert refused.value.field == "title"


async def test_patch_changes_only_what_is_given(db: Database) -> None:
    ws = await seed.workspace(db)
    iid = await seed.interview(db, ws)
    one = await seed.session(db, ws, iid, [SAID])
    two = await seed.session(db, ws, iid, ["Support was slow and rude."], minutes=1)
    made = await service.create(
        db,
        ws,
        iid,
        NewFinding(
            type="theme",
            title="Support",
            description="d",
            evidence=(Evidence(one.session_id, one.message_ids[0], "called Sales"),),
        ),
    )
    taken = await service.create(db, ws, iid, NewFinding(type="theme", title="Taken"))
    changed = await service.update_fields(
        db, ws, iid, made.id, {"status": "established", "confidence": 0.7}
    )
    assert (changed.status, changed.confidence, changed.description) == ("established", 0.7, "d")
    assert changed.evidence == made.evidence and changed.updated_at >= made.updated_at
    replaced = await service.update_fields(
        db,
        ws,
        iid,
        made.id,
        {"evidence": (Evidence(two.session_id, two.message_ids[0], "support was slow"),)},
    )
    assert [q.session_id for q in replaced.evidence] == [two.session_id]
    assert replaced.prevalence == 1
    with pytest.raises(Conflict):
        await service.update_fields(db, ws, iid, made.id, {"title": "TAKEN"})
    with pytest.raises(ValidationError):
        await service.update_fields(
            db,
            ws,
            iid,
            made.id,
            {"evidence": (Evidence(two.session_id, two.message_ids[0], "nope nope"),)},
        )
    assert (await service.get(db, ws, iid, made.id)).evidence == replaced.evidence
    await service.delete_one(db, ws, iid, taken.id)
    with pytest.raises(NotFound):
        await service.get(db, ws, iid, taken.id)


async def test_list_filters_and_pages_newest_first(db: Database) -> None:
    ws = await seed.workspace(db)
    iid = await seed.interview(db, ws)
    made = []
    for n in range(5):
        made.append(
            await service.create(
                db,
                ws,
                iid,
                NewFinding(
                    type="pattern" if n % 2 else "insight",
                    title=f"Finding {n}",
                    priority="high" if n < 2 else None,
                ),
            )
        )
    seen: list[str] = []
    cursor = None
    while True:
        page = await service.list_page(db, ws, iid, cursor=cursor, limit=2)
        seen += [f.id for f in page.items]
        if not page.has_more:
            break
        cursor = page.next_cursor
    assert seen == [f.id for f in reversed(made)]
    patterns = await service.list_page(db, ws, iid, type="pattern", limit=10)
    assert [f.title for f in patterns.items] == ["Finding 3", "Finding 1"]
    high = await service.list_page(db, ws, iid, priority="high", type="insight", limit=10)
    assert [f.title for f in high.items] == ["Finding 0"]
    assert (await service.list_page(db, ws, iid, status="saturated", limit=10)).items == []
    other = await seed.workspace(db)
    with pytest.raises(NotFound):
        await service.list_page(db, other, iid, limit=10)
    with pytest.raises(NotFound):
        await service.get(db, other, iid, made[0].id)
