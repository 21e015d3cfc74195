"""An interview closes by itself at its participants_needed or on saturation, and only once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import insert, select

from runtime.analysis import autoclose
from runtime.interviews import service as interviews
from runtime.platform.clock import utcnow
from runtime.stores import schema
from runtime.stores.database import Database
from tests.runtime.analysis.corpora import add_sessions, interview, saturation_corpus


async def subscribe(db: Database, workspace_id: str) -> None:
    """A webhook for interview.closed, so the event is queued where the test can read it."""
    now = utcnow()
    async with db.begin() as conn:
        await conn.execute(
            insert(schema.webhooks).values(
                id=f"wh_{uuid.uuid4().hex[:20]}", workspace_id=workspace_id,
                url="https://example.com/hook", description="", events=["interview.closed"],
                enabled=True, secret_salt=uuid.uuid4().hex, consecutive_failures=0,
                created_at=now, updated_at=now,
            )
        )  # fmt: skip


async def closed_events(db: Database, workspace_id: str) -> list[dict[str, Any]]:
    d, w = schema.webhook_deliveries, schema.webhooks
    async with db.connect() as conn:
        found = await conn.execute(
            select(d.c.payload)
            .join(w, w.c.id == d.c.webhook_id)
            .where(w.c.workspace_id == workspace_id, d.c.event_type == "interview.closed")
        )
        return [r.payload for r in found]


async def status(db: Database, workspace_id: str, interview_id: str) -> str:
    return (await interviews.get(db, workspace_id, interview_id)).status


async def test_it_closes_at_participants_needed_with_the_reason(db: Database) -> None:
    workspace_id, interview_id = await interview(db, participants_needed=3)
    await subscribe(db, workspace_id)
    await add_sessions(db, workspace_id, interview_id, [["Fine."]] * 2)
    # Neither a preview nor an abandoned session counts.
    await add_sessions(db, workspace_id, interview_id, [["Fine."]], first=5, is_test=True)
    await add_sessions(db, workspace_id, interview_id, [["Fine."]], first=6, status="abandoned")
    assert await autoclose.check(db, interview_id) is None
    assert await status(db, workspace_id, interview_id) == "active"
    await add_sessions(db, workspace_id, interview_id, [["Fine."]], first=9)
    assert await autoclose.check(db, interview_id) == "participants_needed"
    assert await status(db, workspace_id, interview_id) == "closed"
    (event,) = await closed_events(db, workspace_id)
    assert event["data"]["reason"] == "participants_needed"
    assert event["data"]["interview"]["status"] == "closed"
    assert await autoclose.check(db, interview_id) is None  # closed: nothing more


async def test_it_closes_when_saturated(db: Database) -> None:
    workspace_id, interview_id = await interview(db, close_when_saturated=True)
    await subscribe(db, workspace_id)
    planted = saturation_corpus()
    await add_sessions(db, workspace_id, interview_id, planted.sessions[:13])
    assert await autoclose.check(db, interview_id) is None  # still new material in 12-13
    await add_sessions(db, workspace_id, interview_id, planted.sessions[13:14], first=13)
    assert await autoclose.check(db, interview_id) == "saturated"
    (event,) = await closed_events(db, workspace_id)
    assert event["data"]["reason"] == "saturated"


async def test_two_checks_at_once_close_it_once(db: Database) -> None:
    workspace_id, interview_id = await interview(db, participants_needed=2)
    await subscribe(db, workspace_id)
    await add_sessions(db, workspace_id, interview_id, [["Fine."]] * 2)
    results = await asyncio.gather(*(autoclose.check(db, interview_id) for _ in range(3)))
    assert sorted(r or "" for r in results) == ["", "", "participants_needed"]
    assert len(await closed_events(db, workspace_id)) == 1


async def test_a_manual_close_says_manual_and_an_unconfigured_interview_stays_open(
    db: Database,
) -> None:
    workspace_id, interview_id = await interview(db)
    await subscribe(db, workspace_id)
    await add_sessions(db, workspace_id, interview_id, [["Fine."]] * 3)
    assert await autoclose.check(db, interview_id) is None
    await interviews.transition(db, workspace_id, interview_id, "close")
    (event,) = await closed_events(db, workspace_id)
    assert event["data"]["reason"] == "manual"
