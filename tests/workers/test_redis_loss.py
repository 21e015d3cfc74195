"""Redis lost, frozen or restarted under a live turn: every session still finishes its turn."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from runtime.platform.settings import Settings
from runtime.stores.database import Database
from tests.conftest import new_key
from tests.helpers import Event, Respondent, next_turn, published_interview, sse_events
from tests.helpers import start_session as begin
from tests.own_stores import RedisProcess, own_database
from tests.processes import ServeProcess, node_env

# Paced: the welcome streams for seconds, so Redis surely goes while it is half-written.
WELCOME = "Hello there. " * 30
ANSWER = "I use it to plan our sprints every Monday."
DEADLINE = 90  # seconds: a generous bound for a whole scenario, not a timing assertion


def _env(settings: Settings) -> dict[str, str]:
    return node_env(
        settings,
        RAPPORT_SCRIPTED_DELTA_DELAY_MS="60",
        RAPPORT_REDIS_TIMEOUT_SECONDS="0.5",
    )


@dataclass
class Scene:
    """A node on stores of its own, a respondent, and their stream half-way through turn 1."""

    settings: Settings  # the test's own database and Redis
    api_key: str
    redis: RedisProcess
    node: ServeProcess
    http: httpx.AsyncClient
    who: Respondent
    events: AsyncIterator[Event]
    seen: list[Event]


@contextlib.asynccontextmanager
async def _mid_turn(settings: Settings, tmp_path: Path) -> AsyncIterator[Scene]:
    redis = await RedisProcess(tmp_path / "redis").start()
    try:
        async with own_database(settings, tmp_path / "db") as database_url:
            own = dataclasses.replace(settings, database_url=database_url, redis_url=redis.url)
            db = Database.from_settings(own)
            try:
                api_key = await new_key(db)
            finally:
                await db.close()
            node = await ServeProcess(_env(own), tmp_path / "node").start()
            auth = {"authorization": f"Bearer {api_key}"}
            try:
                async with (
                    asyncio.timeout(DEADLINE),
                    httpx.AsyncClient(base_url=node.url, headers=auth, timeout=30) as http,
                ):
                    interview = await published_interview(http, welcome_message=WELCOME)
                    who = await begin(http, interview["share_token"])
                    events = sse_events(http, who.session["events_url"])
                    seen = await _until_delta(events)
                    yield Scene(own, api_key, redis, node, http, who, events, seen)
            except BaseException:
                # The node's side of a failure, in pytest's report (its end: CI shows a part).
                print("node output, last 60 lines:\n" + "".join(node.output[-60:]))
                raise
            finally:
                await node.stop()
    finally:
        await redis.stop()


async def _until_delta(events: AsyncIterator[Event]) -> list[Event]:
    seen: list[Event] = []
    async for event in events:
        seen.append(event)
        if event.event == "turn.delta":
            return seen
    raise AssertionError("the stream ended before the turn began")


def _said_from(seen: list[Event], started: Event) -> str:
    after = seen[seen.index(started) :]
    return "".join(e.data["text"] for e in after if e.event == "turn.delta")


async def _finish(who: Respondent, events: AsyncIterator[Event]) -> str:
    """The respondent answers (accepted: nothing is wedged) and hears the next turn."""
    said = await who.say(ANSWER)
    assert said.status_code == 202, said.text
    _, second = await next_turn(events)
    return second


def _whole(first: str, second: str) -> list[tuple[str, str]]:
    return [("interviewer", first), ("respondent", ANSWER), ("interviewer", second)]


async def _transcript(http: httpx.AsyncClient, session_id: str) -> list[tuple[str, str]]:
    body = (await http.get(f"/v1/sessions/{session_id}/transcript")).json()
    return [(m["role"], m["content"]) for m in body["messages"]]


async def test_a_redis_that_restarts_empty_mid_turn_does_not_wedge_the_session(
    settings: Settings, tmp_path: Path
) -> None:
    async with _mid_turn(settings, tmp_path) as scene:
        await scene.redis.kill()
        await scene.redis.start()  # empty: the log, the owed set, the lease are gone
        # The stream kept open delivers the rest: the turn is written again from its start,
        # flagged so that a client replaces what it had shown of it.
        seen, content = await next_turn(scene.events)
        restarted = [e for e in seen if e.event == "turn.started"]
        assert len(restarted) == 1, [e.event for e in seen]
        assert restarted[0].data["turn_id"] == "t1"
        assert restarted[0].data["restart"] is True
        assert _said_from(seen, restarted[0]) == content
        assert content.startswith(WELCOME.strip())
        second = await _finish(scene.who, scene.events)
        assert await _transcript(scene.http, scene.who.id) == _whole(content, second)


async def test_a_session_cut_by_redis_and_the_api_restarting_finishes_on_a_new_node(
    settings: Settings, tmp_path: Path
) -> None:
    async with _mid_turn(settings, tmp_path) as scene:
        last_seen = scene.seen[-1].id
        scene.node.kill()
        await scene.redis.kill()
        await scene.redis.start()
        session = scene.who.session
        second = await ServeProcess(_env(scene.settings), tmp_path / "second").start()
        auth = {"authorization": f"Bearer {scene.api_key}"}
        try:
            async with httpx.AsyncClient(base_url=second.url, headers=auth, timeout=30) as http:
                who = Respondent(http, session)
                # A stream opened after Redis came back, resuming after what the client saw.
                url = session["events_url"].replace(scene.node.url, second.url)
                events = sse_events(http, url, headers={"last-event-id": last_seen})
                seen, content = await next_turn(events)
                restarted = [e for e in seen if e.event == "turn.started"]
                assert [e.data["restart"] for e in restarted] == [True]
                assert _said_from(seen, restarted[0]) == content
                reply = await _finish(who, events)
                await events.aclose()
                assert await _transcript(http, who.id) == _whole(content, reply)
        finally:
            await second.stop()


async def _freeze(redis: RedisProcess) -> None:
    redis.freeze()
    # The outage itself: it must outlast the turn lease (1 s for these nodes).
    await asyncio.sleep(2.5)
    redis.thaw()


async def _restart_with_data(redis: RedisProcess) -> None:
    await redis.shutdown_saving()
    await redis.start(keep_data=True)


@pytest.mark.parametrize("outage", [_freeze, _restart_with_data], ids=["frozen", "restarted"])
async def test_a_turn_survives_redis_frozen_or_restarted_with_its_data(
    settings: Settings,
    tmp_path: Path,
    outage: Callable[[RedisProcess], Awaitable[None]],
) -> None:
    async with _mid_turn(settings, tmp_path) as scene:
        await outage(scene.redis)
        more, content = await next_turn(scene.events)
        seen = scene.seen + more
        started = [e for e in seen if e.event == "turn.started"]
        # The log survived: the turn is continued, not restarted.
        assert [e.data["restart"] for e in started] == [False]
        assert _said_from(seen, started[0]) == content, "no gap and no repeat"
        reply = await _finish(scene.who, scene.events)
        assert await _transcript(scene.http, scene.who.id) == _whole(content, reply)
