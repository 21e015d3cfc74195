"""One contract for both live backends: Redis, and in memory (event log, hub, leases)."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from runtime.live.eventlog import LOG_PAGE, EventLog, LeaseLost, LiveState
from runtime.live.events import (
    NoteAdded,
    RespondentMessage,
    SessionCompleted,
    SessionDeleted,
    SessionEvent,
    SessionStarted,
    SteerApplied,
    SteerQueued,
    TurnCompleted,
    TurnDelta,
    TurnStarted,
)
from runtime.live.feed import InterviewOf
from runtime.live.hub import Hub, StreamHub, Subscription
from runtime.live.lease import Leases, RedisLeases
from runtime.live.memory import MemoryEventLog, MemoryHub, MemoryLeases
from runtime.live.redis_log import RedisEventLog
from runtime.platform.errors import NotFound


@dataclasses.dataclass
class Live:
    events: EventLog
    hub: Hub
    leases: Leases
    # Each session's interview, as the sessions table would say (tests of the feed fill it).
    interviews: dict[str, str]


@pytest.fixture(params=["redis", "memory"])
async def live(request: pytest.FixtureRequest) -> AsyncIterator[Live]:
    redis: Redis | None = None
    interviews: dict[str, str] = {}

    async def lookup(session_id: str) -> str | None:
        return interviews.get(session_id)

    interview_of = InterviewOf(lookup)
    if request.param == "redis":
        redis = Redis.from_url(request.getfixturevalue("redis_url"))
        events: EventLog = RedisEventLog(redis, 600, interview_of)
        hub: Hub = StreamHub(redis, events, heartbeat_seconds=1.0)
        leases: Leases = RedisLeases(redis, 1500)
    else:
        memory_leases = MemoryLeases(1500)
        memory_log = MemoryEventLog(memory_leases, interview_of)
        events, leases = memory_log, memory_leases
        hub = MemoryHub(memory_log, heartbeat_seconds=1.0)
    await hub.start()
    yield Live(events, hub, leases, interviews)
    await hub.stop()
    if redis is not None:
        await redis.aclose()


def _session() -> str:
    return f"ses_{uuid.uuid4().hex}"


async def _deltas(live: Live, session_id: str, texts: range) -> list[str]:
    return [await live.events.append(session_id, TurnDelta("t1", str(n))) for n in texts]


async def _read(subscription: Subscription, count: int) -> list[SessionEvent]:
    read: list[SessionEvent] = []
    async with asyncio.timeout(10):
        while len(read) < count:
            read += [e.event for e in await subscription.next()]
    return read


async def test_events_read_back_are_the_typed_events_written(live: Live) -> None:
    session_id = _session()
    written: list[SessionEvent] = [
        SessionStarted(session_id, "int_1"),
        TurnStarted("t1", None),
        TurnDelta("t1", "Héllo — "),
        TurnCompleted("t1", "Héllo — there", "Q1"),
        RespondentMessage("msg_1", 'a "quoted"\nanswer', "c1"),
    ]
    ids = [await live.events.append(session_id, written[0])]
    ids.append(await live.events.append_all(session_id, written[1:]))
    logged = await live.events.all(session_id)
    assert [e.event for e in logged] == written
    assert [type(e.event) for e in logged] == [type(e) for e in written]
    assert logged[0].id == ids[0] and logged[-1].id == ids[1]
    assert [e.type for e in logged] == [e.type for e in written]
    assert logged[2].data == {"turn_id": "t1", "text": "Héllo — "}
    assert await live.events.last_event_type(session_id) == "respondent.message"
    state = await live.events.live_state(session_id, owed=False)
    assert state == LiveState(
        last_event_id=ids[1],
        last_event="respondent.message",
        turn_in_progress=True,
        log_available=True,
    )


async def test_appends_are_fenced_by_the_turn_lease(live: Live) -> None:
    session_id = _session()
    token = await live.leases.take(session_id)
    assert token is not None
    assert await live.leases.take(session_id) is None, "one holder at a time"
    await live.events.append(session_id, TurnStarted("t1", None), fence=token)
    with pytest.raises(LeaseLost):
        await live.events.append(session_id, TurnDelta("t1", "stale"), fence="not-the-holder")
    assert await live.leases.renew(session_id, token)
    await live.leases.release(session_id, token)
    assert not await live.leases.renew(session_id, token)
    with pytest.raises(LeaseLost):
        await live.events.append_all(session_id, [TurnDelta("t1", "late")], fence=token)
    with pytest.raises(LeaseLost):
        await live.events.announce_end(session_id, SessionCompleted("finished"), fence=token)
    assert [e.type for e in await live.events.all(session_id)] == ["turn.started"]
    again = await live.leases.take(session_id)
    assert again is not None and again != token


async def test_reading_after_an_id_and_paging(live: Live) -> None:
    session_id = _session()
    ids = await _deltas(live, session_id, range(LOG_PAGE + 20))
    page = await live.events.after(session_id, "0")
    assert [e.id for e in page] == ids[:LOG_PAGE]
    rest = await live.events.after(session_id, page[-1].id)
    assert [e.id for e in rest] == ids[LOG_PAGE:]
    assert await live.events.after(session_id, ids[-1]) == []
    assert [e.id for e in await live.events.after(session_id, ids[4], count=3)] == ids[5:8]
    assert [e.id for e in await live.events.all(session_id)] == ids
    assert await live.events.all(_session()) == []


async def test_a_long_log_then_live_events_arrive_once_in_order(live: Live) -> None:
    session_id = _session()
    await _deltas(live, session_id, range(LOG_PAGE * 2 + 7))
    subscription = await live.hub.open(session_id, "0")
    try:
        first_page = await subscription.next()
        # Appended while the rest of the log is still unread: must not jump ahead of it.
        await _deltas(live, session_id, range(LOG_PAGE * 2 + 7, LOG_PAGE * 2 + 20))
        rest = await _read(subscription, LOG_PAGE * 2 + 20 - len(first_page))
        texts = [e.event for e in first_page] + rest
        assert texts == [TurnDelta("t1", str(n)) for n in range(LOG_PAGE * 2 + 20)]
        # Then live, one at a time.
        for n in range(3):
            await live.events.append(session_id, TurnDelta("t2", str(n)))
            assert await _read(subscription, 1) == [TurnDelta("t2", str(n))]
    finally:
        await live.hub.release(subscription)


async def test_researchers_events_reach_researchers_only_and_leave_the_live_state(
    live: Live,
) -> None:
    session_id = _session()
    said = await live.events.append(session_id, RespondentMessage("msg_1", "Hi", "c1"))
    respondent = await live.hub.open(session_id, "0")
    researcher = await live.hub.open(session_id, "0", private=True)
    try:
        private: list[SessionEvent] = [
            SteerQueued("st_1", "next_turn", "Ask about pricing"),
            SteerApplied("st_1", "t2"),
            NoteAdded("nt_1", "bookmark", "msg_1", ""),
        ]
        await live.events.append_all(session_id, private)
        assert await live.events.last_event_type(session_id) == "respondent.message"
        assert (await live.events.live_state(session_id, owed=False)).last_event_id == said
        await live.events.append(session_id, TurnStarted("t2", "Q2"))
        assert [e.type for e in await _read(respondent, 2)] == [
            "respondent.message",
            "turn.started",
        ]
        assert await _read(researcher, 5) == [
            RespondentMessage("msg_1", "Hi", "c1"),
            *private,
            TurnStarted("t2", "Q2"),
        ]
    finally:
        await live.hub.release(respondent)
        await live.hub.release(researcher)


async def test_resuming_after_an_id_and_replaying_only(live: Live) -> None:
    session_id = _session()
    ids = await _deltas(live, session_id, range(LOG_PAGE + 50))
    replay = await live.hub.open(session_id, ids[9], live=False)
    texts: list[str] = []
    while True:
        texts += [e.data["text"] for e in await replay.next(wait=False)]
        if not replay.resync:
            break
    assert texts == [str(n) for n in range(10, LOG_PAGE + 50)]
    assert await replay.next(wait=False) == []
    resumed = await live.hub.open(session_id, ids[-2])
    try:
        assert [e.id for e in await resumed.next()] == ids[-1:]
    finally:
        await live.hub.release(resumed)


async def test_an_end_is_announced_once(live: Live) -> None:
    session_id = _session()
    subscription = await live.hub.open(session_id, "0")
    try:
        assert await live.events.announce_end(session_id, SessionCompleted("finished"))
        assert not await live.events.announce_end(session_id, SessionCompleted("finished"))
        (ended,) = await subscription.next()
        assert ended.event == SessionCompleted("finished") and ended.ends_stream
    finally:
        await live.hub.release(subscription)
    assert [e.type for e in await live.events.all(session_id)] == ["session.completed"]


async def test_erasing_ends_open_streams_and_refuses_later_appends(live: Live) -> None:
    session_id = _session()
    await live.leases.owe(session_id)
    token = await live.leases.take(session_id)
    assert token is not None and await live.leases.count_attempt(session_id, "t1") == 1
    await _deltas(live, session_id, range(3))
    subscription = await live.hub.open(session_id, "0")
    try:
        assert len(await _read(subscription, 3)) == 3
        assert await live.events.erase(session_id, ["t1"]) > 0
        assert await _read(subscription, 1) == [SessionDeleted(session_id)]
    finally:
        await live.hub.release(subscription)
    with pytest.raises(NotFound):
        await live.events.append(session_id, TurnDelta("t1", "late"), fence=token)
    with pytest.raises(NotFound):
        await live.events.announce_end(session_id, SessionCompleted("finished"))
    logged = await live.events.all(session_id)
    assert [e.event for e in logged] == [SessionDeleted(session_id)] and logged[0].ends_stream
    assert not await live.leases.owes(session_id), "no longer owed"
    assert await live.leases.count_attempt(session_id, "t1") == 1, "attempts start over"


async def test_owed_turns_and_who_holds_them(live: Live) -> None:
    owed, leased, unknown = _session(), _session(), _session()
    for session_id in (owed, leased):
        await live.leases.owe(session_id)
    assert await live.leases.take(leased) is not None
    assert await live.leases.owes(owed) and not await live.leases.owes(unknown)
    orphans = await live.leases.unleased_owed(0)
    assert owed in orphans and leased not in orphans
    assert await live.leases.unknown([owed, leased, unknown]) == [unknown]
    await live.leases.settle(owed)
    assert not await live.leases.owes(owed)
    token, attempt = await live.leases.owe_and_take(unknown, "t2")
    assert token is not None and attempt == 1 and await live.leases.owes(unknown)
    assert await live.leases.owe_and_take(unknown, "t2") == (None, 2), "held: not leased again"
