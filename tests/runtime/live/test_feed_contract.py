"""The interview feed's contract, on both live backends (the fixture of test_live_contract)."""

from __future__ import annotations

import json
import uuid

import pytest

from runtime.live.events import (
    NoteAdded,
    RespondentMessage,
    SessionCompleted,
    SessionDeleted,
    SessionStarted,
    SteerQueued,
    TurnDelta,
    TurnStarted,
)
from runtime.live.feed import FeedEvent, trimmed_before, with_session
from runtime.stores import redis_keys
from tests.runtime.live import test_live_contract as contract
from tests.runtime.live.test_live_contract import Live, _read

live = contract.live  # the fixture: both backends, the feed's interviews in `live.interviews`


def _ids(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _feed_events(events: list[object]) -> list[FeedEvent]:
    assert all(isinstance(e, FeedEvent) for e in events)
    return [e for e in events if isinstance(e, FeedEvent)]


async def test_the_feed_mirrors_every_session_of_the_interview_in_append_order(live: Live) -> None:
    interview = _ids("int")
    first, second, elsewhere = _ids("ses"), _ids("ses"), _ids("ses")
    live.interviews[second] = interview  # looked up; the first is named by its session.started
    live.interviews[elsewhere] = _ids("int")
    await live.events.append(first, SessionStarted(first, interview))
    await live.events.append(elsewhere, TurnStarted("t1", None))
    await live.events.append_all(second, [TurnStarted("t1", "Q1"), TurnDelta("t1", "Hé")])
    await live.events.append(first, RespondentMessage("msg_1", "an answer", "c1"))
    await live.events.append(first, SteerQueued("str_1", "next_turn", "ask about price"))
    await live.events.append(_ids("ses"), TurnDelta("t1", "a session of no interview"))
    await live.events.announce_end(second, SessionCompleted("finished"))

    fed = _feed_events(list(await live.events.feed_after(interview, "0")))
    assert [(e.session_id, e.type) for e in fed] == [
        (first, "session.started"),
        (second, "turn.started"),
        (second, "turn.delta"),
        (first, "respondent.message"),
        (first, "steer.queued"),  # a researcher's event: on the feed, never the respondent's
        (second, "session.completed"),
    ]
    logged = {(s, e.id): e for s in (first, second) for e in await live.events.all(s)}
    for entry in fed:
        source = logged[entry.session_id, entry.entry_id]
        assert source.event == entry.event
        assert json.loads(entry.raw) == {
            **source.data,
            "session_id": entry.session_id,
        }
        assert entry.data == json.loads(entry.raw)
        assert not entry.ends_stream, "a session's end does not end the interview's feed"
    assert [e.id for e in await live.events.feed_after(interview, fed[2].id)] == [
        e.id for e in fed[3:]
    ]
    assert await live.events.feed_oldest(interview) == fed[0].id
    assert await live.events.feed_oldest(_ids("int")) is None


async def test_one_feed_reader_follows_every_session_live_and_resumes(live: Live) -> None:
    interview = _ids("int")
    sessions = [_ids("ses") for _ in range(3)]
    for session_id in sessions:
        await live.events.append(session_id, SessionStarted(session_id, interview))
    reader = await live.hub.open_feed(interview, "0")
    try:
        started = await _read(reader, 3)
        assert started == [SessionStarted(s, interview) for s in sessions]
        for n, session_id in enumerate(sessions):
            await live.events.append(session_id, TurnDelta("t1", str(n)))
            await live.events.append(session_id, NoteAdded("note_1", "bookmark", "msg_1", ""))
        assert await _read(reader, 6) == [
            e
            for n in range(3)
            for e in (TurnDelta("t1", str(n)), NoteAdded("note_1", "bookmark", "msg_1", ""))
        ]
    finally:
        await live.hub.release(reader)
    fed = list(await live.events.feed_after(interview, "0"))
    resumed = await live.hub.open_feed(interview, fed[4].id)
    try:
        assert [e.id for e in await resumed.next()] == [e.id for e in fed[5:]]
    finally:
        await live.hub.release(resumed)


async def test_the_feed_is_capped_and_says_when_a_resume_is_older(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_keys, "INTERVIEW_FEED_MAXLEN", 50)
    interview, session_id = _ids("int"), _ids("ses")
    await live.events.append(session_id, SessionStarted(session_id, interview))
    first = (await live.events.feed_after(interview, "0"))[0].id
    for _ in range(6):
        await live.events.append_all(session_id, [TurnDelta("t1", str(n)) for n in range(50)])
    kept = list(await live.events.feed_after(interview, "0", count=1000))
    # Redis trims whole nodes (MAXLEN ~): at least the cap stays, and far fewer than 301.
    assert 50 <= len(kept) < 301
    oldest = await live.events.feed_oldest(interview)
    assert oldest == kept[0].id and oldest != first
    assert trimmed_before(oldest, first)
    assert not trimmed_before(oldest, kept[3].id) and not trimmed_before(oldest, "0")
    assert trimmed_before(None, first), "an expired feed lost everything after any id"


async def test_erasing_a_session_takes_its_events_out_of_the_feed(live: Live) -> None:
    interview, erased, kept = _ids("int"), _ids("ses"), _ids("ses")
    for session_id in (erased, kept):
        await live.events.append(session_id, SessionStarted(session_id, interview))
        await live.events.append(session_id, RespondentMessage("msg_1", "private words", "c1"))
    reader = await live.hub.open_feed(interview, "0")
    try:
        assert len(await _read(reader, 4)) == 4
        await live.events.erase(erased, ["t1"], interview)
        assert await _read(reader, 1) == [SessionDeleted(erased)]
    finally:
        await live.hub.release(reader)
    fed = _feed_events(list(await live.events.feed_after(interview, "0")))
    assert [(e.session_id, e.type) for e in fed] == [
        (kept, "session.started"),
        (kept, "respondent.message"),
        (erased, "session.deleted"),
    ]
    await live.events.drop_feed(interview)  # the interview itself deleted
    assert await live.events.feed_after(interview, "0") == []
    assert await live.events.feed_oldest(interview) is None


def test_the_frame_data_names_the_session_once() -> None:
    assert json.loads(with_session('{"turn_id": "t1"}', "ses_1")) == {
        "session_id": "ses_1",
        "turn_id": "t1",
    }
    assert json.loads(with_session("{}", "ses_1")) == {"session_id": "ses_1"}
    started = '{"session_id": "ses_1", "interview_id": "int_1"}'
    assert with_session(started, "ses_1") == started
