"""A store that stalls, locks or goes away: requests fail fast with 503 unavailable, and
/readyz says not ready; what SQL alone can answer is still answered."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import websockets

from runtime.platform.settings import Settings
from tests.api.test_openapi import Contract
from tests.conftest import Server, new_key, running
from tests.helpers import (
    Respondent,
    next_turn,
    parse_sse,
    published_interview,
    sse_events,
    start_session,
    ws_frames,
)
from tests.own_stores import RedisProcess, own_database

# A generous bound on each call: it proves the call did not hang, not how fast it was.
DEADLINE = 20
ANSWER = "We use it for planning."
FAST = {
    "redis_timeout_seconds": 0.5,
    "redis_pool_timeout_seconds": 1.0,
    "db_lock_timeout_ms": 500,
    "sqlite_busy_timeout_ms": 500,
    "ready_timeout_seconds": 1.0,
}


@dataclasses.dataclass
class Stage:
    settings: Settings  # the test's own database and Redis
    server: Server
    redis: RedisProcess
    client: httpx.AsyncClient  # as the researcher
    who: Respondent  # heard the welcome; may answer
    interview: dict[str, Any]


@contextlib.asynccontextmanager
async def _stage(settings: Settings, tmp_path: Path) -> AsyncIterator[Stage]:
    """A node on stores of its own, with a session waiting for the respondent's answer."""
    redis = await RedisProcess(tmp_path / "redis").start()
    try:
        async with own_database(settings, tmp_path / "db") as url:
            own = dataclasses.replace(settings, database_url=url, redis_url=redis.url, **FAST)
            async with running(own) as server:
                api_key = await new_key(server.app.state.services.db)
                auth = {"authorization": f"Bearer {api_key}"}
                async with httpx.AsyncClient(base_url=server.url, headers=auth, timeout=30) as c:
                    interview = await published_interview(c)
                    who = await start_session(c, interview["share_token"])
                    events = sse_events(c, who.session["events_url"])
                    await next_turn(events)
                    await events.aclose()
                    try:
                        yield Stage(own, server, redis, c, who, interview)
                    finally:
                        redis.thaw()  # the node shuts down on a Redis that answers
    finally:
        await redis.stop()


async def _transcript(client: httpx.AsyncClient, session_id: str) -> list[tuple[str, str]]:
    body = (await client.get(f"/v1/sessions/{session_id}/transcript")).json()
    return [(m["role"], m["content"]) for m in body["messages"]]


def _unavailable(response: httpx.Response) -> None:
    """The documented 503: the error shape, code `unavailable`, Retry-After, a request id."""
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "unavailable"
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["x-request-id"]


async def _not_ready(client: httpx.AsyncClient, failing: str) -> None:
    ready = await client.get("/readyz")
    assert ready.status_code == 503, ready.text
    body = ready.json()
    assert body["status"] == "unavailable"
    assert body["checks"][failing].startswith("error"), body


async def _until_ready(client: httpx.AsyncClient) -> None:
    # Nothing to await: the node notices a store is back at its next try.
    for _ in range(300):
        if (await client.get("/readyz")).status_code == 200:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the node never became ready again")


async def _to_the_end(who: Respondent) -> list[tuple[str, dict[str, Any]]]:
    """The session's whole stream, from its first event to the server ending it, as a client
    reads it: asked again while the node answers 503 (Redis known to be unreachable)."""
    while True:
        async with who.http.stream("GET", who.session["events_url"]) as response:
            if response.status_code != 503:
                assert response.status_code == 200, await response.aread()
                return [(e.event, e.data) async for e in parse_sse(response)]
        await asyncio.sleep(0.2)  # a client's back-off before it asks again


async def _ws_to_the_end(url: str) -> list[tuple[str, dict[str, Any]]]:
    """The same over the WebSocket: reconnected while it is closed with 1013 (try again)."""
    while True:
        async with websockets.connect(url) as ws:
            told: list[tuple[str, dict[str, Any]]] = []
            try:
                told += [(e.event, e.data) async for e in ws_frames(ws)]
            except websockets.ConnectionClosedError:
                assert ws.close_code == 1013 and not told, (ws.close_code, told)
            else:
                assert ws.close_code == 1000, (ws.close_code, told)
                return told
        await asyncio.sleep(0.2)  # a client's back-off before it reconnects


async def test_a_frozen_redis_fails_requests_fast_and_the_node_unready(
    settings: Settings, tmp_path: Path
) -> None:
    async with _stage(settings, tmp_path) as stage:
        who = stage.who
        stage.redis.freeze()
        async with asyncio.timeout(DEADLINE):
            # Stored in SQL before Redis was needed: 503, and the answer is kept.
            refused = await who.say(ANSWER, client_message_id="first-answer")
            _unavailable(refused)
            contract = Contract((await stage.client.get("/v1/openapi.json")).json())
            contract.check(refused, "post", "/v1/sessions/{id}/messages")
            await _not_ready(stage.client, "redis")
            view = await stage.client.get(f"/v1/sessions/{who.id}")
            assert view.status_code == 200, view.text
            assert view.json()["live"]["log_available"] is False
            assert view.json()["live"]["turn_in_progress"] is True
        stage.redis.thaw()
        async with asyncio.timeout(DEADLINE):
            await _until_ready(stage.client)
            # The client retries with the same id, as after any 5xx: the one answer, once.
            again = await who.say(ANSWER, client_message_id="first-answer")
            assert again.status_code == 202, again.text
            assert again.json()["duplicate"] is True
            events = sse_events(who.http, who.session["events_url"])
            _, welcome = await next_turn(events)
            seen, reply = await next_turn(events)
            await events.aclose()
        told = [e.data for e in seen if e.event == "respondent.message"]
        assert [m["client_message_id"] for m in told] == ["first-answer"]
        assert await _transcript(stage.client, who.id) == [
            ("interviewer", welcome),
            ("respondent", ANSWER),
            ("interviewer", reply),
        ]


async def test_with_redis_down_researchers_read_from_sql_and_respondents_get_503(
    settings: Settings, tmp_path: Path
) -> None:
    async with _stage(settings, tmp_path) as stage:
        client, who = stage.client, stage.who
        other = await start_session(client, stage.interview["share_token"])
        events = sse_events(client, other.session["events_url"])
        await next_turn(events)
        await events.aclose()
        await stage.redis.kill()
        async with asyncio.timeout(DEADLINE):
            listed = await client.get(f"/v1/interviews/{stage.interview['id']}/sessions")
            assert listed.status_code == 200
            assert {s["id"] for s in listed.json()["items"]} == {who.id, other.id}
            view = await client.get(f"/v1/sessions/{who.id}")
            assert view.status_code == 200, view.text
            assert view.json()["live"] == {
                "last_event_id": None,
                "last_event": None,
                "turn_in_progress": False,
                "log_available": False,
            }
            transcript = await client.get(f"/v1/sessions/{who.id}/transcript")
            assert transcript.status_code == 200
            assert [m["turn_id"] for m in transcript.json()["messages"]] == ["t1"]
            await _not_ready(client, "redis")
            # Streams opened now wait (heartbeats) for Redis, then deliver what follows.
            over_sse = asyncio.create_task(_to_the_end(who))
            over_ws = asyncio.create_task(_ws_to_the_end(who.session["ws_url"]))
            # Each is kept in SQL, though Redis could not be told: an answer (its turn is
            # owed), an end with nothing owed (503: Redis must be told), an end after the
            # answer (its turn will tell it).
            _unavailable(await who.say(ANSWER, client_message_id="first-answer"))
            _unavailable(await client.post(f"/v1/sessions/{other.id}/end", headers=other.auth))
            ended = await client.post(f"/v1/sessions/{who.id}/end", headers=who.auth)
            assert ended.json() == {"session_id": who.id, "status": "completed"}
        await stage.redis.start()  # empty
        async with asyncio.timeout(DEADLINE):
            await _until_ready(client)
            # The owed turn is written (after the answer, told again), then the end: to the
            # streams kept open through the outage and to one opened now alike.
            told = await _to_the_end(who)
            assert await over_sse == told
            assert await over_ws == told
            assert told[0] == (
                "respondent.message",
                {
                    "message_id": told[0][1]["message_id"],
                    "content": ANSWER,
                    "client_message_id": "first-answer",
                },
            )
            assert told[1][0] == "turn.started" and told[1][1]["restart"] is True
            assert [kind for kind, _ in told[-3:]] == [
                "turn.completed",
                "coverage.updated",
                "session.completed",
            ]
            # Ending again (what a client does after a 503) tells the end, once.
            again = await client.post(f"/v1/sessions/{other.id}/end", headers=other.auth)
            assert again.json() == {"session_id": other.id, "status": "completed"}
            assert await _to_the_end(other) == [
                ("session.completed", {"reason": "ended_by_respondent"})
            ]
        assert [role for role, _ in await _transcript(client, who.id)] == [
            "interviewer",
            "respondent",
            "interviewer",
        ]


@contextlib.asynccontextmanager
async def _locked(settings: Settings) -> AsyncIterator[None]:
    """The sessions table locked by another connection: PostgreSQL's ACCESS EXCLUSIVE (what
    a migration takes), SQLite's write lock (it locks the whole file)."""
    if settings.sqlite:
        path = settings.database_url.split("///", 1)[1]
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    conn = await asyncpg.connect("postgresql://" + settings.database_url.split("://", 1)[1])
    try:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            await transaction.rollback()
    finally:
        await conn.close()


async def test_a_locked_table_fails_requests_fast_and_the_node_unready(
    settings: Settings, tmp_path: Path
) -> None:
    async with _stage(settings, tmp_path) as stage:
        async with _locked(stage.settings), asyncio.timeout(DEADLINE):
            _unavailable(await stage.who.say(ANSWER))
            await _not_ready(stage.client, "sql")
            view = await stage.client.get(f"/v1/sessions/{stage.who.id}")
            if settings.sqlite:
                assert view.status_code == 200, "SQLite's readers (WAL) go on under a writer"
            else:
                _unavailable(view)
        async with asyncio.timeout(DEADLINE):
            await _until_ready(stage.client)
            said = await stage.who.say(ANSWER)
            assert said.status_code == 202, said.text
