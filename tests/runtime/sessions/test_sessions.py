"""Session store rules that the API cannot show deterministically: turn-taking under concurrency."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from runtime.access import keys
from runtime.interviews import guide as guides
from runtime.interviews import service as interviews
from runtime.live import conversation, ending
from runtime.platform.errors import Conflict
from runtime.platform.settings import Settings
from runtime.services import Services
from runtime.sessions import store as sessions
from runtime.stores.database import Database


async def _active_interview(db: Database) -> str:
    workspace = await keys.ensure_workspace(db, "store-tests")
    view = await interviews.create(db, workspace, {"title": "Store"})
    await interviews.edit_guide(db, workspace, view.id, lambda g: guides.add_section(g, "S")[0])
    await interviews.edit_guide(
        db, workspace, view.id, lambda g: guides.add_item(g, "S1", "question", {"text": "Q?"})[0]
    )
    published = await interviews.transition(db, workspace, view.id, "publish")
    return published.share_token


async def test_one_message_per_turn_and_retries_are_idempotent(own_db: Database) -> None:
    # A database no sweeper looks at: this test commits the owed turn itself.
    db = own_db
    share = await _active_interview(db)
    started = await sessions.start(db, share, {})
    sid = started.row["id"]
    with pytest.raises(Conflict, match="still responding"):
        await sessions.post_message(db, sid, "too early", "m0")
    turn = sessions.CommittedTurn("Q?", "Q1", "open", {"index": 0})
    assert await sessions.commit_turn(db, sid, 1, turn) == "in_progress"
    assert await sessions.commit_turn(db, sid, 1, turn) is None

    # Ten concurrent posts of one message and ten of another: exactly one turn is owed.
    results = await asyncio.gather(
        *(sessions.post_message(db, sid, "answer", "same") for _ in range(10)),
        *(sessions.post_message(db, sid, "other", f"different-{n}") for n in range(10)),
        return_exceptions=True,
    )
    created = [r for r in results if isinstance(r, sessions.PostedMessage) and r.created]
    assert len(created) == 1
    winners = {r.id for r in results if isinstance(r, sessions.PostedMessage)}
    assert len(winners) == 1, "every success names the one stored message"
    assert all(
        isinstance(r, Conflict) for r in results if not isinstance(r, sessions.PostedMessage)
    )
    async with db.connect() as conn:
        stored = await sessions.messages(conn, sid)
    assert [m.role for m in stored] == ["interviewer", "respondent"]
    assert (await sessions.load(db, sid)).turn_seq == 2


async def test_concurrent_guide_edits_all_land(db: Database) -> None:
    workspace = await keys.ensure_workspace(db, "edit-race")
    view = await interviews.create(db, workspace, {"title": "Race"})
    await interviews.edit_guide(db, workspace, view.id, lambda g: guides.add_section(g, "S")[0])
    await asyncio.gather(
        *(
            interviews.edit_guide(
                db,
                workspace,
                view.id,
                lambda g, n=n: guides.add_item(g, "S1", "question", {"text": f"Q{n}"})[0],
            )
            for n in range(12)
        )
    )
    guide = await interviews.get_guide(db, workspace, view.id)
    assert len(guide.sections[0].items) == 12, "no edit lost"


async def test_two_previews_of_one_draft_at_the_same_instant_share_its_frozen_guide(
    db: Database,
) -> None:
    workspace = await keys.ensure_workspace(db, "preview-race")
    view = await interviews.create(db, workspace, {"title": "Draft"})
    await interviews.edit_guide(db, workspace, view.id, lambda g: guides.add_section(g, "S")[0])
    await interviews.edit_guide(
        db, workspace, view.id, lambda g: guides.add_item(g, "S1", "question", {"text": "Q?"})[0]
    )
    # The first preview has frozen the draft but not committed when the second freezes it
    # too (on PostgreSQL both see no frozen copy; on SQLite the second waits to begin).
    async with db.begin() as first:
        row = await interviews.owned_row(first, workspace, view.id)
        version = await interviews.preview_version(first, row)
        second = asyncio.create_task(sessions.start_preview(db, workspace, view.id, {}))
        await asyncio.sleep(0.2)  # no event says the second is waiting on the first's lock
        assert not second.done()
    started = await second
    assert started.row["guide_version"] == version < 0
    # Many at once: every one starts, all on the same frozen guide.
    many = await asyncio.gather(
        *(sessions.start_preview(db, workspace, view.id, {}) for _ in range(8))
    )
    assert {s.row["guide_version"] for s in many} == {version}


async def test_ending_mid_turn_completes_the_turn_then_the_session(
    settings: Settings, db: Database
) -> None:
    share = await _active_interview(db)
    services = await Services.open(replace(settings, scripted_delta_delay_ms=20))
    try:
        started = await conversation.start(services, share, {})
        sid = started.row["id"]
        subscription = await services.hub.open(sid, "0")
        while not any(e.type == "turn.delta" for e in await subscription.next()):
            pass  # until the opening turn is being written
        await services.hub.release(subscription)
        assert await ending.end(services, sid) is True
        await services.turns.drain()
        events = [(e.type, e.data) for e in await services.events.all(sid)]
    finally:
        await services.close()
    kinds = [kind for kind, _ in events]
    assert kinds[-3:] == ["turn.completed", "coverage.updated", "session.completed"]
    assert events[-1][1] == {"reason": "ended_by_respondent"}
    assert kinds.count("session.completed") == 1
    row = await sessions.load(db, sid)
    assert (row.status, row.ended_reason) == ("completed", "ended_by_respondent")
