"""Session store rules that the API cannot show deterministically: turn-taking under concurrency."""

from __future__ import annotations

import asyncio

import pytest

from runtime import guide as guides
from runtime import interviews, keys, sessions
from runtime.database import Database
from runtime.errors import Conflict


async def _active_interview(db: Database) -> str:
    workspace = await keys.ensure_workspace(db, "store-tests")
    view = await interviews.create(db, workspace, {"title": "Store"})
    await interviews.edit_guide(db, workspace, view["id"], lambda g: guides.add_section(g, "S")[0])
    await interviews.edit_guide(
        db, workspace, view["id"], lambda g: guides.add_item(g, "S1", "question", {"text": "Q?"})[0]
    )
    published = await interviews.transition(db, workspace, view["id"], "publish")
    return str(published["share_token"])


async def test_one_message_per_turn_and_retries_are_idempotent(db: Database) -> None:
    share = await _active_interview(db)
    started = await sessions.start(db, share, {})
    sid = started.row["id"]
    with pytest.raises(Conflict, match="still responding"):
        await sessions.post_message(db, sid, "too early", "m0")
    assert await sessions.commit_turn(db, sid, 1, "Q?", "Q1", {"index": 0}, False) == "in_progress"
    assert await sessions.commit_turn(db, sid, 1, "Q?", "Q1", {"index": 0}, False) is None

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
    await interviews.edit_guide(db, workspace, view["id"], lambda g: guides.add_section(g, "S")[0])
    await asyncio.gather(
        *(
            interviews.edit_guide(
                db,
                workspace,
                view["id"],
                lambda g, n=n: guides.add_item(g, "S1", "question", {"text": f"Q{n}"})[0],
            )
            for n in range(12)
        )
    )
    guide = await interviews.get_guide(db, workspace, view["id"])
    assert len(guide["sections"][0]["items"]) == 12, "no edit lost"
