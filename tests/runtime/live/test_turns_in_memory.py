"""Turns on the in-memory event log, hub and leases: the turn logic, with no Redis at all."""

from __future__ import annotations

import asyncio

from runtime.access import keys
from runtime.engines.base import Engine
from runtime.engines.scripted import ScriptedEngine
from runtime.interviews import guide as guides
from runtime.interviews import service as interviews
from runtime.live.early_turns import EarlyStarts
from runtime.live.events import (
    CoverageUpdated,
    RespondentMessage,
    SessionEvent,
    TurnCompleted,
    TurnDelta,
)
from runtime.live.hub import Subscription
from runtime.live.memory import MemoryEventLog, MemoryHub, MemoryLeases
from runtime.live.turns import TurnRunner
from runtime.sessions import store as sessions
from runtime.stores.database import Database


async def _session(db: Database) -> str:
    """A session of a published scripted interview, its welcome turn owed in SQL."""
    workspace = await keys.ensure_workspace(db, "in-memory turns")
    guide, section = guides.add_section(guides.empty_guide(), "Main")
    for text in ("What brought you here?", "What would you change?"):
        guide, _ = guides.add_item(guide, section, "question", {"text": text})
    fields = {"title": "Memory", "welcome_message": "Hi!", "closing_message": "Thanks, bye!"}
    created = await interviews.create(db, workspace, fields, guide)
    published = await interviews.transition(db, workspace, created.id, "publish")
    return str((await sessions.start(db, published.share_token, {})).row["id"])


async def _until_completed(subscription: Subscription) -> list[SessionEvent]:
    """Up to the turn's last event: its coverage, appended with turn.completed."""
    read: list[SessionEvent] = []
    async with asyncio.timeout(10):
        while not read or not isinstance(read[-1], CoverageUpdated):
            read += [e.event for e in await subscription.next()]
    return read


def _text(events: list[SessionEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TurnDelta))


async def test_a_welcome_then_an_early_started_answer_turn(own_db: Database) -> None:
    leases = MemoryLeases(lease_ms=1500)
    events = MemoryEventLog(leases)
    hub = MemoryHub(events, heartbeat_seconds=1.0)
    engines: dict[str, Engine] = {"scripted": ScriptedEngine(0)}
    early = EarlyStarts(engines)
    runner = TurnRunner(own_db, leases, events, engines, early)
    session_id = await _session(own_db)
    subscription = await hub.open(session_id, "0")
    try:
        await leases.owe(session_id)
        runner.start(session_id, fresh=True)
        welcome = await _until_completed(subscription)
        assert welcome[0].type == "turn.started"
        completed = welcome[-2]
        assert isinstance(completed, TurnCompleted) and completed.turn_id == "t1"
        assert completed.content == _text(welcome) and completed.content.startswith("Hi!")
        assert isinstance(welcome[-1], CoverageUpdated) and welcome[-1].turn_id == "t1"
        await runner.drain()
        assert not await leases.owes(session_id)

        # The answer's path, as conversation.say walks it: the next turn starts before the
        # answer is stored, from what this runner kept of the session, and publishes nothing
        # until it is handed over.
        answer = early.begin(session_id, "A friend told me")
        assert answer is not None
        posted = await sessions.post_message(own_db, session_id, "A friend told me", "c1")
        assert answer.confirmed_by(posted)
        await events.append(session_id, RespondentMessage(posted.id, posted.content, "c1"))
        token, answer.attempt = await leases.owe_and_take(session_id, answer.turn_id)
        assert token is not None and answer.attempt == 1
        runner.start(session_id, fresh=True, early=answer, token=token)
        second = await _until_completed(subscription)
        assert isinstance(second[0], RespondentMessage)
        assert second[1].type == "turn.started"
        completed = second[-2]
        assert isinstance(completed, TurnCompleted) and completed.turn_id == "t2"
        assert completed.content == _text(second) and "What would you change?" in completed.content
        await runner.drain()
    finally:
        await hub.release(subscription)
    async with own_db.connect() as conn:
        stored = [(m.role, m.turn_id) for m in await sessions.messages(conn, session_id)]
    assert stored == [("interviewer", "t1"), ("respondent", None), ("interviewer", "t2")]
    assert await leases.take(session_id) is not None, "the lease was let go"


async def test_a_turn_whose_lease_another_holds_is_left_to_it(own_db: Database) -> None:
    leases = MemoryLeases(lease_ms=1500)
    events = MemoryEventLog(leases)
    runner = TurnRunner(own_db, leases, events, {"scripted": ScriptedEngine(0)})
    session_id = await _session(own_db)
    elsewhere = await leases.take(session_id)
    assert elsewhere is not None
    await runner.run(session_id)
    assert await events.all(session_id) == [], "nothing written without the lease"
    await leases.release(session_id, elsewhere)
    await runner.run(session_id)
    assert [e.type for e in await events.all(session_id)][-2:] == [
        "turn.completed",
        "coverage.updated",
    ]
