"""What Redis forgot, SQL remembers: owed turns, the researcher's live view, a session's end."""

from __future__ import annotations

import asyncio

import httpx
from redis.asyncio import Redis

from runtime.services import Services
from runtime.sessions import store as sessions
from runtime.stores import redis_keys
from runtime.stores.database import Database
from tests.conftest import Server
from tests.helpers import Event, Respondent, next_turn, published_interview, sse_events

DEADLINE = 30  # seconds: generous, for a scenario on a busy machine


def _services(server: Server) -> Services:
    return server.app.state.services  # type: ignore[no-any-return]


async def _forget(redis: Redis, session_id: str) -> None:
    """What a Redis that restarted empty knows of this session: nothing."""
    await redis.zrem(redis_keys.PENDING_TURNS, session_id)
    stale = [
        redis_keys.events(session_id),
        redis_keys.live(session_id),
        redis_keys.ended(session_id),
        redis_keys.lease(session_id),
        *[redis_keys.turn_attempts(session_id, f"t{n}") for n in range(1, 10)],
    ]
    await redis.delete(*stale)


async def _owed_but_forgotten(db: Database, anon: httpx.AsyncClient, share: str) -> Respondent:
    """A session whose welcome turn SQL says is owed and Redis never heard of (as after a
    loss between storing it and owing it)."""
    started = await sessions.start(db, share, {})
    session_id = started.row["id"]
    return Respondent(
        anon,
        {
            "session_id": session_id,
            "session_token": started.token,
            "events_url": f"/v1/sessions/{session_id}/events",
        },
    )


async def _read_to_end(who: Respondent) -> list[Event]:
    """The whole stream, as the respondent sees it, until the server ends it."""
    async with asyncio.timeout(DEADLINE):
        return [e async for e in sse_events(who.http, who.session["events_url"], who.auth)]


async def test_the_researcher_sees_a_turn_owed_that_redis_knows_nothing_of(
    server: Server, db: Database, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    who = await _owed_but_forgotten(db, anon, interview["share_token"])
    # Someone's lease on it keeps recovery away for the length of this test; the log and
    # the owed set stay empty, as after the loss.
    redis = _services(server).redis
    await redis.set(redis_keys.lease(who.id), "elsewhere", px=60_000)
    try:
        live = (await client.get(f"/v1/sessions/{who.id}")).json()["live"]
    finally:
        await redis.delete(redis_keys.lease(who.id))
    assert live == {
        "last_event_id": None,
        "last_event": None,
        "turn_in_progress": True,
        "log_available": True,
    }


async def test_an_owed_turn_redis_forgot_is_written_and_then_the_end_told(
    db: Database, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    who = await _owed_but_forgotten(db, anon, interview["share_token"])
    # Ended while the forgotten turn is owed: the turn is written first, the end told after.
    ended = await anon.post(f"/v1/sessions/{who.id}/end", headers=who.auth)
    assert ended.status_code == 200, ended.text
    seen = await _read_to_end(who)
    kinds = [e.event for e in seen]
    assert kinds[0] == "turn.started" and seen[0].data["restart"] is True
    assert kinds[-3:] == ["turn.completed", "coverage.updated", "session.completed"], kinds
    assert seen[-1].data == {"reason": "ended_by_respondent"}
    transcript = (await client.get(f"/v1/sessions/{who.id}/transcript")).json()
    assert [m["turn_id"] for m in transcript["messages"]] == ["t1"]


async def test_an_end_redis_forgot_is_told_once_to_later_readers(
    server: Server, client: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    interview = await published_interview(client)
    who = await _started(anon, interview["share_token"])
    ended = await anon.post(f"/v1/sessions/{who.id}/end", headers=who.auth)
    assert ended.status_code == 200, ended.text
    services = _services(server)
    await _forget(services.redis, who.id)
    # A reader of the ended session learns that it ended (not an empty stream to reopen for
    # ever); another reader, or the respondent ending it again, adds nothing.
    first = await _read_to_end(who)
    assert [(e.event, e.data) for e in first] == [
        ("session.completed", {"reason": "ended_by_respondent"})
    ]
    again = await anon.post(f"/v1/sessions/{who.id}/end", headers=who.auth)
    assert again.status_code == 200
    second = await _read_to_end(who)
    assert [e.id for e in second] == [e.id for e in first]
    logged = [e.type for e in await services.events.all(who.id)]
    assert logged == ["session.completed"]


async def _started(anon: httpx.AsyncClient, share: str) -> Respondent:
    """A respondent who has heard the welcome turn."""
    response = await anon.post(f"/v1/public/interviews/{share}/sessions", json={})
    assert response.status_code == 201, response.text
    who = Respondent(anon, response.json())
    events = sse_events(anon, who.session["events_url"])
    await next_turn(events)
    await events.aclose()
    return who
